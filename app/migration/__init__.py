"""Migrations: a deployment moved to another offer with its data.

Data sync (this package's exports): copy a deployment's directories from one instance to another
through an S3-compatible bucket, checked against a sha256 manifest; each of ``push``, ``pull``,
``verify`` is one idempotent call a migration's step runs and may retry.

The persisted state machine on top: ``machine.py`` (states, the transition table, the error types
that decide the next state), ``actions.py`` (what each step does), ``jobs.py`` (one task per step on
the job queue), ``service.py`` (what pages and the API call), ``store.py`` (stored secrets).
"""

from app.migration.buckets import BucketKind, BucketSpec, bucket_from_user_input, open_bucket, seal_bucket
from app.migration.errors import (
    AuthenticationFailed,
    ChecksumMismatch,
    CommandFailed,
    CommandTimedOut,
    HostKeyMismatch,
    InvalidSyncInput,
    NotADirectory,
    RemoteError,
    SyncError,
    Unreachable,
)
from app.migration.keys import WorkspaceKey, generate_workspace_key, load_private_key
from app.migration.manifest import Manifest, ManifestFile
from app.migration.paths import SyncRoot, validate_paths
from app.migration.remote import CommandResult, InstancePath, Remote
from app.migration.steps import Progress, pull, push, verify

__all__ = [
    "AuthenticationFailed", "BucketKind", "BucketSpec", "ChecksumMismatch", "CommandFailed", "CommandResult",
    "CommandTimedOut", "HostKeyMismatch", "InstancePath", "InvalidSyncInput", "Manifest", "ManifestFile",
    "NotADirectory", "Progress", "Remote", "RemoteError", "SyncError", "SyncRoot", "Unreachable", "WorkspaceKey",
    "bucket_from_user_input", "generate_workspace_key", "load_private_key", "open_bucket", "pull", "push",
    "seal_bucket", "validate_paths", "verify",
]
