"""One lifecycle contract, every provider adapter, each with its recorded responses.

A provider joins by recording ``tests/fixtures/<name>/lifecycle.json`` (format and required
scenarios: ``tests/support/lifecycle.py``); these tests then run it like every other one.
The simulated ``sandbox`` records one as well and is also tested live in ``tests/sandbox/``.
"""

from __future__ import annotations

import dataclasses

import pytest

from providers.base import InstanceStatus, Provider, unsupported_reason
from providers.errors import NotFound
from providers.registry import SIMULATED, SOURCES, get_source_class, provider_names
from providers.sandbox import SandboxProvider
from tests.support.lifecycle import (
    EXPECTED_ERRORS,
    INSTANCE_ID_CALLS,
    OPTIONAL_OPERATIONS,
    REQUIRED,
    is_subset,
    load_lifecycle,
    providers_with_fixtures,
    run_scenario,
    runnable_scenarios,
)

WITH_FIXTURES = providers_with_fixtures()


def test_every_provider_has_a_lifecycle_recording():
    uncovered = [
        name for name in provider_names(sandbox_enabled=True)
        if name not in WITH_FIXTURES and name not in SIMULATED
    ]
    assert uncovered == [], "Provider adapters without tests/fixtures/<name>/lifecycle.json"


@pytest.mark.parametrize("name", WITH_FIXTURES)
def test_lifecycle_recording_belongs_to_a_provider(name):
    assert name in SOURCES or name in SIMULATED, f"tests/fixtures/{name}/lifecycle.json names no registered source"
    assert issubclass(get_source_class(name), Provider), f"{name} records a lifecycle but is not a Provider"


@pytest.mark.parametrize("name", WITH_FIXTURES)
def test_lifecycle_recording_is_complete(name):
    cls = get_source_class(name)
    scenarios = load_lifecycle(name).scenarios
    missing = REQUIRED - set(scenarios)
    assert not missing, f"missing scenarios: {sorted(missing)}"

    for operation in OPTIONAL_OPERATIONS:
        reason = unsupported_reason(cls, operation)
        if reason is None:
            assert operation in scenarios, f"{cls.__name__} can {operation}: record a {operation!r} scenario"
        else:
            assert operation not in scenarios, f"{cls.__name__} cannot {operation}, yet records it"
            assert isinstance(reason, str) and reason.strip()

    for scenario_name, error in EXPECTED_ERRORS.items():
        scenario = scenarios[scenario_name]
        if scenario.not_applicable is not None:
            assert scenario_name == "create_quota", f"{scenario_name} is required for every provider"
            assert len(scenario.not_applicable) > 20, "say why this provider has no such error"
            continue
        assert scenario.expect.get("raises") == error, f"{scenario_name} must raise {error}"
    assert "retry_after" in scenarios["rate_limited"].expect, "pin the Retry-After the adapter reads"

    listed = scenarios["list"].expect.get("instances", [])
    assert listed, "pin the instances the list scenario returns"
    assert all({"instance_id", "status", "raw_status"} <= set(i) for i in listed), "pin statuses, raw and mapped"
    assert scenarios["get"].expect.get("instance"), "pin the instance get returns"
    assert scenarios["create"].expect.get("instance"), "pin the instance create returns"
    assert any("expect_json" in r for r in scenarios["create"].spec.get("routes", [])), (
        "create must assert the request body it sends (expect_json)"
    )
    assert scenarios["unknown_status"].expect.get("instance", {}).get("status") == "unknown"
    for success in ("terminate", "terminate_missing", *OPTIONAL_OPERATIONS):
        if success in scenarios:
            assert "raises" not in scenarios[success].expect, f"{success} succeeds"
    for scenario in scenarios.values():
        if scenario.not_applicable is None and scenario.call in INSTANCE_ID_CALLS:
            assert scenario.spec.get("instance_id"), f"{scenario.name} needs an instance_id"


@pytest.mark.parametrize("name,scenario_name", runnable_scenarios())
async def test_lifecycle_scenario(name, scenario_name):
    fixture = load_lifecycle(name)
    await run_scenario(fixture.scenarios[scenario_name], fixture.credentials)


# -- the harness itself must be able to fail: broken adapters on the sandbox's recording -----


class _ForgetsCrashed(SandboxProvider):
    STATUS_MAP = {k: v for k, v in SandboxProvider.STATUS_MAP.items() if k != "crashed"}


class _TerminateNotIdempotent(SandboxProvider):
    async def terminate_instance(self, instance_id: str) -> None:
        await self.client.delete_instance(instance_id)


class _DropsClientToken(SandboxProvider):
    async def create_instance(self, request):
        return await super().create_instance(dataclasses.replace(request, client_token=""))


class _GuessesUnknownStatuses(SandboxProvider):
    async def get_instance(self, instance_id: str):
        instance = await super().get_instance(instance_id)
        if instance.status is InstanceStatus.UNKNOWN:
            return dataclasses.replace(instance, status=InstanceStatus.RUNNING)
        return instance


@pytest.mark.parametrize(
    "broken,scenario_name,raised,message",
    [
        (_ForgetsCrashed, "list", AssertionError, "status: expected 'failed'"),
        (_TerminateNotIdempotent, "terminate_missing", NotFound, "no instance"),
        (_DropsClientToken, "create", AssertionError, "expected at least"),
        (_GuessesUnknownStatuses, "unknown_status", AssertionError, "status: expected 'unknown'"),
    ],
)
async def test_harness_catches_a_broken_adapter(broken, scenario_name, raised, message):
    fixture = load_lifecycle("sandbox")
    with pytest.raises(raised, match=message):
        await run_scenario(
            fixture.scenarios[scenario_name], fixture.credentials,
            build=lambda name, http, credentials: broken.over_http(http, credentials),
        )


def test_body_subset_is_deep_and_strict_on_lists():
    assert is_subset({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}, "d": 3})
    assert not is_subset({"a": {"b": 1}}, {"a": {"b": 2}})
    assert not is_subset({"ids": ["x"]}, {"ids": ["x", "y"]})
    assert not is_subset({"a": 1}, None)
