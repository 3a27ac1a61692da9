"""The sandbox cloud's state outlives the process that made it, and other processes see it.

Each step runs in its own Python process through ``get_cloud()``, as the web app and the worker do;
the first is killed with SIGKILL right after its launch, the way a crash would end it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from providers.sandbox import generate_api_key
from tests.sandbox.conftest import _sandbox_database

ROOT = Path(__file__).resolve().parents[2]


def run_in_new_process(database_url: str, code: str, *, kill_after_output: bool = False) -> dict:
    env = {**os.environ, "COMPUTEHUB_DATABASE_URL": database_url, "COMPUTEHUB_SANDBOX_STORE": "database",
           "COMPUTEHUB_SANDBOX_TIME_SCALE": "0"}
    script = "import json, sys, time\nfrom providers.sandbox import get_cloud\ncloud = get_cloud()\n" + textwrap.dedent(code)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if kill_after_output:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    if not line:
        raise AssertionError(process.stderr.read())
    if kill_after_output:
        assert process.returncode == -signal.SIGKILL
    return json.loads(line)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_instances_survive_a_killed_process_and_every_process_sees_them(kind, tmp_path_factory):
    database_url = _sandbox_database(kind, tmp_path_factory)
    key = generate_api_key()
    launched = run_in_new_process(database_url, f"""
        running, _ = cloud.create_instance({key!r}, {{"name": "kept", "instance_type": "sbx.h100.1x",
                                                     "region": "sandbox-eu-1", "client_token": "tok-1"}})
        stopped, _ = cloud.create_instance({key!r}, {{"name": "paused", "instance_type": "sbx.h100.1x",
                                                     "region": "sandbox-eu-1"}})
        cloud.get_instance({key!r}, stopped["id"])  # settles: running (time scale 0)
        cloud.act({key!r}, stopped["id"], "stop")
        cloud.set_faults({key!r}, quota=3)
        print(json.dumps({{"running": running["id"], "stopped": stopped["id"]}}), flush=True)
        time.sleep(60)  # killed here
    """, kill_after_output=True)

    seen = run_in_new_process(database_url, f"""
        listed = {{i["id"]: i for i in cloud.list_instances({key!r})}}
        again, created = cloud.create_instance({key!r}, {{"name": "kept", "instance_type": "sbx.h100.1x",
                                                         "region": "sandbox-eu-1", "client_token": "tok-1"}})
        print(json.dumps({{"statuses": {{k: v["status"] for k, v in listed.items()}}, "names": sorted(
            v["name"] for v in listed.values()), "quota": cloud.faults({key!r}).quota,
            "retried_launch": [again["id"], created]}}), flush=True)
    """)
    assert seen["statuses"] == {launched["running"]: "running", launched["stopped"]: "stopped"}
    assert seen["names"] == ["kept", "paused"]
    assert seen["quota"] == 3
    # The launch retried with the same client token finds the instance made before the crash.
    assert seen["retried_launch"] == [launched["running"], False]


def test_another_account_sees_none_of_it(tmp_path_factory):
    database_url = _sandbox_database("sqlite", tmp_path_factory)
    mine, theirs = generate_api_key(), generate_api_key()
    run_in_new_process(database_url, f"""
        cloud.create_instance({mine!r}, {{"name": "mine", "instance_type": "sbx.h100.1x", "region": "sandbox-eu-1"}})
        print("{{}}", flush=True)
    """)
    assert run_in_new_process(database_url, f"""
        print(json.dumps({{"theirs": cloud.list_instances({theirs!r})}}), flush=True)
    """) == {"theirs": []}
