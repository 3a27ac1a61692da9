"""A sandbox instance's simulated file system: one directory per instance under the sandbox's
data dir, with every instance path mapped into it and nothing outside it reachable.

A path is refused (``PathEscapes``) if it is not absolute and normal, or if it resolves, through
a symlink, to anywhere outside the instance's root.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
from pathlib import Path

_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{16}$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class PathEscapes(ValueError):
    """An instance path that would leave the instance's directory."""


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def jailed(root: Path, path: str) -> Path:
    """``path`` (absolute, as the instance sees it) on the host, inside ``root``."""
    if not path.startswith("/") or posixpath.normpath(path) != path or ".." in path.split("/") or "\0" in path:
        raise PathEscapes(f"{path!r} is not an absolute normal path")
    real_root = Path(os.path.realpath(root))
    host = real_root / path.lstrip("/")
    # realpath resolves every symlink of the part that exists; the rest is created inside.
    if not _inside(Path(os.path.realpath(host)), real_root):
        raise PathEscapes(f"{path} leaves the instance's file system")
    return host


class InstanceDisk:
    def __init__(self, data_dir: Path, instance_id: str) -> None:
        if not _INSTANCE_ID.match(instance_id):
            raise ValueError(f"not a sandbox instance id: {instance_id!r}")
        self.root = Path(data_dir) / "instances" / instance_id / "fs"
        self.root.mkdir(parents=True, exist_ok=True)

    def host_path(self, path: str) -> Path:
        return jailed(self.root, path)

    def wipe(self) -> None:
        """When the instance is terminated: its disk goes with it."""
        shutil.rmtree(self.root.parent, ignore_errors=True)


def buckets_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "buckets"


def bucket_directory(data_dir: Path, name: str = "demo") -> Path:
    """The directory standing in for the embedded demo's bucket (shared by every sandbox instance)."""
    if not _BUCKET_NAME.match(name):
        raise ValueError(f"not a bucket name: {name!r}")
    path = buckets_dir(data_dir) / name
    path.mkdir(parents=True, exist_ok=True)
    return path
