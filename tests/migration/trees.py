"""Files with known sha256 (computed here with hashlib, independently of rclone)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

FIVE_MB = 5 * 1024 * 1024


def make_tree(root: Path, *, big_size: int = FIVE_MB) -> dict[str, str]:
    """A tree with nested directories, a name with spaces, an empty file and one big file; returns
    {relative path: sha256}."""
    rng = random.Random(14)
    contents = {
        "checkpoints/step 100/model weights.bin": rng.randbytes(4096),
        "checkpoints/step 100/optimizer.pt": rng.randbytes(777),
        "checkpoints/latest.txt": b"step 100\n",
        "empty.log": b"",
        "deep/a/b/c/d/notes.md": "résumé ünïcode\n".encode(),
        "big.bin": rng.randbytes(big_size),
    }
    for rel, data in contents.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {rel: hashlib.sha256(data).hexdigest() for rel, data in contents.items()}


def hashes_of(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def flip_one_byte(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
