"""The checksum manifest: what the source held when it was pushed (sha256 and size per file).

Small by design (one line per file, at most ``MAX_FILES``): it is the only part of a migration's
data that passes through ComputeHub, which stores it with the migration and compares the
target against it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.migration.errors import InvalidSyncInput
from app.migration.paths import SyncRoot, validate_roots

VERSION = 1
MAX_FILES = 200_000


@dataclass(frozen=True)
class ManifestFile:
    root: str
    """The source directory this file is under (a ``SyncRoot.source``)."""
    path: str
    """Relative to ``root``, '/'-separated, as rclone lists it."""
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    roots: tuple[SyncRoot, ...]
    files: tuple[ManifestFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_json(self) -> str:
        return json.dumps({
            "version": VERSION,
            "roots": [{"source": r.source, "target": r.target} for r in self.roots],
            "files": [{"root": f.root, "path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
        }, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise InvalidSyncInput("not a ComputeHub sync manifest")
        roots = validate_roots(SyncRoot(r["source"], r["target"]) for r in data["roots"])
        files = tuple(ManifestFile(f["root"], f["path"], int(f["size"]), f["sha256"]) for f in data["files"])
        return cls(roots, files)


def listing_to_files(root: str, lsjson_stdout: str) -> list[ManifestFile]:
    """``rclone lsjson -R --files-only --hash --hash-type sha256`` output → manifest entries."""
    items = json.loads(lsjson_stdout or "[]")
    if len(items) > MAX_FILES:
        raise InvalidSyncInput(f"{root} holds more than {MAX_FILES} files; archive them first")
    files = []
    for item in items:
        digest = (item.get("Hashes") or {}).get("sha256")
        if not digest:
            raise InvalidSyncInput(f"rclone gave no sha256 for {root}/{item.get('Path')}")
        files.append(ManifestFile(root, item["Path"], int(item["Size"]), digest))
    return sorted(files, key=lambda f: f.path)
