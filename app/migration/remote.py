"""What the sync steps need from an instance: run one program with arguments, a deadline,
secrets given to that one process only, and bytes on its stdin.

Two implementations: ``ssh.SshRemote`` (a real instance, over asyncssh) and
``sandbox.SandboxRemote`` (a sandbox instance: a jailed directory and a local rclone). Steps pass
argv lists, never shell text; paths on the instance are marked ``InstancePath`` so a remote that
maps them (the sandbox's jail) knows which arguments are paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
                  stdin: bytes = b"") -> CommandResult:
        """Run ``argv`` and wait at most ``timeout`` seconds. ``secret_env`` reaches that process's
        environment only (never its command line, never a file). Raises ``Unreachable``,
        ``CommandTimedOut``, ``HostKeyMismatch`` or ``AuthenticationFailed``; a non-zero exit is
        a result (``.check()`` turns it into ``CommandFailed``)."""
        ...
