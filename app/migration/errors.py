"""Errors of the data-sync engine. Each type decides what the caller (a migration step) does next:
``retryable`` ones are worth the same idempotent call again later; the others need a person, a
rollback, or a different input."""

from __future__ import annotations


class SyncError(Exception):
    retryable = False


class InvalidSyncInput(SyncError, ValueError):
    """A path, bucket or prefix ComputeHub refuses to use; the message is shown to the user as is."""


class RemoteError(SyncError):
    """Something about reaching or running on an instance."""


class Unreachable(RemoteError):
    """No SSH session could be set up (refused, timed out, connection lost): try again later."""

    retryable = True


class CommandTimedOut(RemoteError):
    """The command did not finish before its deadline (the connection itself was fine)."""

    retryable = True


class AuthenticationFailed(RemoteError):
    """The instance refused the workspace key: it was not installed, or was removed."""


class HostKeyMismatch(RemoteError):
    """The instance presented a host key other than the one pinned on first contact: refuse (a
    different machine answers at that address, or someone sits in between)."""


class CommandFailed(RemoteError):
    """The command ran and exited non-zero. ``stderr`` is kept (bounded) for the step's log."""

    def __init__(self, what: str, exit_status: int | None, stderr: str) -> None:
        self.what, self.exit_status, self.stderr = what, exit_status, stderr[-2000:]
        super().__init__(f"{what} failed (exit status {exit_status}): {self.stderr.strip()[-500:]}")


class NotADirectory(SyncError):
    """A path to keep exists on the source but is not a directory."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path} is not a directory on the source instance")


class ChecksumMismatch(SyncError):
    """Files on the target differ from the manifest made on the source (or are missing there)."""

    def __init__(self, files: tuple[str, ...]) -> None:
        self.files = files
        shown = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if len(files) > 10 else "")
        super().__init__(f"{len(files)} file(s) differ from the source after the copy: {shown}")
