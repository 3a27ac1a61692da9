"""A launch's client token as a suffix of the instance name, for providers whose API has no tags,
labels or metadata to carry it (TensorDock, FluidStack, Prime Intellect): a retried launch after a
crash is then adopted from the provider's list instead of launched twice."""

from __future__ import annotations

import re

_TOKEN_SUFFIX = re.compile(r"-computehub-([0-9a-f]{32})$")


def name_with_token(name: str, client_token: str) -> str:
    return f"{name}-computehub-{client_token}" if client_token else name


def split_name(raw: str) -> tuple[str, str]:
    """(name, client token) from an instance name; no token: ``""``."""
    found = _TOKEN_SUFFIX.search(raw)
    return (raw[: found.start()], found.group(1)) if found else (raw, "")
