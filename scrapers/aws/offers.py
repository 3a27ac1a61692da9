"""One region's EC2 price-list CSV -> GPU offers, fed line by line (the file never sits in memory).

``PricePerUnit`` is a decimal string, USD per instance-hour. The file opens with 5 metadata
lines ("FormatVersion", "Disclaimer", ...) before the header row.
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal

from providers.base import CpuArch, FetchResult, keep_cheapest, Offer
from providers.errors import BadResponse
from providers.money import BadPrice, to_decimal
from scrapers.aws.instances import GPU_INSTANCES

NAME = "aws"
PRICING_URL = "https://aws.amazon.com/ec2/pricing/on-demand/"
PREAMBLE_LINES = 5

# Rows that are a plain on-demand Linux price (gpuhunt's filter). MarketOption drops the
# Capacity Blocks for ML rows that share the OnDemand term type.
_KEEP: dict[str, frozenset[str]] = {
    "TermType": frozenset({"OnDemand"}),
    "MarketOption": frozenset({"OnDemand"}),
    "Tenancy": frozenset({"Shared"}),
    "Operating System": frozenset({"Linux"}),
    "CapacityStatus": frozenset({"Used"}),
    "Pre Installed S/W": frozenset({"", "NA"}),
    "Unit": frozenset({"Hrs"}),
    "Currency": frozenset({"USD"}),
}
_REQUIRED = frozenset({*_KEEP, "Instance Type", "PricePerUnit"})
# Cheap test on the raw line before CSV parsing: AWS quotes every non-empty field, so a GPU
# on-demand row contains '"OnDemand"' and one of our instance types in quotes.
_CANDIDATE = re.compile('"(?:' + "|".join(re.escape(t) for t in GPU_INSTANCES) + ')"')
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)")


class RegionPriceCsv:
    """Parser state for one region's CSV. Feed every line, then call ``finish``."""

    def __init__(self, region: str, result: FetchResult, offers: dict[str, Offer]) -> None:
        self.region = region
        self._result = result
        self._offers = offers  # shared across regions, keyed by offer_key
        self._line_no = 0
        self._header: list[str] | None = None

    def feed(self, line: str) -> None:
        self._line_no += 1
        if self._line_no <= PREAMBLE_LINES:
            return
        if self._header is None:
            self._header = _parse_header(line, self.region)
            return
        if '"OnDemand"' not in line or not _CANDIDATE.search(line):
            return
        item = f"{self.region} line {self._line_no}"
        fields = next(csv.reader([line]), [])
        if len(fields) != len(self._header):
            self._result.skip(NAME, item, f"row has {len(fields)} fields, header has {len(self._header)} "
                                          "(truncated line?)")
            return
        row = dict(zip(self._header, fields))
        try:
            offer = _offer_for(row, self.region)
        except (BadPrice, KeyError, ValueError) as exc:
            self._result.skip(NAME, f"{item} ({row.get('Instance Type')})", str(exc) or type(exc).__name__)
            return
        if offer is not None:
            keep_cheapest(self._offers, offer)

    def finish(self) -> None:
        if self._header is None:
            raise BadResponse(f"the {self.region} price CSV ended before its header row", provider=NAME)


def _parse_header(line: str, region: str) -> list[str]:
    header = next(csv.reader([line]), [])
    missing = _REQUIRED - set(header)
    if missing:
        raise BadResponse(f"the {region} price CSV header lacks {', '.join(sorted(missing))}", provider=NAME)
    return header


def _offer_for(row: dict[str, str], region: str) -> Offer | None:
    if any(row[column] not in allowed for column, allowed in _KEEP.items()):
        return None
    itype = row["Instance Type"]
    gpu = GPU_INSTANCES.get(itype)
    if gpu is None:
        return None
    listed = row.get("GPU", "").strip()
    if listed.isdigit() and Decimal(listed) != gpu.count:
        raise ValueError(f"price list says {listed} GPUs, our table says {gpu.count}")
    return Offer(
        source=NAME,
        instance_type=itype,
        gpu_raw_name=gpu.raw_name,
        gpu_count=gpu.count,
        price_per_hour=to_decimal(row["PricePerUnit"]),
        region=row.get("Region Code") or region,
        spot=False,
        gpu_memory_gb=gpu.memory_gb,
        vcpus=_whole_number(row.get("vCPU", "")),
        ram_gb=_whole_number(row.get("Memory", "")),  # "1152 GiB"
        buy_url=PRICING_URL,
        gpu_hint=gpu.hint,
        cpu_arch=cpu_arch(row.get("Physical Processor", "")),
    )


def cpu_arch(physical_processor: str) -> CpuArch | None:
    """The price list names the host CPU ("AWS Graviton2 Processor", "Intel Xeon Family", "AMD EPYC
    7R32"): Graviton is arm64, Intel and AMD x86_64; anything else stays unknown."""
    name = physical_processor.lower()
    if "graviton" in name:
        return CpuArch.ARM64
    if "intel" in name or "amd" in name:
        return CpuArch.X86_64
    return None


def _whole_number(text: str) -> int | None:
    found = _NUMBER.match(text)
    return int(Decimal(found.group(1))) if found else None
