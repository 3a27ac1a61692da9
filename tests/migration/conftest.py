"""Real components for the data-sync tests: an OpenSSH server on 127.0.0.1 (its own host key and
config, the workspace key as its only authorized key), a moto S3 server, and Debian's rclone.
With CI=true a missing sshd or rclone fails the run instead of skipping it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import asyncssh
import pytest

from app.migration.buckets import BucketKind, BucketSpec
from app.migration.keys import generate_workspace_key, load_private_key
from app.migration.ssh import SshRemote, SshTarget
from app.security.keyring import Keyring, generate_key_spec
from tests.conftest import IN_CI

SSHD = "/usr/sbin/sshd"


def require_tool(path_or_name: str) -> str:
    found = shutil.which(path_or_name)
    if found is None:
        message = f"{path_or_name} is not installed (.ci/run installs openssh-server and rclone)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring.from_spec(generate_key_spec("test1"))


@pytest.fixture(scope="session")
def workspace_key(keyring):
    return generate_workspace_key(keyring, "user:7")


@pytest.fixture(scope="session")
def client_key(keyring, workspace_key) -> asyncssh.SSHKey:
    return load_private_key(keyring, workspace_key)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory, workspace_key):
    """An sshd whose only authorized key is the workspace's public line; yields (port, host key line)."""
    sshd_path = require_tool(SSHD)
    require_tool("rclone")
    home = tmp_path_factory.mktemp("sshd")
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    (home / "host_ed25519").write_bytes(host_key.export_private_key("openssh"))
    (home / "host_ed25519").chmod(0o600)
    (home / "authorized_keys").write_text(workspace_key.public_line + "\n")
    port = free_port()
    (home / "sshd_config").write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {home / 'host_ed25519'}",
        f"AuthorizedKeysFile {home / 'authorized_keys'}", f"PidFile {home / 'sshd.pid'}",
        "UsePAM no", "StrictModes no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes", "PermitRootLogin prohibit-password", "LogLevel ERROR", "",
    ]))
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # its privilege-separation directory
    proc = subprocess.Popen([sshd_path, "-D", "-e", "-f", str(home / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, proc)
        yield port, host_key.export_public_key("openssh").decode().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server():
    """moto in server mode on a free loopback port; yields its endpoint."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server, request) -> BucketSpec:
    name = "mig-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    return BucketSpec(BucketKind.S3_TEST, bucket=name, prefix="computehub/user-7", region="us-east-1",
                      endpoint=s3_server, access_key_id="testing", secret_access_key="testing-secret")


@pytest.fixture
def boto_s3(s3_server):
    import boto3

    return boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing-secret")


@pytest.fixture
def ssh_target(sshd) -> SshTarget:
    port, host_key = sshd
    return SshTarget("127.0.0.1", port, "root", pinned_host_key=host_key)


def connect(target: SshTarget, client_key):
    return SshRemote.connect(target, client_key, connect_timeout=5)

