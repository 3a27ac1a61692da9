"""The three data-sync steps of a migration. Each is one idempotent call: after a crash, a
timeout or an ``Unreachable``, the same call again converges (rclone copy skips what is already
there and equal; the manifest is overwritten with the same content; verify only reads).

Bulk data goes instance → bucket → instance; ComputeHub only sends commands and receives
listings and the manifest.

Bucket layout: ``<prefix>/<migration_prefix>/data/<source path>/...`` and
``<prefix>/<migration_prefix>/manifest.json``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.migration.buckets import BucketSpec
from app.migration.errors import ChecksumMismatch, NotADirectory
from app.migration.manifest import Manifest, ManifestFile, listing_to_files
from app.migration.paths import SyncRoot, validate_key_part, validate_roots
from app.migration.remote import InstancePath, Remote

logger = logging.getLogger(__name__)

COPY_TIMEOUT_SECONDS = 6 * 3600.0
LIST_TIMEOUT_SECONDS = 1800.0  # hashing reads every byte
_COMMON = ("--log-level", "ERROR", "--retries", "3", "--low-level-retries", "10")
# Compare by checksum, not size and time: a retried copy then also repairs a file whose bytes
# changed but whose size and time did not (a torn write, silent corruption).
_COPY = ("copy", "--checksum", *_COMMON)
# Later flags win: with a progress callback, rclone logs its stats as JSON lines every 2 s.
_PROGRESS = ("--use-json-log", "--stats", "2s", "--stats-log-level", "NOTICE", "--log-level", "NOTICE")


@dataclass(frozen=True)
class Progress:
    """One copy's progress as rclone counts it (one root at a time)."""

    root: str
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int


ProgressCallback = Callable[[Progress], None]


def _progress_reader(root: str, on_progress: ProgressCallback | None):
    """An ``on_stderr_line`` that turns rclone's JSON stats lines into ``Progress`` (and keeps
    every other line, e.g. errors, for the step's log)."""
    if on_progress is None:
        return None

    def on_line(line: str) -> bool:
        if not line.startswith("{"):
            return False
        try:
            entry = json.loads(line)
        except ValueError:
            return False
        stats = entry.get("stats") if isinstance(entry, dict) else None
        if not isinstance(stats, dict):
            return entry.get("level") not in ("error", "critical") if isinstance(entry, dict) else False
        try:
            on_progress(Progress(root, int(stats.get("bytes", 0)), int(stats.get("totalBytes", 0)),
                                 int(stats.get("transfers", 0)), int(stats.get("totalTransfers", 0))))
        except Exception:  # noqa: BLE001 - a progress display never fails the copy it reports on
            logger.exception("progress callback failed")
        return True

    return on_line


def _copy_flags(on_progress: ProgressCallback | None) -> tuple[str, ...]:
    return _COPY + (_PROGRESS if on_progress else ())


def _data_key(bucket: BucketSpec, migration_prefix: str, root_source: str) -> str:
    return bucket.key(validate_key_part(migration_prefix, "the migration prefix"), "data", root_source)


def _manifest_key(bucket: BucketSpec, migration_prefix: str) -> str:
    return bucket.key(validate_key_part(migration_prefix, "the migration prefix"), "manifest.json")


_DIRECTORY_NOT_FOUND = 3  # rclone's exit status


async def _hash_directory(remote: Remote, path: str, *, timeout: float, missing_ok: bool = False) -> str:
    result = await remote.run(["rclone", "lsjson", "-R", "--files-only", "--hash", "--hash-type", "sha256",
                               *_COMMON, InstancePath(path)], timeout=timeout,
                              secret_env={"RCLONE_CONFIG": "/dev/null"})
    if missing_ok and result.exit_status == _DIRECTORY_NOT_FOUND:
        return "[]"
    return result.check(f"listing {path}").stdout


async def _require_directory(remote: Remote, path: str, *, timeout: float) -> None:
    result = await remote.run(["rclone", "lsjson", "--stat", *_COMMON, InstancePath(path)], timeout=timeout,
                              secret_env={"RCLONE_CONFIG": "/dev/null"})
    if not json.loads(result.check(f"looking at {path}").stdout or "{}").get("IsDir"):
        raise NotADirectory(path)


async def push(remote: Remote, paths: Iterable[SyncRoot | str], bucket: BucketSpec, migration_prefix: str, *,
               timeout: float = COPY_TIMEOUT_SECONDS, on_progress: ProgressCallback | None = None) -> Manifest:
    """On the SOURCE: hash every file, copy the directories to the bucket, upload the manifest.
    Hashing comes first, so a file changed during the copy fails verification instead of passing
    with its new bytes half copied."""
    roots = validate_roots(paths)
    files: list[ManifestFile] = []
    for root in roots:
        await _require_directory(remote, root.source, timeout=LIST_TIMEOUT_SECONDS)
        files += listing_to_files(root.source, await _hash_directory(remote, root.source,
                                                                     timeout=LIST_TIMEOUT_SECONDS))
    env = bucket.rclone_env()
    for root in roots:
        copied = await remote.run(["rclone", *_copy_flags(on_progress), InstancePath(root.source),
                                   _data_key(bucket, migration_prefix, root.source)], timeout=timeout, secret_env=env,
                                  on_stderr_line=_progress_reader(root.source, on_progress))
        copied.check(f"copying {root.source} to the bucket")
    manifest = Manifest(roots, tuple(files))
    uploaded = await remote.run(["rclone", "rcat", *_COMMON, _manifest_key(bucket, migration_prefix)],
                                timeout=LIST_TIMEOUT_SECONDS, secret_env=env, stdin=manifest.to_json().encode())
    uploaded.check("uploading the manifest")
    return manifest


async def pull(remote: Remote, bucket: BucketSpec, migration_prefix: str, paths: Iterable[SyncRoot | str], *,
               timeout: float = COPY_TIMEOUT_SECONDS, on_progress: ProgressCallback | None = None) -> None:
    """On the TARGET: copy each root's data from the bucket to its target directory."""
    env = bucket.rclone_env()
    for root in validate_roots(paths):
        copied = await remote.run(["rclone", *_copy_flags(on_progress), _data_key(bucket, migration_prefix, root.source),
                                   InstancePath(root.target)], timeout=timeout, secret_env=env,
                                  on_stderr_line=_progress_reader(root.target, on_progress))
        copied.check(f"copying the bucket to {root.target}")


async def verify(remote: Remote, manifest: Manifest, *, timeout: float = LIST_TIMEOUT_SECONDS) -> None:
    """On the TARGET: recompute every sha256; raise ``ChecksumMismatch`` naming each file that is
    missing or differs (files the target has beyond the manifest are left alone)."""
    wrong: list[str] = []
    for root in manifest.roots:
        found = {f.path: f for f in listing_to_files(root.source, await _hash_directory(
            remote, root.target, timeout=timeout, missing_ok=True))}
        for expected in (f for f in manifest.files if f.root == root.source):
            got = found.get(expected.path)
            if got is None or (got.size, got.sha256) != (expected.size, expected.sha256):
                wrong.append(f"{root.target}/{expected.path}")
    if wrong:
        raise ChecksumMismatch(tuple(wrong))
