"""What the sync engine accepts from users: paths, buckets and their endpoints; how it keeps
secrets (the workspace key, bucket credentials) encrypted and bound to their owner."""

from __future__ import annotations

import asyncssh
import pytest

from app.migration import InvalidSyncInput, validate_paths
from app.migration.buckets import BucketKind, BucketSpec, bucket_from_user_input, open_bucket, seal_bucket
from app.migration.keys import WorkspaceKey, generate_workspace_key, load_private_key
from app.migration.paths import MAX_PATHS, validate_key_part
from app.migration.ssh import command_line, stdin_with_env
from app.security.keyring import DecryptionFailed, Keyring, generate_key_spec
from providers.sandbox import Faults

CREDS = {"access_key_id": "AKIAEXAMPLE123", "secret_access_key": "wJalr/XUtnFEMI+K7MDENG"}


@pytest.fixture
def ring() -> Keyring:
    return Keyring.from_spec(generate_key_spec("t1"))


@pytest.mark.parametrize("path", ["/workspace/checkpoints", "/data/my run (2)", "/home/ubuntu/ä"])
def test_good_paths_are_kept_as_written(path):
    assert validate_paths([path]) == (path,)


def test_a_trailing_slash_is_dropped():
    assert validate_paths(["/workspace/out/"]) == ("/workspace/out",)


@pytest.mark.parametrize("path", [
    "", "workspace", "./workspace", "/workspace/../etc", "/workspace/./x", "//workspace", "/a//b",
    "/work\x00space", "/work\nspace", "/work\rspace", "/a/\x7f", "/", "/proc", "/etc", "/" + "a" * 1100,
])
def test_bad_paths_are_refused(path):
    with pytest.raises(InvalidSyncInput):
        validate_paths([path])


def test_path_lists_are_bounded_and_never_nested():
    with pytest.raises(InvalidSyncInput):
        validate_paths([f"/data/{i}" for i in range(MAX_PATHS + 1)])
    with pytest.raises(InvalidSyncInput, match="inside"):
        validate_paths(["/workspace", "/workspace/checkpoints"])
    with pytest.raises(InvalidSyncInput):
        validate_paths([])
    assert validate_paths(["/workspace", "/workspace2"]) == ("/workspace", "/workspace2")


@pytest.mark.parametrize("part", ["", "..", "a/b", "a b", "-x" * 40, "$(id)"])
def test_migration_prefixes_are_one_plain_segment(part):
    with pytest.raises(InvalidSyncInput):
        validate_key_part(part, "the migration prefix")


@pytest.mark.parametrize("fields", [
    {"kind": "aws", "bucket": "my-checkpoints", "region": "eu-west-1"},
    {"kind": "r2", "bucket": "ckpt", "endpoint": "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com"},
    {"kind": "b2", "bucket": "My-Bucket-1", "region": "us-west-004"},
    {"kind": "minio", "bucket": "ckpt", "endpoint": "https://minio.example.com:9000"},
    {"kind": "minio", "bucket": "ckpt", "endpoint": "https://8.8.8.8"},
])
def test_user_buckets_of_every_kind(fields):
    spec = bucket_from_user_input(**fields, prefix="team/runs", **CREDS)
    env = spec.rclone_env()
    assert env["RCLONE_CONFIG_CHBUCKET_TYPE"] == "s3"
    assert env["RCLONE_CONFIG_CHBUCKET_SECRET_ACCESS_KEY"] == CREDS["secret_access_key"]
    assert spec.key("mig-1", "manifest.json") == f"chbucket:{spec.bucket}/team/runs/mig-1/manifest.json"
    assert CREDS["secret_access_key"] not in repr(spec)
    if spec.endpoint_url:
        assert spec.endpoint_url.startswith("https://")


@pytest.mark.parametrize("endpoint", [
    "http://minio.example.com", "https://127.0.0.1:9000", "https://169.254.169.254", "https://10.0.0.5",
    "https://[::1]", "https://[::ffff:127.0.0.1]", "https://2130706433", "https://0x7f000001", "https://127.1",
    "https://localhost", "https://minio.internal", "https://nas.local", "https://storage",
    "https://user@minio.example.com", "https://minio.example.com/path", "https://minio.example.com/#x",
    "ftp://minio.example.com", "https://minio.example.com\n.evil", "",
])
def test_endpoints_that_are_not_public_https_are_refused(endpoint):
    with pytest.raises(InvalidSyncInput):
        bucket_from_user_input(kind="minio", bucket="ckpt", endpoint=endpoint, **CREDS)


