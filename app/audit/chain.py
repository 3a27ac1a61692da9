"""The hash chain: each event's hash covers its fields and the previous event's hash.

Pure functions over plain values, so ``computehub audit verify`` recomputes exactly what
``log.record`` stored. Values are canonical JSON (sorted keys, no spaces); times are ISO 8601 UTC
with microseconds, the precision both databases keep.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping

GENESIS = "0" * 64
"""The previous hash of a workspace's first event."""
HASHED_FIELDS = ("workspace", "seq", "at", "action", "actor_user_id", "actor", "target_type", "target_id",
                 "project", "address", "user_agent", "request_id", "via", "before", "after", "prev_hash")


def jsonable(value: Any) -> Any:
    """A before/after value as it is stored: money and times as strings, never floats."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, float):
        return repr(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit times are timezone-aware UTC")
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(fields: Mapping[str, Any]) -> str:
    body = {name: fields[name] for name in HASHED_FIELDS}
    body["at"] = timestamp(body["at"]) if isinstance(body["at"], datetime) else body["at"]
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    workspace: str
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"{self.workspace} event {self.seq}: {self.reason}"


def verify_chain(workspace: str, events: Iterable[Mapping[str, Any]], head_seq: int | None,
                 head_hash: str | None) -> Break | None:
    """The first break in one workspace's events (in ``seq`` order), or None when the chain holds.

    ``head_seq``/``head_hash``: what the chain head says is the last event (None when there is no head)."""
    expected_seq, previous = 1, GENESIS
    for event in events:
        seq = event["seq"]
        if seq != expected_seq:
            return Break(workspace, expected_seq, f"missing (the next stored event is {seq})")
        if event["prev_hash"] != previous:
            return Break(workspace, seq, "does not follow the event before it")
        if event_hash(event) != event["hash"]:
            return Break(workspace, seq, "was changed after it was written")
        previous, expected_seq = event["hash"], seq + 1
    last_seq = expected_seq - 1
    if (head_seq or 0) != last_seq or (head_hash or GENESIS) != previous:
        return Break(workspace, last_seq + 1, f"missing: the chain head names event {head_seq or 0} as the last one")
    return None
