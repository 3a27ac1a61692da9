"""The health endpoint decides for a running instance: N failed checks in a row and it is rebooted.

On the sandbox the simulated cloud answers for the endpoint (no connection is made; its
``health_failing`` fault makes it fail); at a real provider the endpoint is probed over the network.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest
import respx

from providers.base import LaunchRequest

from providers.sandbox import Faults, SandboxCloud, SandboxProvider, generate_api_key
from providers.sandbox.cloud import ApiError
from providers.sandbox.server import in_process_client
from tests.repair.support import (
    actions, checks, lambda_api, lambda_instance, let_loopback_through, reload, run_cycle, watched_instance,
)

SIMULATED = "(simulated by the sandbox, no connection made)"


async def test_a_failing_endpoint_gets_the_sandbox_instance_rebooted_after_three_checks(sessions, keyring, http, cloud,
                                                                                       clock, settings, pro):
    assert settings.repair.endpoint_failures == 3
    row = await watched_instance(sessions, keyring, http, clock, settings, pro, url="http://8.8.8.8:8080/health")
    await run_cycle(sessions, keyring, http, settings, clock)
    cloud.set_faults(pro.api_key, health_failing=True)  # the service on the instance hangs; the machine runs
    for _ in range(3):
        clock.advance(30)
        await run_cycle(sessions, keyring, http, settings, clock)

    found = await checks(sessions, row.id)
    assert [(c.healthy, c.endpoint_ok) for c in found] == [(True, True), (False, False), (False, False),
                                                           (False, False)]
    assert found[0].detail == ("the provider reports running; endpoint http://8.8.8.8:8080/health: the service on "
                               f"the instance answers {SIMULATED}")
    assert (f"endpoint http://8.8.8.8:8080/health: the service on the instance does not answer (injected fault) "
            f"{SIMULATED}") in found[1].detail
    assert found[1].detail.endswith("the health endpoint failed 1 of 3 checks in a row before a repair")
    assert [(a.attempt, a.action, a.result) for a in await actions(sessions, row.id)] == [(1, "reboot", "ok")]
    assert cloud.get_instance(pro.api_key, row.provider_instance_id)["status"] == "rebooting"

    cloud.set_faults(pro.api_key)  # the reboot helped
    clock.advance(30)
    await run_cycle(sessions, keyring, http, settings, clock)
    row = await reload(sessions, row.id)
    assert (row.status, row.repair_state) == ("running", "ok")
    assert (await checks(sessions, row.id))[-1].endpoint_ok is True


@pytest.mark.parametrize("failures_before", [0, 2])
async def test_a_healthy_answer_resets_the_count(sessions, keyring, http, cloud, clock, settings, pro, failures_before):
    row = await watched_instance(sessions, keyring, http, clock, settings, pro, url="tcp://8.8.8.8:22")
    for failing in [True] * failures_before + [False, True, True]:
        cloud.set_faults(pro.api_key, health_failing=failing)
        await run_cycle(sessions, keyring, http, settings, clock)
        clock.advance(30)
    assert await actions(sessions, row.id) == []


async def test_an_unanswered_simulated_check_is_not_a_failure(sessions, keyring, http, cloud, clock, settings, pro):
    row = await watched_instance(sessions, keyring, http, clock, settings, pro, url="tcp://8.8.8.8:22")
    calls = []

    def fails(api_key, instance_id):  # the sandbox API answers the instance, then 500 on the health call
        calls.append(instance_id)
        raise ApiError(500, "internal_error", "the sandbox had an internal error (injected)")

    cloud.health = fails
    await run_cycle(sessions, keyring, http, settings, clock)
    [check] = await checks(sessions, row.id)
    assert calls == [row.provider_instance_id]
    assert (check.healthy, check.endpoint_ok) == (True, None)
    assert check.detail == "the provider reports running; endpoint not checked: the provider did not answer"


async def test_the_sandbox_answers_health_over_its_api_and_faults_switch_it(clock):

    cloud, key = SandboxCloud(clock=clock), generate_api_key()
    provider = SandboxProvider.on_cloud(cloud, key)
    created = await provider.create_instance(LaunchRequest(name="h", instance_type="sbx.h100.1x",
                                                           region="sandbox-eu-1"))
    assert not (await provider.check_health(created.instance_id, "tcp://8.8.8.8:22")).ok  # still booting
    clock.advance(cloud.timings.boot + 1)
    assert (await provider.check_health(created.instance_id, "tcp://8.8.8.8:22")).ok

    async with in_process_client(cloud) as api:  # the demo's switch: PUT /v1/faults
        headers = {"Authorization": f"Bearer {key}"}
        response = await api.put("https://api.sandbox.computehub.invalid/v1/faults", json={"health_failing": True},
                                 headers=headers)
        assert response.status_code == 200 and response.json()["health_failing"] is True
        body = (await api.get(f"https://api.sandbox.computehub.invalid/v1/instances/{created.instance_id}/health",
                              headers=headers)).json()
    assert body == {"healthy": False, "detail": "the service on the instance does not answer (injected fault)"}
    assert cloud.faults(key) == Faults(health_failing=True)
    assert not (await provider.check_health(created.instance_id, "tcp://8.8.8.8:22")).ok


# ---- a real provider: the endpoint is probed over the network ---------------------------------

@asynccontextmanager
async def health_server():
    state = {"status": 200, "requests": []}

    async def handle(reader, writer):
        state["requests"].append((await reader.readuntil(b"\r\n\r\n")).decode("latin-1"))
        writer.write(f"HTTP/1.1 {state['status']} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    state["port"] = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


async def test_at_a_real_provider_the_endpoint_is_probed(sessions, keyring, http, cloud, clock, settings, pro,
                                                         monkeypatch):
    let_loopback_through(monkeypatch)  # this test's server is on this machine; the vetting itself still runs
    async with health_server() as server:
        row = await lambda_instance(sessions, keyring, pro, auto_repair=True,
                                    url=f"http://gpu.example.com:{server['port']}/health")
        with respx.mock(assert_all_called=False) as router:
            lambda_api(router)
            router.route(host="127.0.0.1").pass_through()
            await run_cycle(sessions, keyring, http, settings, clock)
            server["status"] = 503
            clock.advance(30)
            await run_cycle(sessions, keyring, http, settings, clock)

    found = await checks(sessions, row.id)
    assert [(c.healthy, c.endpoint_ok) for c in found] == [(True, True), (False, False)]
    assert found[0].detail == (f"the provider reports running (active); "
                               f"endpoint http://gpu.example.com:{server['port']}/health: HTTP 200")
    assert len(server["requests"]) == 2
    assert f"host: gpu.example.com:{server['port']}" in server["requests"][0].lower()
