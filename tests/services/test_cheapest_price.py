"""The cheapest $/GPU-hour per GPU by walking the price index agrees with a plain scan, per market."""

from __future__ import annotations

from decimal import Decimal

from app.services.prices import cheapest_per_gpu, cheapest_price_per_gpu
from providers.gpus import resolve_gpu
from tests.benchmarks import dataset
from tests.support.factories import seed


def by_hand(offers, spot: bool) -> dict[str, Decimal]:
    best: dict[str, Decimal] = {}
    for o in offers:
        gpu = resolve_gpu(o.gpu_raw_name, o.gpu_memory_gb, o.gpu_hint)
        if gpu is None or o.spot != spot:
            continue
        if gpu.slug not in best or o.price_per_gpu_hour < best[gpu.slug]:
            best[gpu.slug] = o.price_per_gpu_hour
    return best


async def test_index_walk_matches_a_full_scan_in_both_markets(sessions):
    offers = dataset.generate(3000, seed=5, weights={"runpod": 3, "vastai": 5, "seeweb": 1, "cloudrift": 1})
    await seed(sessions, offers)
    async with sessions() as session:
        for spot in (False, True):
            walked = await cheapest_price_per_gpu(session, spot)
            assert walked == by_hand(offers, spot)
            assert walked == {slug: price for slug, (price, _n) in (await cheapest_per_gpu(session, spot)).items()}
            assert all(isinstance(p, Decimal) for p in walked.values())


async def test_no_offers_no_prices(sessions):
    async with sessions() as session:
        assert await cheapest_price_per_gpu(session) == {}
