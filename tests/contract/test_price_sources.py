"""One contract, every registered price source, each with its recorded responses.

Adding a source means adding its package, its registry entry and ``tests/fixtures/<name>/``;
this file then tests it like every other one.
"""

from __future__ import annotations

import pkgutil
from decimal import Decimal

import httpx
import pytest
import respx

import providers
import scrapers
from providers import errors
from providers.base import FetchResult, Offer, PriceSource
from providers.gpus import resolve_gpu
from providers.registry import SOURCES, get_source_class
from tests.support.recorded import FIXTURES, load_scenarios, mount, mount_failure

SOURCE_NAMES = sorted(SOURCES)
REQUIRED_SCENARIOS = {"normal", "pagination", "empty", "bad_field"}


def make_source(name: str, http: httpx.AsyncClient) -> PriceSource:
    cls = get_source_class(name)
    return cls(http, cls.test_credentials())


async def fetch(name: str) -> FetchResult:
    async with httpx.AsyncClient(timeout=5) as http:
        return await make_source(name, http).fetch_offers()


def assert_well_formed(name: str, offers: list[Offer], unknown_ok: set[str]) -> None:
    keys = set()
    for offer in offers:
        assert isinstance(offer, Offer)
        assert offer.source == name
        assert isinstance(offer.price_per_hour, Decimal) and offer.price_per_hour > 0
        assert isinstance(offer.gpu_count, Decimal) and offer.gpu_count > 0
        assert offer.price_per_gpu_hour == (offer.price_per_hour / offer.gpu_count).quantize(Decimal("0.000001"))
        assert offer.region
        assert offer.buy_url.startswith("https://"), offer.buy_url
        assert offer.offer_key not in keys, f"duplicate offer {offer.offer_key}"
        keys.add(offer.offer_key)
        if offer.gpu_raw_name not in unknown_ok:
            gpu = resolve_gpu(offer.gpu_raw_name, offer.gpu_memory_gb, offer.gpu_hint)
            assert gpu is not None, f"{name}: {offer.gpu_raw_name!r} is not in the GPU catalog"


def _matches(offer: Offer, wanted: dict) -> bool:
    for key, value in wanted.items():
        if key == "gpu":
            gpu = resolve_gpu(offer.gpu_raw_name, offer.gpu_memory_gb, offer.gpu_hint)
            if (gpu.slug if gpu else None) != value:
                return False
        elif key in ("price_per_hour", "price_per_gpu_hour", "gpu_count"):
            if getattr(offer, key) != Decimal(value):
                return False
        elif getattr(offer, key) != value:
            return False
    return True


def check_expectations(name: str, scenario, result: FetchResult) -> None:
    expect = scenario.expect
    if "offers" in expect:
        assert len(result.offers) == expect["offers"], [o.offer_key for o in result.offers]
    if "skipped" in expect:
        assert len(result.skipped) == expect["skipped"], result.skipped
    for wanted in expect.get("contains", []):
        assert any(_matches(o, wanted) for o in result.offers), f"no offer matches {wanted}"
    assert_well_formed(name, result.offers, set(expect.get("unknown_gpus", [])))


def test_every_source_module_is_registered():
    registered = {target.split(":")[0] for target in SOURCES.values()}
    found = set()
    for package in (providers, scrapers):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = info.name
            if module.rsplit(".", 1)[1] in {"base", "errors", "http", "registry", "gpus", "money", "sandbox",
                                            "resold",  # providers/resold.py: the aggregators' shared rule
                                            "adapter",  # providers/adapter.py: the REST adapters' shared shape
                                            "name_token",  # providers/name_token.py: names carrying our token
                                            "fx"}:  # providers/fx.py: ECB rates for non-USD sources
                continue
            found.add(module)
    assert found - registered == set(), "source modules missing from providers/registry.py"
    assert registered - found == set(), "registry names modules that do not exist"


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_registry_entry_is_consistent(name):
    cls = get_source_class(name)
    assert cls.NAME == name
    assert cls.DISPLAY_NAME and cls.HOMEPAGE.startswith("https://") and cls.PRICING_URL.startswith("https://")
    assert (FIXTURES / name / "scenarios.json").exists(), f"tests/fixtures/{name}/scenarios.json is missing"
    assert REQUIRED_SCENARIOS <= set(load_scenarios(name)), "every source records these scenarios"


