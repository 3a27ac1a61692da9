"""`computehub run --workers 2`: two web processes and a worker process behind one port; a login
made through one process is valid in the other (sessions in the database), the sandbox is shared."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {**os.environ, "COMPUTEHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
           "COMPUTEHUB_VAR_DIR": str(tmp_path / "var"), "COMPUTEHUB_DEMO_ACCOUNT": "true",
           "COMPUTEHUB_SANDBOX_STORE": "database", "COMPUTEHUB_POLLING": "false",
           "COMPUTEHUB_LOAD_SNAPSHOT": "false", "COMPUTEHUB_SESSION_STORE": "memory"}
    process = subprocess.Popen([sys.executable, "-m", "app.cli.main", "run", "--port", str(port), "--workers", "2"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
        if process.poll() is not None:
            raise AssertionError(process.stdout.read())
    else:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError("the server did not get ready")
    yield base, process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def serving_pids(process: subprocess.Popen) -> set[int]:
    """The python processes in the server's session (supervisor, web processes, job worker)."""
    out = subprocess.run(["ps", "-o", "pid=,sid=,args=", "-e"], capture_output=True, text=True).stdout
    return {int(line.split()[0]) for line in out.splitlines()
            if line.split()[1] == str(process.pid) and "python" in line}


def test_two_web_processes_share_logins(server):
    base, process = server
    # The supervisor, two web processes, the job worker (and multiprocessing's resource tracker).
    assert len(serving_pids(process)) >= 4
    with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as client:
        token = CSRF.search(client.get("/login").text).group(1)
        login = client.post("/login", data={"email": "demo@computehub.local", "password": "demo-password-123",
                                            "_csrf_token": token})
        assert login.status_code in (302, 303), login.text[:300]
        cookies = dict(client.cookies)
    # New connections, so the kernel hands them to either web process: every one knows the login.
    answers = []
    for _ in range(24):
        with httpx.Client(base_url=base, cookies=cookies, follow_redirects=False, timeout=10) as fresh:
            answers.append(fresh.get("/console").status_code)
    assert answers == [200] * 24