def test_r2_endpoint_must_be_cloudflares():
    with pytest.raises(InvalidSyncInput, match="R2"):
        bucket_from_user_input(kind="r2", bucket="ckpt", endpoint="https://evil.example.com", **CREDS)


def test_test_and_local_kinds_cannot_come_from_users():
    for kind, extra in (("s3_test", {"endpoint": "http://127.0.0.1:9000"}), ("local", {"directory": "/tmp/b"})):
        with pytest.raises(InvalidSyncInput, match="kind"):
            bucket_from_user_input(kind=kind, bucket="ckpt", **extra, **CREDS)
    with pytest.raises(InvalidSyncInput):  # even from code, s3_test is loopback http only
        BucketSpec(BucketKind.S3_TEST, bucket="ckpt", endpoint="http://10.0.0.1:9000", **CREDS)


@pytest.mark.parametrize("bad", [{"bucket": "Bad_Name"}, {"bucket": "a..b"}, {"prefix": "../x"}, {"prefix": "/abs"},
                                 {"region": "EU WEST"}, {"secret_access_key": "has space"}, {"access_key_id": ""}])
def test_bad_bucket_fields_are_refused(bad):
    with pytest.raises(InvalidSyncInput):
        bucket_from_user_input(**{"kind": "aws", "bucket": "ckpt", "region": "eu-west-1", **CREDS, **bad})


def test_bucket_credentials_are_sealed_to_their_workspace_and_binding(ring):
    spec = bucket_from_user_input(kind="aws", bucket="ckpt", region="eu-west-1", **CREDS)
    sealed = seal_bucket(ring, "user:7", "main", spec)
    assert CREDS["secret_access_key"] not in repr(sealed) and CREDS["access_key_id"] not in str(sealed.settings)
    assert open_bucket(ring, sealed) == spec
    for moved in (type(sealed)("user:8", "main", sealed.settings, sealed.credentials_encrypted),
                  type(sealed)("user:7", "other", sealed.settings, sealed.credentials_encrypted)):
        with pytest.raises(DecryptionFailed):
            open_bucket(ring, moved)


def test_a_local_bucket_seals_too(ring, tmp_path):
    spec = BucketSpec(BucketKind.LOCAL, directory=str(tmp_path))
    assert open_bucket(ring, seal_bucket(ring, "user:7", "demo", spec)) == spec
    assert spec.rclone_env()["RCLONE_CONFIG_CHBUCKET_TYPE"] == "local"


def test_the_workspace_key_is_ed25519_encrypted_and_bound_to_its_workspace(ring):
    key = generate_workspace_key(ring, "user:7")
    assert key.public_line.startswith("ssh-ed25519 ") and key.public_line.endswith(" computehub-user-7")
    assert "PRIVATE KEY" not in key.private_key_encrypted
    private = load_private_key(ring, key)
    assert private.export_public_key("openssh").decode().split()[:2] == key.public_line.split()[:2]
    assert asyncssh.import_public_key(key.public_line).algorithm == b"ssh-ed25519"
    with pytest.raises(DecryptionFailed):
        load_private_key(ring, WorkspaceKey("user:8", key.public_line, key.private_key_encrypted))
    assert generate_workspace_key(ring, "user:7").public_line != key.public_line  # fresh each time


def test_secrets_travel_on_stdin_never_on_the_command_line():
    env = {"RCLONE_CONFIG_CHBUCKET_SECRET_ACCESS_KEY": "s3cr3t"}
    line = command_line(["rclone", "copy", "/a b", "chbucket:x/y"], timeout=60)
    assert "s3cr3t" not in line and "'/a b'" in line
    assert stdin_with_env(env, b"data") == b"RCLONE_CONFIG_CHBUCKET_SECRET_ACCESS_KEY=s3cr3t\n\ndata"
    for bad in ({"lower": "x"}, {"OK": "two\nlines"}, {"A=B": "x"}):
        with pytest.raises(ValueError):
            stdin_with_env(bad, b"")


def test_the_sync_faults_are_sandbox_faults():
    faults = Faults.from_json({"sync_fails_halfway": True, "checksum_mismatch": True})
    assert faults.sync_fails_halfway and faults.checksum_mismatch
    assert Faults.from_json(faults.to_json()) == faults
