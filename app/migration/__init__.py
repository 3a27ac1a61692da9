"""Migration data sync: copy a deployment's directories from one instance to another through an
S3-compatible bucket, checked against a sha256 manifest. No state machine here: each step
(``push``, ``pull``, ``verify``) is one idempotent call a migration's job runs and may retry.
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
