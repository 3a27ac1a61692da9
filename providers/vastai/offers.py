"""Vast.ai `POST /bundles/` -> offers. Every offer is one host machine, priced per machine-hour.

On-demand price: `dph_total`, USD per hour for the whole offer (all its GPUs): the machine
rental (`dph_base`) plus disk at the search's `allocated_storage` (we send none: Vast's default,
8 GB per the spec, a fraction of a cent an hour). Bandwidth (`inet_up_cost`/`inet_down_cost`, $/GB)
is billed apart and is not in it.
Spot price: `min_bid`, the lowest interruptible bid for the same machine, USD per hour for the
whole machine. Both come from the same search, so each machine yields up to two offers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer
from providers.money import BadPrice, to_decimal

NAME = "vastai"
PRICING_URL = "https://vast.ai/pricing"
# gpu_ram and cpu_ram are MiB as the host reports them (an RTX 4090 shows 24564): /1024 gives
# the marketed GB, within resolve_gpu's memory tolerance.
MIB_PER_GB = 1024
UNKNOWN_REGION = "unknown"


def parse_offers(raw_offers: list[Any]) -> FetchResult:
    result = FetchResult()
    seen_ids: set[object] = set()
    for raw in raw_offers:
        offer_id = raw.get("id") if isinstance(raw, dict) else None
        label = f"offer {offer_id}"
        if offer_id is not None:
            if offer_id in seen_ids:
                result.skip(NAME, label, "listed twice in one search")
                continue
            seen_ids.add(offer_id)
        try:
            result.offers.extend(_offers_for(raw, result))
        except KeyError as exc:
            result.skip(NAME, label, f"missing field {exc}")
        except (BadPrice, TypeError, ValueError) as exc:
            result.skip(NAME, label, str(exc) or type(exc).__name__)
    return result


def _offers_for(raw: dict, result: FetchResult) -> list[Offer]:
    offer_id = raw["id"]
    if not isinstance(offer_id, int) or isinstance(offer_id, bool):
        raise ValueError(f"bad offer id {offer_id!r}")
    gpu_name = raw["gpu_name"]
    if not isinstance(gpu_name, str) or not gpu_name.strip():
        raise ValueError(f"bad gpu_name {gpu_name!r}")
    num_gpus = raw["num_gpus"]
    if not isinstance(num_gpus, int) or isinstance(num_gpus, bool) or num_gpus < 0:
        raise ValueError(f"bad GPU count {num_gpus!r}")
    if num_gpus == 0:
        return []  # a CPU-only machine: not a GPU offer
    on_demand = to_decimal(raw["dph_total"])
    if on_demand <= 0:
        raise ValueError(f"no on-demand price (dph_total {raw['dph_total']!r})")

    common = dict(
        source=NAME,
        # One machine per offer: the id keeps offers apart, the rest makes it readable.
        instance_type=f"{gpu_name} x{num_gpus} #{offer_id}",
        gpu_raw_name=gpu_name,
        gpu_count=Decimal(num_gpus),
        region=readable_region(raw.get("geolocation")),
        # Listed means rentable. The spec says the server drops our `rented` filter (the CLI
        # filters on the client), so a machine that is rented right now shows as unavailable.
        available=raw.get("rentable") is not False and raw.get("rented") is not True,
        gpu_memory_gb=_mib_to_gb(raw.get("gpu_ram")),
        vcpus=_whole(raw.get("cpu_cores_effective")),
        ram_gb=_ram_share_gb(raw),
        disk_gb=_whole(raw.get("disk_space")),
        buy_url=PRICING_URL,
    )
    offers = [Offer(price_per_hour=on_demand, spot=False, **common)]
    try:
        spot = _min_bid(raw.get("min_bid"))
    except BadPrice as exc:
        # A bad bid loses only the spot offer; the on-demand price is still good.
        result.skip(NAME, f"offer {offer_id} (min_bid)", str(exc))
        spot = None
    if spot is not None:
        offers.append(Offer(price_per_hour=spot, spot=True, **common))
    return offers


def _min_bid(raw: object) -> Decimal | None:
    """Spot price per machine-hour, or None where the machine takes no bids (absent or 0)."""
    if raw is None:
        return None
    price = to_decimal(raw)
    return price if price > 0 else None


def readable_region(geolocation: object) -> str:
    """The host's location as Vast shows it: "Oslo, NO" (or just "NO"). Kept whole because a
    visitor recognises it and it still ends in the country code; uniqueness needs nothing
    from it, since instance_type already carries the machine's offer id."""
    if not isinstance(geolocation, str):
        return UNKNOWN_REGION
    return " ".join(geolocation.split()) or UNKNOWN_REGION


def _whole(value: object) -> int | None:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    return None


def _mib_to_gb(value: object) -> int | None:
    mib = _whole(value)
    return round(mib / MIB_PER_GB) if mib else None


def _ram_share_gb(raw: dict) -> int | None:
    """`cpu_ram` is the whole host's; an offer gets the share of its effective cores."""
    host_mib, cores, share = (raw.get(k) for k in ("cpu_ram", "cpu_cores", "cpu_cores_effective"))
    if _whole(host_mib) is None or not _whole(cores) or _whole(share) is None:
        return None
    return round(Decimal(host_mib) * Decimal(share) / Decimal(cores) / MIB_PER_GB)
