"""What a price pays for, the host CPU architecture and the boot time, as each source documents them.

Every source declares its ``PRICE_BASIS`` (no default: a new source cannot forget), and every offer
polled from its recorded "normal" responses is stored with it. The sources whose docs say they price
the smallest deployable VM (CUDO, TensorDock) or a GPU rate (RunPod, GCP) are pinned here.
"""

from __future__ import annotations

import httpx
import pytest
import respx
from sqlalchemy import select

from app.db.models import Offer as OfferRow
from app.services.ingest import ingest_offers
from providers.base import CpuArch, PriceBasis
from providers.registry import SIMULATED, SOURCES, get_source_class
from tests.support.factories import NOW
from tests.support.recorded import load_scenarios, mount

DOCUMENTED = {
    # per-component billing: the figure is the smallest VM they can deploy
    "cudo": PriceBasis.SMALLEST_VM,
    "tensordock": PriceBasis.SMALLEST_VM,
    # a rate for the GPU, no machine shape stated with it
    "runpod": PriceBasis.GPU_ONLY,
    "gcp": PriceBasis.GPU_ONLY,
    # instance-type price lists
    "aws": PriceBasis.INSTANCE,
    "azure": PriceBasis.INSTANCE,
    "oci": PriceBasis.INSTANCE,
    "lambdalabs": PriceBasis.INSTANCE,
    "verda": PriceBasis.INSTANCE,
    "digitalocean": PriceBasis.INSTANCE,
    "vastai": PriceBasis.INSTANCE,
}


@pytest.mark.parametrize("name", sorted(SOURCES) + sorted(SIMULATED))
def test_every_source_says_what_its_price_pays_for(name):
    cls = get_source_class(name)
    assert isinstance(cls.PRICE_BASIS, PriceBasis)
    assert isinstance(cls.PRICE_INCLUDES, str) and len(cls.PRICE_INCLUDES) > 20


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_documented_bases(name):
    assert get_source_class(name).PRICE_BASIS is DOCUMENTED[name]


async def recorded_offers(name: str):
    cls = get_source_class(name)
    with respx.mock(assert_all_called=False) as router:
        mount(router, load_scenarios(name)["normal"])
        async with httpx.AsyncClient(timeout=5) as http:
            return (await cls(http, cls.test_credentials()).fetch_offers()).offers


async def stored_rows(sessions) -> list[OfferRow]:
    async with sessions() as session:
        return list((await session.execute(select(OfferRow))).scalars())


async def test_every_polled_offer_is_stored_with_its_sources_basis(sessions):
    for name in sorted(SOURCES):
        offers = await recorded_offers(name)
        async with sessions() as session, session.begin():
            await ingest_offers(session, name, offers, NOW)
    rows = await stored_rows(sessions)
    assert {row.source for row in rows} == set(SOURCES)
    wrong = [(r.source, r.offer_key, r.price_basis) for r in rows
             if r.price_basis != get_source_class(r.source).PRICE_BASIS.value]
    assert not wrong
    assert {r.price_basis for r in rows if r.source in ("cudo", "tensordock")} == {"smallest_vm"}


async def test_cpu_architecture_only_where_stated(sessions):
    for name in ("aws", "lambdalabs"):
        async with sessions() as session, session.begin():
            await ingest_offers(session, name, await recorded_offers(name), NOW)
    rows = {(r.source, r.instance_type): r for r in await stored_rows(sessions)}
    # AWS names the host CPU in its price list: Graviton2 is arm64, Intel/AMD x86_64.
    assert rows[("aws", "g5g.xlarge")].cpu_arch == CpuArch.ARM64
    assert rows[("aws", "p5.48xlarge")].cpu_arch == CpuArch.X86_64
    # Lambda says nothing of its CPUs, but a GH200 is a Grace (arm64) superchip by construction.
    gh200 = [r for (source, _), r in rows.items() if source == "lambdalabs" and r.gpu_slug and "gh200" in r.gpu_slug]
    assert gh200 and all(r.cpu_arch == CpuArch.ARM64 for r in gh200)
    # Anything else at Lambda stays unknown, never guessed.
    others = [r for (source, _), r in rows.items() if source == "lambdalabs" and r not in gh200]
    assert others and all(r.cpu_arch is None for r in others)


async def test_boot_time_only_where_published(sessions):
    for name in ("shadeform", "lambdalabs"):
        async with sessions() as session, session.begin():
            await ingest_offers(session, name, await recorded_offers(name), NOW)
    rows = await stored_rows(sessions)
    shade = {r.instance_type: r for r in rows if r.source == "shadeform"}
    a6000 = shade["massedcompute/gpu_1x_a6000"]
    assert (a6000.boot_seconds_min, a6000.boot_seconds_max) == (180, 300)
    assert all(r.boot_seconds_min is None and r.boot_seconds_max is None for r in rows if r.source == "lambdalabs")


def test_a_malformed_boot_time_loses_the_boot_time_not_the_offer():
    from providers.shadeform.offers import parse_instance_types

    item = {
        "cloud": "massedcompute", "shade_instance_type": "A6000", "cloud_instance_type": "gpu_1x_a6000",
        "configuration": {"memory_in_gb": 48, "storage_in_gb": 256, "vcpus": 6, "num_gpus": 1, "gpu_type": "A6000",
                          "interconnect": "pcie", "vram_per_gpu_in_gb": 48},
        "hourly_price": 62, "deployment_type": "vm",
        "availability": [{"region": "us-central-1", "available": True, "display_name": "US, Wichita, KS"}],
        "boot_time": {"min_boot_in_sec": 600, "max_boot_in_sec": 300},  # min after max: not a range
    }
    result = parse_instance_types([item])
    assert not result.skipped
    [offer] = result.offers
    assert (offer.boot_seconds_min, offer.boot_seconds_max) == (None, None)
