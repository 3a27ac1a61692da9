"""The migration domain's stored secrets: the workspace's SSH key (``workspace_ssh_keys``) and its
bound buckets (``migration_buckets``), each encrypted with the keyring under associated data that
names the workspace (and the bucket), so a ciphertext moved to another row does not decrypt."""

from __future__ import annotations

import json
from functools import partial

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.console.errors import ConsoleError, NotFoundForUser
from app.db.models import MigrationBucket, WorkspaceSshKey
from app.db.types import utcnow
from app.migration.buckets import BucketSpec, SealedBucket, bucket_aad, open_bucket, seal_bucket
from app.migration.keys import WorkspaceKey, generate_workspace_key, ssh_key_aad
from app.migration.paths import validate_key_part
from app.security.keyring import Keyring, RotationReport
from app.workspaces.scope import Scope


async def workspace_key(session: AsyncSession, keyring: Keyring, scope: Scope) -> WorkspaceKey:
    """The workspace's key pair, made on first use (two first uses at once: the primary key keeps one)."""
    row = await session.get(WorkspaceSshKey, scope.workspace_id)
    if row is None:
        made = generate_workspace_key(keyring, scope.audit_key)
        try:
            async with session.begin_nested():
                session.add(WorkspaceSshKey(workspace_id=scope.workspace_id, workspace_key=made.workspace,
                                            public_key=made.public_line,
                                            private_key_encrypted=made.private_key_encrypted, created_at=utcnow()))
            return made
        except IntegrityError:
            row = await session.get(WorkspaceSshKey, scope.workspace_id)
    return WorkspaceKey(row.workspace_key, row.public_key, row.private_key_encrypted)


async def save_bucket(session: AsyncSession, keyring: Keyring, scope: Scope, name: str,
                      spec: BucketSpec) -> MigrationBucket:
    scope.require("operate")
    name = validate_key_part(name, "the bucket binding's name")
    sealed = seal_bucket(keyring, scope.audit_key, name, spec)
    exists = (await session.execute(select(MigrationBucket.id).where(
        MigrationBucket.workspace_id == scope.workspace_id, MigrationBucket.name == name))).scalar()
    if exists is not None:
        raise ConsoleError(f"a bucket named {name!r} is already bound; choose another name")
    row = MigrationBucket(workspace_id=scope.workspace_id, workspace_key=scope.audit_key, name=name,
                          settings=json.dumps(sealed.settings), credentials_encrypted=sealed.credentials_encrypted,
                          created_at=utcnow())
    session.add(row)
    await session.flush()
    return row


async def load_bucket(session: AsyncSession, keyring: Keyring, workspace_id: int, name: str) -> BucketSpec:
    row = (await session.execute(select(MigrationBucket).where(
        MigrationBucket.workspace_id == workspace_id, MigrationBucket.name == name))).scalar_one_or_none()
    if row is None:
        raise NotFoundForUser("no such bucket")
    return open_bucket(keyring, SealedBucket(row.workspace_key, row.name, json.loads(row.settings),
                                             row.credentials_encrypted))


async def rotate_secrets(sessions: async_sessionmaker[AsyncSession], keyring: Keyring) -> RotationReport:
    """``computehub keys rotate``: re-encrypt the SSH keys and bucket credentials under the first key."""
    report = RotationReport()
    rotate = partial(report.rotate, keyring)

    async with sessions() as session, session.begin():
        for key in (await session.execute(select(WorkspaceSshKey).order_by(WorkspaceSshKey.workspace_id))).scalars():
            key.private_key_encrypted = rotate(key.private_key_encrypted, ssh_key_aad(key.workspace_key),
                                               f"SSH key of workspace {key.workspace_id}")
        for bucket in (await session.execute(select(MigrationBucket).order_by(MigrationBucket.id))).scalars():
            bucket.credentials_encrypted = rotate(bucket.credentials_encrypted,
                                                  bucket_aad(bucket.workspace_key, bucket.name),
                                                  f"bucket {bucket.name} of workspace {bucket.workspace_id}")
    return report
