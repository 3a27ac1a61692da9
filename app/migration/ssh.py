"""``Remote`` over SSH (asyncssh), with the instance's host key pinned.

First contact (no pinned key): trust on first use; ``SshRemote.host_key`` is the key the caller
stores with the instance. Every later connection passes that key and anything else is refused
(``HostKeyMismatch``). The command line is ``sh -c WRAPPER sh ARG...`` with every argument
shell-quoted; the wrapper first reads ``NAME=value`` lines from stdin and exports them, so
secrets live only in that process's environment (not in ``ps``, not on the instance's disk), and
the rest of stdin goes to the program.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncssh

from app.migration.errors import AuthenticationFailed, CommandTimedOut, HostKeyMismatch, Unreachable
from app.migration.remote import CommandResult, LineCallback, read_streams

CONNECT_TIMEOUT_SECONDS = 15.0
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
# Reads "NAME=value" lines up to the first empty one, exports them, then runs the program with
# the rest of stdin. POSIX sh reads a pipe one byte at a time, so no byte meant for it is lost.
# $1 is the deadline: coreutils' timeout ends the program on the instance itself, so a step
# retried after a timeout never races a copy still running from the attempt before.
_WRAPPER = ('t=$1; shift; while IFS= read -r kv && [ -n "$kv" ]; do export "$kv"; done; '
            'if command -v timeout >/dev/null 2>&1; then exec timeout -k 10 "$t" "$@"; fi; exec "$@"')
_TIMED_OUT = 124  # what timeout(1) exits with when it ended the program
_GRACE_SECONDS = 15.0  # ComputeHub waits this much longer than the instance-side deadline


@dataclass(frozen=True)
class SshTarget:
    host: str
    port: int
    username: str
    pinned_host_key: str | None = None
    """OpenSSH public key line stored at first contact; None only for that first contact."""

    def __post_init__(self) -> None:
        if not _USER.match(self.username) or not 0 < self.port < 65536:
            raise ValueError("not a usable SSH login")


def command_line(argv: Sequence[str], timeout: float = 3600.0) -> str:
    if not argv:
        raise ValueError("empty command")
    return shlex.join(["sh", "-c", _WRAPPER, "sh", f"{max(timeout, 0.1):.1f}", *map(str, argv)])


def stdin_with_env(secret_env: Mapping[str, str] | None, stdin: bytes) -> bytes:
    lines = []
    for name, value in (secret_env or {}).items():
        if not _ENV_NAME.match(name) or any(ch in value for ch in "\n\r\0"):
            raise ValueError(f"environment variable {name!r} cannot be passed safely")
        lines.append(f"{name}={value}\n")
    return "".join(lines).encode() + b"\n" + stdin


class SshRemote:
    def __init__(self, conn: asyncssh.SSHClientConnection) -> None:
        self._conn = conn
        key = conn.get_server_host_key()
        self.host_key = key.export_public_key("openssh").decode().strip() if key else None

    @classmethod
    @asynccontextmanager
    async def connect(cls, target: SshTarget, client_key: asyncssh.SSHKey, *,
                      connect_timeout: float = CONNECT_TIMEOUT_SECONDS) -> AsyncIterator[SshRemote]:
        known_hosts = None  # trust on first use: the caller stores .host_key
        if target.pinned_host_key:
            # The only trusted key; asyncssh then also offers only its signature algorithms.
            known_hosts = ([asyncssh.import_public_key(target.pinned_host_key)], [], [])
        try:
            conn = await asyncssh.connect(
                target.host, target.port, username=target.username, client_keys=[client_key],
                known_hosts=known_hosts, connect_timeout=connect_timeout, agent_path=None,
                config=[], preferred_auth="publickey", keepalive_interval=30)
        except asyncssh.HostKeyNotVerifiable as exc:
            raise HostKeyMismatch(f"{target.host}:{target.port} presented a host key other than the pinned one") from exc
        except asyncssh.PermissionDenied as exc:
            raise AuthenticationFailed(f"{target.host}:{target.port} refused the workspace key") from exc
        except (OSError, asyncio.TimeoutError, asyncssh.Error) as exc:
            raise Unreachable(f"cannot reach {target.host}:{target.port} over SSH: {exc}") from exc
        try:
            yield cls(conn)
        finally:
            conn.close()
            await conn.wait_closed()

    async def run(self, argv: Sequence[str], *, timeout: float, secret_env: Mapping[str, str] | None = None,
                  stdin: bytes = b"", on_stderr_line: LineCallback | None = None) -> CommandResult:
        data = stdin_with_env(secret_env, stdin)
        try:
            async with asyncio.timeout(timeout + _GRACE_SECONDS):
                process = await self._conn.create_process(command_line(argv, timeout), encoding=None)
                try:
                    process.stdin.write(data)
                    process.stdin.write_eof()
                    stdout, stderr = await read_streams(process.stdout, process.stderr, on_stderr_line)
                    done = await process.wait(check=False)
                finally:
                    process.close()
        except TimeoutError as exc:
            # The channel is closed; sshd hangs up the session, which ends a well-behaved program.
            raise CommandTimedOut(f"{argv[0]} did not finish within {timeout:g} s") from exc
        except (OSError, asyncssh.Error) as exc:
            raise Unreachable(f"the SSH connection was lost: {exc}") from exc
        status = done.exit_status if done.exit_status is not None else 255  # killed by a signal
        if status == _TIMED_OUT:
            raise CommandTimedOut(f"{argv[0]} did not finish within {timeout:g} s (ended on the instance)")
        return CommandResult(status, stdout, stderr)