@pytest.mark.parametrize("name", SOURCE_NAMES)
async def test_normal_response(name):
    scenario = load_scenarios(name)["normal"]
    with respx.mock(assert_all_called=True) as router:
        mount(router, scenario)
        result = await fetch(name)
    assert result.offers, "the normal recording yields offers"
    check_expectations(name, scenario, result)


@pytest.mark.parametrize("name", SOURCE_NAMES)
async def test_pagination(name):
    scenario = load_scenarios(name)["pagination"]
    if "not_paged" in scenario.spec:
        assert len(scenario.spec["not_paged"]) > 20, "say why this API does not page"
        return
    assert len(scenario.routes) >= 2, "a paging recording has at least two pages"
    with respx.mock(assert_all_called=True) as router:
        mount(router, scenario)
        result = await fetch(name)
    check_expectations(name, scenario, result)


@pytest.mark.parametrize("name", SOURCE_NAMES)
async def test_empty_response(name):
    scenario = load_scenarios(name)["empty"]
    with respx.mock() as router:
        mount(router, scenario)
        if "raises" in scenario.expect:
            with pytest.raises(getattr(errors, scenario.expect["raises"])):
                await fetch(name)
            return
        result = await fetch(name)
    assert result.offers == []


@pytest.mark.parametrize("name", SOURCE_NAMES)
async def test_offer_with_bad_field_is_skipped_rest_kept(name):
    scenario = load_scenarios(name)["bad_field"]
    with respx.mock() as router:
        mount(router, scenario)
        result = await fetch(name)
    assert result.skipped, "the bad item is reported as skipped"
    assert result.offers, "the other offers are kept"
    check_expectations(name, scenario, result)


@pytest.mark.parametrize("name", SOURCE_NAMES)
async def test_rate_limit_is_typed_with_retry_after(name):
    normal = load_scenarios(name)["normal"]
    with respx.mock(assert_all_called=False) as router:  # a fetch stops at its first failed call
        mount_failure(router, normal, response=httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"))
        with pytest.raises(errors.RateLimited) as caught:
            await fetch(name)
    assert caught.value.retryable and caught.value.retry_after == 7


@pytest.mark.parametrize("name", SOURCE_NAMES)
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_is_retryable(name, status):
    normal = load_scenarios(name)["normal"]
    with respx.mock(assert_all_called=False) as router:  # a fetch stops at its first failed call
        mount_failure(router, normal, response=httpx.Response(status, text="<html>Bad gateway</html>"))
        with pytest.raises(errors.ProviderUnavailable) as caught:
            await fetch(name)
    assert caught.value.retryable


@pytest.mark.parametrize("name", SOURCE_NAMES)
async def test_timeout_is_typed(name):
    normal = load_scenarios(name)["normal"]
    with respx.mock(assert_all_called=False) as router:  # a fetch stops at its first failed call
        mount_failure(router, normal, side_effect=httpx.ReadTimeout("timed out"))
        with pytest.raises(errors.ProviderTimeout):
            await fetch(name)


@pytest.mark.parametrize("name", SOURCE_NAMES)
async def test_malformed_body_is_a_failed_fetch(name):
    normal = load_scenarios(name)["normal"]
    truncated = httpx.Response(200, content=b'{"data": {"x": [1, 2', headers={"content-type": "application/json"})
    with respx.mock(assert_all_called=False) as router:  # a fetch stops at its first failed call
        mount_failure(router, normal, response=truncated)
        with pytest.raises(errors.BadResponse):
            await fetch(name)


@pytest.mark.parametrize(
    "name,scenario_name",
    [
        (n, s)
        for n in SOURCE_NAMES
        if (FIXTURES / n / "scenarios.json").exists()
        for s in sorted(set(load_scenarios(n)) - REQUIRED_SCENARIOS)
    ],
)
async def test_extra_recorded_scenarios(name, scenario_name):
    scenario = load_scenarios(name)[scenario_name]
    with respx.mock() as router:
        mount(router, scenario)
        if "raises" in scenario.expect:
            with pytest.raises(getattr(errors, scenario.expect["raises"])):
                await fetch(name)
            return
        result = await fetch(name)
    check_expectations(name, scenario, result)
