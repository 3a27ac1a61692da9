"""The user's paths to keep, and bucket key parts: validated before they reach a command line.

Every argument is shell-quoted anyway (``ssh.py``); validation is the second wall, and it keeps
paths comparable (one spelling per directory), so a manifest's roots match on both instances.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.migration.errors import InvalidSyncInput

MAX_PATH_LENGTH = 1024
MAX_PATHS = 16
_KEY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_FORBIDDEN_ROOTS = {"/", "/proc", "/sys", "/dev", "/run", "/boot", "/etc"}


def validate_path(raw: str) -> str:
    """An absolute, normalized POSIX path without ``..``, NUL, newlines or other control characters."""
    if not isinstance(raw, str) or not raw:
        raise InvalidSyncInput("a path to keep cannot be empty")
    if len(raw) > MAX_PATH_LENGTH:
        raise InvalidSyncInput(f"a path may have at most {MAX_PATH_LENGTH} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
        raise InvalidSyncInput("a path may not contain NUL, newlines or other control characters")
    if not raw.startswith("/"):
        raise InvalidSyncInput(f"{raw!r} is not an absolute path (it must start with /)")
    path = raw.rstrip("/") or "/"
    if ".." in path.split("/"):
        raise InvalidSyncInput(f"{raw!r} may not contain '..'")
    if posixpath.normpath(path) != path or path.startswith("//"):
        raise InvalidSyncInput(f"{raw!r} is not written in normal form (no '.', '//' or trailing parts)")
    if path in _FORBIDDEN_ROOTS:
        raise InvalidSyncInput(f"{path} cannot be copied as a whole; name the directories to keep")
    return path


def validate_paths(raw: Iterable[str]) -> tuple[str, ...]:
    """Each path valid, at most ``MAX_PATHS``, none inside another (it would be copied twice)."""
    paths = tuple(validate_path(p) for p in raw)
    if not paths:
        raise InvalidSyncInput("name at least one path to keep")
    if len(paths) > MAX_PATHS:
        raise InvalidSyncInput(f"at most {MAX_PATHS} paths can be kept")
    for a in paths:
        for b in paths:
            if a != b and b.startswith(a + "/"):
                raise InvalidSyncInput(f"{b} is inside {a}; name only {a}")
    if len(set(paths)) != len(paths):
        raise InvalidSyncInput("a path is named twice")
    return paths


def validate_key_part(raw: str, what: str) -> str:
    """One bucket key segment we build (a migration's prefix): letters, digits, '.', '_', '-'."""
    if not isinstance(raw, str) or not _KEY_PART.match(raw) or raw in (".", ".."):
        raise InvalidSyncInput(f"{what} must be 1-64 letters, digits, '.', '_' or '-'")
    return raw


@dataclass(frozen=True)
class SyncRoot:
    """One directory to keep: where it is on the source and where it goes on the target (the same
    by default; providers mount their volume in different places, e.g. /workspace vs /home/ubuntu)."""

    source: str
    target: str

    @classmethod
    def same(cls, path: str) -> SyncRoot:
        return cls(path, path)


def validate_roots(roots: Iterable[SyncRoot | str]) -> tuple[SyncRoot, ...]:
    items = tuple(SyncRoot.same(r) if isinstance(r, str) else r for r in roots)
    sources = validate_paths(r.source for r in items)
    targets = validate_paths(r.target for r in items)
    return tuple(SyncRoot(s, t) for s, t in zip(sources, targets, strict=True))
