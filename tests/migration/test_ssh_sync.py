"""push → pull → verify over a real OpenSSH server, a real S3 server (moto) and Debian's rclone.

The source and the target are two directories on the machine the test's sshd serves; each root
maps its source directory to the target one (as when providers mount volumes in different places).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import asyncssh
import pytest

from app.migration import (
    ChecksumMismatch,
    CommandTimedOut,
    HostKeyMismatch,
    Manifest,
    SyncRoot,
    Unreachable,
    pull,
    push,
    verify,
)
from app.migration.ssh import SshTarget
from tests.migration.conftest import connect, free_port
from tests.migration.trees import FIVE_MB, flip_one_byte, hashes_of, make_tree

PREFIX = "mig-41"


def _tree(root, big_size):
    src, dst = root / "source" / "workspace", root / "target" / "workspace"
    expected = make_tree(src, big_size=big_size)
    return src, dst, expected, [SyncRoot(str(src), str(dst))]


@pytest.fixture
def tree(tmp_path):
    """The tree with a 256 KiB big file, for the tests about what happens around a copy."""
    return _tree(tmp_path, 256 * 1024)


@pytest.fixture
def five_mb_tree(tmp_path):
    return _tree(tmp_path, FIVE_MB)


async def test_files_arrive_on_the_target_with_their_checksums(ssh_target, client_key, s3_bucket, five_mb_tree):
    src, dst, expected, roots = five_mb_tree
    pushed, pulled = [], []
    async with connect(ssh_target, client_key) as source:
        manifest = await push(source, roots, s3_bucket, PREFIX, on_progress=pushed.append)
    async with connect(ssh_target, client_key) as target:
        await pull(target, s3_bucket, PREFIX, roots, on_progress=pulled.append)
        await verify(target, manifest)
    # rclone's own counts, read from its JSON stats lines as the copy ran
    assert pushed[-1].bytes_done == pushed[-1].bytes_total == manifest.total_bytes
    assert pulled[-1].bytes_done == manifest.total_bytes and pulled[-1].root == str(dst)
    assert pushed[-1].files_done == len(expected)  # every file, the empty one too

    assert hashes_of(dst) == expected
    assert {f.path: f.sha256 for f in manifest.files} == expected
    assert {f.path: f.size for f in manifest.files}["empty.log"] == 0
    assert manifest.total_bytes == sum(p.stat().st_size for p in src.rglob("*") if p.is_file())


async def test_the_manifest_is_uploaded_next_to_the_data(ssh_target, client_key, s3_bucket, boto_s3, tree):
    src, _, expected, roots = tree
    async with connect(ssh_target, client_key) as source:
        manifest = await push(source, roots, s3_bucket, PREFIX)
    key = f"computehub/user-7/{PREFIX}/manifest.json"
    stored = Manifest.from_json(boto_s3.get_object(Bucket=s3_bucket.bucket, Key=key)["Body"].read().decode())
    assert stored == manifest
    data_keys = {o["Key"] for o in boto_s3.list_objects_v2(Bucket=s3_bucket.bucket)["Contents"]} - {key}
    assert data_keys == {f"computehub/user-7/{PREFIX}/data{src}/{rel}" for rel in expected}


async def test_pushing_twice_is_harmless(ssh_target, client_key, s3_bucket, boto_s3, tree):
    _, dst, expected, roots = tree
    async with connect(ssh_target, client_key) as source:
        first = await push(source, roots, s3_bucket, PREFIX)
        objects = boto_s3.list_objects_v2(Bucket=s3_bucket.bucket)["Contents"]
        second = await push(source, roots, s3_bucket, PREFIX)
    assert second == first
    again = boto_s3.list_objects_v2(Bucket=s3_bucket.bucket)["Contents"]
    assert {(o["Key"], o["ETag"]) for o in again} == {(o["Key"], o["ETag"]) for o in objects}
    async with connect(ssh_target, client_key) as target:
        await pull(target, s3_bucket, PREFIX, roots)
        await pull(target, s3_bucket, PREFIX, roots)  # and pulling twice too
        await verify(target, second)
    assert hashes_of(dst) == expected


async def test_a_byte_corrupted_in_the_bucket_fails_verification_naming_the_file(
        ssh_target, client_key, s3_bucket, boto_s3, tree):
    src, dst, _, roots = tree
    async with connect(ssh_target, client_key) as source:
        manifest = await push(source, roots, s3_bucket, PREFIX)
    key = f"computehub/user-7/{PREFIX}/data{src}/checkpoints/step 100/optimizer.pt"
    data = bytearray(boto_s3.get_object(Bucket=s3_bucket.bucket, Key=key)["Body"].read())
    data[100] ^= 0x40
    boto_s3.put_object(Bucket=s3_bucket.bucket, Key=key, Body=bytes(data))

    async with connect(ssh_target, client_key) as target:
        await pull(target, s3_bucket, PREFIX, roots)
        with pytest.raises(ChecksumMismatch) as caught:
            await verify(target, manifest)
    assert caught.value.files == (f"{dst}/checkpoints/step 100/optimizer.pt",)
    assert "optimizer.pt" in str(caught.value)


async def test_a_byte_corrupted_on_the_target_fails_verification_naming_the_file(
        ssh_target, client_key, s3_bucket, five_mb_tree):
    _, dst, _, roots = five_mb_tree
    async with connect(ssh_target, client_key) as source:
        manifest = await push(source, roots, s3_bucket, PREFIX)
    async with connect(ssh_target, client_key) as target:
        await pull(target, s3_bucket, PREFIX, roots)
        await verify(target, manifest)
        flip_one_byte(dst / "big.bin", offset=3 * 1024 * 1024)
        with pytest.raises(ChecksumMismatch) as caught:
            await verify(target, manifest)
        assert caught.value.files == (f"{dst}/big.bin",)
        (dst / "empty.log").unlink()  # a missing file is named too
        with pytest.raises(ChecksumMismatch) as caught:
            await verify(target, manifest)
        assert set(caught.value.files) == {f"{dst}/big.bin", f"{dst}/empty.log"}


async def test_first_contact_returns_the_host_key_and_a_wrong_pinned_key_is_refused(sshd, client_key):
    port, real_host_key = sshd
    async with connect(SshTarget("127.0.0.1", port, "root"), client_key) as remote:
        assert remote.host_key == real_host_key  # what the caller stores for every later contact
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    with pytest.raises(HostKeyMismatch) as caught:
        async with connect(SshTarget("127.0.0.1", port, "root", pinned_host_key=impostor), client_key):
            pass
    assert not caught.value.retryable


async def test_an_unreachable_host_is_the_retryable_error(client_key):
    with pytest.raises(Unreachable) as caught:
        async with connect(SshTarget("127.0.0.1", free_port(), "root"), client_key):
            pass
    assert caught.value.retryable


async def test_every_argument_reaches_the_program_as_written(ssh_target, client_key, tmp_path):
    marker = tmp_path / "injected"
    tricky = ["a b", f"$(touch {marker})", "'; touch " + str(marker) + "; '", "`id`", "*", "--x=\"y\""]
    async with connect(ssh_target, client_key) as remote:
        result = await remote.run(["printf", "%s\\n", *tricky], timeout=10)
        env = await remote.run(["sh", "-c", 'printf %s "$CH_SECRET"; cat'], timeout=10,
                               secret_env={"CH_SECRET": "s3cr3t value"}, stdin=b"|rest of stdin")
        seen = await remote.run(["sh", "-c", 'tr "\\000" " " < /proc/$$/cmdline'], timeout=10,
                                secret_env={"CH_SECRET": "s3cr3t value"})
    assert result.exit_status == 0 and result.stdout.split("\n")[:-1] == tricky
    assert not marker.exists()
    assert env.stdout == "s3cr3t value|rest of stdin"
    assert seen.exit_status == 0 and "sh -c" in seen.stdout and "s3cr3t" not in seen.stdout  # not in ps


def _running(cmdline: bytes) -> bool:
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes() == cmdline:
                return True
        except OSError:
            continue
    return False


async def test_a_command_past_its_deadline_is_the_retryable_timeout_and_ends_on_the_instance(
        ssh_target, client_key):
    async with connect(ssh_target, client_key) as remote:
        with pytest.raises(CommandTimedOut) as caught:
            await remote.run(["sleep", "17.25"], timeout=0.5)
    assert caught.value.retryable
    assert not _running(b"sleep\x0017.25\x00")  # a retry will not race the old attempt


def test_known_checksums_are_independent_of_rclone(tmp_path):
    expected = make_tree(tmp_path, big_size=10)
    assert expected["empty.log"] == hashlib.sha256(b"").hexdigest()
