"""``Remote`` for sandbox instances: commands run against the instance's simulated file system
(``providers.sandbox.disk``), so a demo migration moves real bytes between two instances.

Only rclone exists on a sandbox instance (anything else exits 127, like a shell would). Every
``InstancePath`` argument is mapped into the instance's jail; a ``chbucket:`` path of a local
bucket must lie under the sandbox's buckets directory; any other argument naming a path, any
flag the steps do not use, and any S3 bucket are refused (rclone runs on ComputeHub's machine
here, so it must reach neither host files nor a user's endpoint). The instance must be running (else ``Unreachable``, as over SSH).

Faults (the account's sandbox faults, switched like every other one):
``sync_fails_halfway``: an ``rclone copy`` copies the first half of the files, then fails.
``checksum_mismatch``: a copy onto the instance flips one byte of one file, keeping its size and
modification time (silent corruption: rclone's own checks do not see it, the manifest does).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.migration.buckets import RCLONE_REMOTE
from app.migration.errors import CommandTimedOut, Unreachable
from app.migration.remote import CommandResult, InstancePath, LineCallback, read_streams
from providers.sandbox.cloud import RUNNING, ApiError, Faults, SandboxCloud
from providers.sandbox.disk import InstanceDisk, PathEscapes, buckets_dir

_BUCKET_PREFIX = f"{RCLONE_REMOTE}:"
_LOCAL_TYPE = f"RCLONE_CONFIG_{RCLONE_REMOTE.upper()}_TYPE"
_ALLOWED_ENV = frozenset({("RCLONE_CONFIG", "/dev/null"), (_LOCAL_TYPE, "local")})
# The flags the sync steps use. Any other is refused: several would read or write host files
# (--config, --log-file, --files-from, --copy-links, --backup-dir...).
ALLOWED_FLAGS = frozenset({"-R", "--files-only", "--hash", "--hash-type", "--stat", "--log-level", "--retries",
                           "--low-level-retries", "--checksum", "--use-json-log", "--stats",
                           "--stats-log-level"})


class SandboxRemote:
    def __init__(self, cloud: SandboxCloud, api_key: str, instance_id: str, data_dir: Path) -> None:
        self.cloud, self.api_key, self.instance_id = cloud, api_key, instance_id
        self.data_dir = Path(data_dir)
        self.disk = InstanceDisk(self.data_dir, instance_id)

    async def run(self, argv: Sequence[str], *, timeout: float, secret_env: Mapping[str, str] | None = None,
                  stdin: bytes = b"", on_stderr_line: LineCallback | None = None) -> CommandResult:
        faults = await asyncio.to_thread(self._running_faults)
        if not argv or argv[0] != "rclone":
            return CommandResult(127, "", f"sh: 1: {argv[0] if argv else ''}: not found\n")
        env = dict(secret_env or {})
        if set(env.items()) - _ALLOWED_ENV:
            # rclone runs on ComputeHub's own machine here: it must never reach a user's endpoint.
            return CommandResult(1, "", "ERROR : a sandbox instance has no network; "
                                 "it syncs through the demo's local bucket only\n")
        try:
            args = [self._map(arg) for arg in argv[1:]]
        except PathEscapes as exc:
            return CommandResult(1, "", f"ERROR : {exc}\n")
        is_copy = args[:1] == ["copy"]
        paths = [a for a in args if a.startswith("/") or a.startswith(_BUCKET_PREFIX)]
        with tempfile.TemporaryDirectory(dir=self._tmp_root()) as scratch:
            halfway = None
            if is_copy and faults.sync_fails_halfway and len(paths) == 2:
                halfway = self._first_half(_host_dir(paths[0]), Path(scratch) / "files")
                args[1:1] = ["--files-from-raw", str(halfway)]
            result = await self._exec(args, env, stdin, timeout, home=Path(scratch), on_stderr_line=on_stderr_line)
        if halfway is not None and result.exit_status == 0:
            return CommandResult(1, result.stdout, result.stderr + "ERROR : connection to the bucket lost "
                                 "halfway through the copy (sandbox fault sync_fails_halfway)\n")
        if is_copy and faults.checksum_mismatch and result.exit_status == 0 and isinstance(argv[-1], InstancePath):
            _corrupt_one_file(Path(args[-1]))
        return result

    def _running_faults(self) -> Faults:
        try:
            status = self.cloud.get_instance(self.api_key, self.instance_id)["status"]
            faults = self.cloud.faults(self.api_key)
        except ApiError as exc:
            raise Unreachable(f"sandbox instance {self.instance_id}: {exc.message}") from exc
        if status != RUNNING:
            raise Unreachable(f"sandbox instance {self.instance_id} is {status}, not running")
        return faults

    def _map(self, arg: str) -> str:
        if isinstance(arg, InstancePath):
            return str(self.disk.host_path(str(arg)))
        if arg.startswith(_BUCKET_PREFIX):
            return _BUCKET_PREFIX + self._bucket_path(arg[len(_BUCKET_PREFIX):])
        if arg.startswith("-") and arg not in ALLOWED_FLAGS:
            raise PathEscapes(f"{arg} is not a flag a sandbox instance accepts")
        if "/" in arg:  # a path that is not marked as the instance's: never one of this machine
            raise PathEscapes(f"{arg!r} is not an argument a sandbox instance accepts")
        return arg

    def _bucket_path(self, path: str) -> str:
        root = buckets_dir(self.data_dir)
        root.mkdir(parents=True, exist_ok=True)
        real_root = Path(os.path.realpath(root))
        host = Path(os.path.realpath(path))
        if path != os.path.normpath(path) or not (real_root in host.parents or host == real_root):
            raise PathEscapes(f"{path} is not a sandbox bucket")
        return str(host)

    def _tmp_root(self) -> Path:
        tmp = self.data_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    @staticmethod
    def _first_half(source: Path, list_file: Path) -> Path:
        names = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()) \
            if source.is_dir() else []
        list_file.write_text("".join(f"{n}\n" for n in names[: len(names) // 2]))
        return list_file

    async def _exec(self, args: list[str], env: Mapping[str, str], stdin: bytes, timeout: float, *,
                    home: Path, on_stderr_line: LineCallback | None) -> CommandResult:
        rclone = shutil.which("rclone") or "rclone"
        proc = await asyncio.create_subprocess_exec(
            rclone, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **env})
        try:
            async with asyncio.timeout(timeout):
                proc.stdin.write(stdin)
                await proc.stdin.drain()
                proc.stdin.close()
                out, err = await read_streams(proc.stdout, proc.stderr, on_stderr_line)
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise CommandTimedOut(f"rclone did not finish within {timeout:g} s") from None
        return CommandResult(proc.returncode if proc.returncode is not None else 255, out, err)


def _host_dir(mapped: str) -> Path:
    return Path(mapped[len(_BUCKET_PREFIX):] if mapped.startswith(_BUCKET_PREFIX) else mapped)


def _corrupt_one_file(root: Path) -> None:
    """Flip one byte in the middle of the first non-empty file, keeping its size and times."""
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.stat().st_size > 0):
        stat = path.stat()
        with open(path, "r+b") as handle:
            handle.seek(stat.st_size // 2)
            byte = handle.read(1)
            handle.seek(stat.st_size // 2)
            handle.write(bytes([byte[0] ^ 0xFF]))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        return
