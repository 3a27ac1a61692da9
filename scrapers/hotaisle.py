"""Hot Aisle (AMD Instinct cloud): virtual machines available to rent now, with prices (key).

``GET https://admin.hotaisle.app/api/teams/{team}/virtual_machines/available/`` with
``Authorization: Token <key>`` (documented at https://admin.hotaisle.app/api/docs). Each item
is one VM shape: ``OnDemandPrice`` is integer US cents per hour for the whole VM; ``Specs``
lists its CPUs, RAM and disk in bytes, and its GPUs. The list is what can be rented now, so a
listed shape is available. Hot Aisle runs one site; the API does not name it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from providers.base import FetchResult, keep_cheapest, Offer, PriceBasis, PriceSource
from providers.errors import BadResponse
from providers.http import request_json
from providers.money import BadPrice, to_decimal

NAME = "hotaisle"
BASE_URL = "https://admin.hotaisle.app/api"
PRICING_URL = "https://hotaisle.xyz/pricing/"
REGION = "us-michigan-1"  # Hot Aisle's one data centre (Grand Rapids, MI)
_GIB = Decimal(1024**3)
# Hot Aisle names AMD models without their memory: GB per card from AMD's specs.
_CARD_MEMORY_GB = {"MI300X": 192, "MI325X": 256, "MI355X": 288}


class HotAisleSource(PriceSource):
    NAME = NAME
    DISPLAY_NAME = "Hot Aisle"
    HOMEPAGE = "https://hotaisle.xyz"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The whole VM per hour: its GPUs, CPUs, RAM and disk.')
    CREDENTIAL_FIELDS = ("api_key", "team_handle")  # the list is per team
    POLL_INTERVAL_SECONDS = 900  # what is rentable now changes as VMs are taken

    @classmethod
    def credentials_from_settings(cls, settings):
        keys = settings.provider_keys
        return {"api_key": keys.get("hotaisle"), "team_handle": keys.get("hotaisle_team")}

    @classmethod
    def test_credentials(cls) -> dict[str, str]:
        return {"api_key": "test-key-not-real", "team_handle": "test-team"}

    async def fetch_offers(self) -> FetchResult:
        team = quote(self.credentials["team_handle"], safe="")
        body = await request_json(
            self.http, "GET", f"{BASE_URL}/teams/{team}/virtual_machines/available/", provider=NAME,
            headers={"Authorization": f"Token {self.credentials['api_key']}", "Accept": "application/json"},
        )
        if not isinstance(body, list):
            detail = body.get("detail") if isinstance(body, dict) else None
            raise BadResponse("expected a list of virtual machines" + (f": {detail}" if detail else ""),
                              provider=NAME)
        return parse_available(body)


def parse_available(items: list[Any]) -> FetchResult:
    result = FetchResult()
    seen: dict[str, Offer] = {}
    for item in items:
        try:
            offer = _offer_for(item)
        except (BadPrice, KeyError, TypeError, ValueError, IndexError) as exc:
            result.skip(NAME, _label(item), str(exc) or type(exc).__name__)
            continue
        if offer is None:
            continue
        # Several identical VMs free at once are one offer, at the lowest price listed.
        keep_cheapest(seen, offer)
    result.offers = list(seen.values())
    return result


def _offer_for(item: dict[str, Any]) -> Offer | None:
    specs = item["Specs"]
    gpus = specs["gpus"]
    if not gpus:
        return None
    if len(gpus) != 1:
        raise ValueError("more than one GPU model in one VM")
    count, model = gpus[0]["count"], gpus[0]["model"]
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise ValueError(f"bad GPU count {count!r}")
    if not isinstance(model, str) or not model:
        raise ValueError("GPU model is empty")
    price = to_decimal(item["OnDemandPrice"]) / 100
    if price == 0:
        return None
    cores = specs["cpu_cores"]
    ram = int(to_decimal(specs["ram_capacity"]) / _GIB)
    disk = int(to_decimal(specs["disk_capacity"]) / _GIB)
    manufacturer = str(gpus[0].get("manufacturer") or "AMD")
    return Offer(
        source=NAME,
        instance_type=f"{count}x-{model.lower()}-{cores}c-{ram}g",
        gpu_raw_name=f"{manufacturer} {model}",
        gpu_count=Decimal(count),
        price_per_hour=price,
        region=REGION,
        spot=False,
        available=True,
        gpu_memory_gb=_CARD_MEMORY_GB.get(model.upper()),
        vcpus=cores if isinstance(cores, int) else None,
        ram_gb=ram,
        disk_gb=disk,
        buy_url=PRICING_URL,
    )


def _label(item: Any) -> str:
    if isinstance(item, dict):
        gpus = (item.get("Specs") or {}).get("gpus") if isinstance(item.get("Specs"), dict) else None
        return f"VM {gpus!r}"[:80]
    return repr(item)[:80]
