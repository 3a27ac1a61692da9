"""The workspace's SSH key and bound buckets, stored encrypted: made once, bound to their
workspace (a ciphertext copied to another workspace does not open), re-encrypted by rotation."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from app.db.models import MigrationBucket, WorkspaceSshKey
from app.migration.buckets import BucketKind, BucketSpec
from app.migration.keys import load_private_key
from app.migration.store import load_bucket, rotate_secrets, save_bucket, workspace_key
from app.security.keyring import DecryptionFailed, Keyring, generate_key_spec
from app.workspaces.scope import resolve
from tests.migration.machine.support import pro_account

R2 = dict(kind=BucketKind.R2, bucket="ckpts", endpoint="https://" + "a" * 32 + ".r2.cloudflarestorage.com",
          access_key_id="AKIAEXAMPLE", secret_access_key="s3cr3t/Value+1")


async def test_the_workspace_key_is_made_once_and_opens_only_in_its_workspace(sessions, keyring):
    ada, bob = await pro_account(sessions, keyring), await pro_account(sessions, keyring, "bob@example.com")
    async with sessions() as session, session.begin():
        scope_a, scope_b = await resolve(session, ada.user_id), await resolve(session, bob.user_id)
        first = await workspace_key(session, keyring, scope_a)
        again = await workspace_key(session, keyring, scope_a)
        other = await workspace_key(session, keyring, scope_b)
    assert first == again and first.public_line.startswith("ssh-ed25519 ") and other.public_line != first.public_line
    assert load_private_key(keyring, first).export_public_key("openssh").decode().strip().split()[1] == \
        first.public_line.split()[1]
    async with sessions() as session, session.begin():  # a ciphertext moved to another workspace's row
        await session.execute(update(WorkspaceSshKey).where(WorkspaceSshKey.workspace_id == scope_b.workspace_id)
                              .values(private_key_encrypted=first.private_key_encrypted))
        moved = await workspace_key(session, keyring, scope_b)
    with pytest.raises(DecryptionFailed):
        load_private_key(keyring, moved)


async def test_a_bound_bucket_round_trips_and_rotates(sessions, keyring, settings):
    ada = await pro_account(sessions, keyring)
    async with sessions() as session, session.begin():
        scope = await resolve(session, ada.user_id)
        row = await save_bucket(session, keyring, scope, "training", BucketSpec(**R2))
        await workspace_key(session, keyring, scope)
    assert "s3cr3t" not in row.settings + row.credentials_encrypted
    async with sessions() as session:
        assert await load_bucket(session, keyring, scope.workspace_id, "training") == BucketSpec(**R2)

    new_ring = Keyring.from_spec(f"{generate_key_spec('next')},{settings.security.master_keys}")
    report = await rotate_secrets(sessions, new_ring)
    assert (report.rotated, report.current, report.unreadable) == (2, 0, [])
    assert (await rotate_secrets(sessions, new_ring)).current == 2
    async with sessions() as session:
        assert await load_bucket(session, new_ring, scope.workspace_id, "training") == BucketSpec(**R2)
        with pytest.raises(DecryptionFailed):  # the old ring alone no longer opens it
            await load_bucket(session, keyring, scope.workspace_id, "training")
        await session.execute(update(MigrationBucket).values(name="renamed"))
        with pytest.raises(DecryptionFailed):  # the bucket's name is part of what the secret is bound to
            await load_bucket(session, new_ring, scope.workspace_id, "renamed")
