"""What the sync steps need from an instance: run one program with arguments, a deadline,
secrets given to that one process only, and bytes on its stdin.

Two implementations: ``ssh.SshRemote`` (a real instance, over asyncssh) and
``sandbox.SandboxRemote`` (a sandbox instance: a jailed directory and a local rclone). Steps pass
argv lists, never shell text; paths on the instance are marked ``InstancePath`` so a remote that
maps them (the sandbox's jail) knows which arguments are paths.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from app.migration.errors import CommandFailed


class InstancePath(str):
    """An argument that is a path on the instance's file system (already validated)."""

    __slots__ = ()


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str

    def check(self, what: str) -> CommandResult:
        if self.exit_status != 0:
            raise CommandFailed(what, self.exit_status, self.stderr)
        return self


@runtime_checkable
class Remote(Protocol):
    async def run(self, argv: Sequence[str], *, timeout: float, secret_env: Mapping[str, str] | None = None,
                  stdin: bytes = b"", on_stderr_line: LineCallback | None = None) -> CommandResult:
        """Run ``argv`` and wait at most ``timeout`` seconds. ``secret_env`` reaches that process's
        environment only (never its command line, never a file). ``on_stderr_line`` sees each
        stderr line as it comes (rclone's progress); it returns True for lines it consumed, which
        are then left out of ``stderr``. Raises ``Unreachable``, ``CommandTimedOut``,
        ``HostKeyMismatch`` or ``AuthenticationFailed``; a non-zero exit is a result (``.check()``
        turns it into ``CommandFailed``)."""
        ...


LineCallback = Callable[[str], bool]
MAX_STDERR_CHARS = 64_000


async def read_streams(stdout, stderr, on_stderr_line: LineCallback | None) -> tuple[str, str]:
    """Drain both streams of a running process (bytes readers with ``read`` and ``readline``)."""

    async def err() -> str:
        kept: list[str] = []
        while line := await stderr.readline():
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
            if on_stderr_line is not None and on_stderr_line(text.rstrip("\n")):
                continue
            kept.append(text)
            while sum(map(len, kept)) > MAX_STDERR_CHARS and len(kept) > 1:
                kept.pop(0)
        return "".join(kept)

    out, errors = await asyncio.gather(stdout.read(), err())
    return (out.decode("utf-8", "replace") if isinstance(out, bytes) else out), errors
