"""What `PUT /api/v0/asks/{offer_id}/` needs: the offer id, the account's SSH key, and a body.

- Offer: our Vast offers' instance_type ends with ``#<offer id>`` (see ``offers.py``).
- SSH: Vast puts the account's SSH keys on new instances, so a pasted public key is added to
  the account unless it is already there (matched on the key material, not the comment). Vast
  also adds an account key to the account's running instances; that is Vast's behaviour.
- Spot: an interruptible instance is a bid (`price`, USD per machine-hour). We bid the offer's
  current `min_bid`, the spot price our offers show, read just before the launch.
- ``cancel_unavail``: refuse rather than create an instance that cannot start now (it would
  otherwise sit stopped, paying for its disk).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from providers.base import LaunchRequest
from providers.errors import BadResponse, InvalidRequest, NoCapacity
from providers.money import BadPrice, to_decimal
from providers.vastai.client import NAME, VastClient
from providers.vastai.instances import label_with_token

DEFAULT_IMAGE = "vastai/base-image:@vastai-automatic-tag"
"""The API's own default image, used when the launch names none."""
DEFAULT_DISK_GB = 32
"""Room for a CUDA image; Vast's minimum (8 GB) is too small for most. Billed per GB-month."""
_OFFER_ID = re.compile(r"#(\d+)$")


def offer_id(instance_type: str) -> int:
    match = _OFFER_ID.search(instance_type.strip())
    if match is None:
        raise InvalidRequest(f"not a Vast offer: {instance_type!r}", provider=NAME)
    return int(match.group(1))


async def ensure_ssh_key(client: VastClient, public_key: str) -> None:
    if not public_key:
        return  # the account's own keys are put on the instance
    wanted = _key_material(public_key)
    for key in await client.ssh_keys():
        if isinstance(key, dict) and _key_material(str(key.get("key") or "")) == wanted:
            return
    await client.add_ssh_key(public_key)


async def spot_bid(client: VastClient, offer: int) -> Decimal:
    listed = await client.offer(offer)
    if listed is None:
        raise NoCapacity(f"Vast offer {offer} is no longer available", provider=NAME)
    try:
        bid = to_decimal(listed.get("min_bid"))
    except BadPrice as exc:
        raise BadResponse(f"offer {offer} has no usable min_bid: {exc}", provider=NAME) from exc
    if bid <= 0:
        raise InvalidRequest(f"Vast offer {offer} takes no interruptible bids", provider=NAME)
    return bid


def ask_body(request: LaunchRequest, bid: Decimal | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "image": request.image or DEFAULT_IMAGE,
        "disk": request.disk_gb or DEFAULT_DISK_GB,
        "label": label_with_token(request.name, request.client_token),
        "cancel_unavail": True,
    }
    if bid is not None:
        body["price"] = float(bid)  # a JSON number; the exact decimal Vast listed, e.g. 0.18
    return body


def _key_material(public_key: str) -> tuple[str, ...]:
    return tuple(public_key.split()[:2])  # "<type> <base64>"; the comment may differ
