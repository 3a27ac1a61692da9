"""push → pull → verify between two sandbox instances (two regions), over their simulated file
systems and the demo's local bucket, with the sandbox's sync faults."""

from __future__ import annotations

import os

import pytest

from app.migration import ChecksumMismatch, CommandFailed, SyncRoot, Unreachable, pull, push, verify
from app.migration.buckets import BucketKind, BucketSpec
from app.migration.remote import InstancePath
from app.migration.sandbox import SandboxRemote
from providers.sandbox import SandboxCloud, Timings, generate_api_key
from providers.sandbox.clock import ManualClock
from providers.sandbox.disk import bucket_directory
from tests.migration.conftest import require_tool
from tests.migration.trees import hashes_of, make_tree

PREFIX = "mig-7"
ROOTS = [SyncRoot("/workspace/checkpoints", "/home/ubuntu/checkpoints")]


@pytest.fixture
def cloud() -> SandboxCloud:
    require_tool("rclone")
    return SandboxCloud(clock=ManualClock(), timings=Timings().scaled(0))


@pytest.fixture
def api_key() -> str:
    return generate_api_key()


def _launch(cloud: SandboxCloud, api_key: str, region: str) -> str:
    instance, _ = cloud.create_instance(api_key, {"name": f"train-{region}", "instance_type": "sbx.h100.1x",
                                                  "region": region})
    return instance["id"]


@pytest.fixture
def pair(cloud, api_key, tmp_path):
    """(source remote, target remote, bucket, expected hashes) with the source's files written."""
    source = SandboxRemote(cloud, api_key, _launch(cloud, api_key, "sandbox-eu-1"), tmp_path)
    target = SandboxRemote(cloud, api_key, _launch(cloud, api_key, "sandbox-us-1"), tmp_path)
    expected = make_tree(source.disk.host_path("/workspace/checkpoints"), big_size=256 * 1024)
    bucket = BucketSpec(BucketKind.LOCAL, directory=str(bucket_directory(tmp_path)), prefix="user-7")
    return source, target, bucket, expected


async def test_real_bytes_move_between_two_sandbox_instances(pair):
    source, target, bucket, expected = pair
    manifest = await push(source, ROOTS, bucket, PREFIX)
    await push(source, ROOTS, bucket, PREFIX)  # idempotent
    progress = []
    await pull(target, bucket, PREFIX, ROOTS, on_progress=progress.append)
    await verify(target, manifest)
    assert progress[-1].bytes_done == manifest.total_bytes and progress[-1].files_done == len(expected)
    assert hashes_of(target.disk.host_path("/home/ubuntu/checkpoints")) == expected
    assert hashes_of(bucket_directory(source.data_dir) / "user-7" / PREFIX / "data/workspace/checkpoints") == expected
    assert not target.disk.host_path("/workspace").exists()  # nothing landed outside the target root


async def test_sync_fails_halfway_then_the_same_call_completes(pair, cloud, api_key):
    source, target, bucket, expected = pair
    cloud.set_faults(api_key, sync_fails_halfway=True)
    with pytest.raises(CommandFailed) as caught:
        await push(source, ROOTS, bucket, PREFIX)
    assert "halfway" in str(caught.value) and not caught.value.retryable
    copied = hashes_of(bucket_directory(source.data_dir) / "user-7" / PREFIX / "data/workspace/checkpoints")
    assert 0 < len(copied) < len(expected)  # real bytes, half of them

    cloud.set_faults(api_key)  # the switch off: the retried step converges
    manifest = await push(source, ROOTS, bucket, PREFIX)
    cloud.set_faults(api_key, sync_fails_halfway=True)
    with pytest.raises(CommandFailed):
        await pull(target, bucket, PREFIX, ROOTS)
    cloud.set_faults(api_key)
    await pull(target, bucket, PREFIX, ROOTS)
    await verify(target, manifest)
    assert hashes_of(target.disk.host_path("/home/ubuntu/checkpoints")) == expected


async def test_checksum_mismatch_fault_fails_verification_naming_the_file(pair, cloud, api_key):
    source, target, bucket, expected = pair
    manifest = await push(source, ROOTS, bucket, PREFIX)
    cloud.set_faults(api_key, checksum_mismatch=True)
    await pull(target, bucket, PREFIX, ROOTS)  # the copy itself reports success
    with pytest.raises(ChecksumMismatch) as caught:
        await verify(target, manifest)
    assert len(caught.value.files) == 1
    (bad,) = caught.value.files
    assert bad.startswith("/home/ubuntu/checkpoints/")
    rel = bad.removeprefix("/home/ubuntu/checkpoints/")
    assert hashes_of(target.disk.host_path("/home/ubuntu/checkpoints"))[rel] != expected[rel]

    cloud.set_faults(api_key)
    await pull(target, bucket, PREFIX, ROOTS)  # compared by checksum: the retry repairs it
    await verify(target, manifest)


async def test_a_stopped_instance_is_unreachable(pair, cloud, api_key):
    source, _, bucket, _ = pair
    cloud.act(api_key, source.instance_id, "stop")
    with pytest.raises(Unreachable) as caught:
        await push(source, ROOTS, bucket, PREFIX)
    assert caught.value.retryable


async def test_no_path_escapes_the_instance(pair, tmp_path):
    source, _, _, _ = pair
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host file")
    os.symlink(outside, source.disk.host_path("/workspace/link"))

    async def lsjson(arg):
        return await source.run(["rclone", "lsjson", "-R", arg], timeout=30, secret_env={"RCLONE_CONFIG": "/dev/null"})

    for escape in (InstancePath("/workspace/link"), InstancePath("/workspace/../.."), InstancePath("workspace"),
                   str(outside), "chbucket:" + str(outside)):
        result = await lsjson(escape)
        assert result.exit_status != 0 and "secret.txt" not in result.stdout, escape
    assert (await source.run(["cat", "/etc/passwd"], timeout=5)).exit_status == 127
    follow = await source.run(["rclone", "lsjson", "-R", "--copy-links", InstancePath("/workspace")], timeout=30)
    assert follow.exit_status != 0 and "secret.txt" not in follow.stdout
    assert "secret.txt" not in (await lsjson(InstancePath("/workspace"))).stdout  # rclone skips the symlink


async def test_a_sandbox_instance_never_reaches_an_s3_endpoint(pair):
    source, _, _, _ = pair
    s3 = BucketSpec(BucketKind.S3_TEST, bucket="ckpt", endpoint="http://127.0.0.1:9", access_key_id="k",
                    secret_access_key="s")
    with pytest.raises(CommandFailed, match="no network"):
        await push(source, ROOTS, s3, PREFIX)
