"""The instance-lifecycle contract, replayed from recorded responses.

Every provider adapter (a ``Provider`` subclass) records ``tests/fixtures/<name>/lifecycle.json``;
``tests/contract/test_lifecycle.py`` then runs each scenario against the real adapter with respx.
Write the responses in the exact shapes of the provider's documented API (your own values,
never copied payloads).

Format::

    {
      "credentials": {"api_key": "..."},        # optional; default: cls.test_credentials()
      "scenarios": {
        "<scenario>": {
          "call": "get_instance",               # optional for the required scenarios below
          "instance_id": "i-123",               # for get/terminate/start/stop/reboot
          "launch": {"name": "...", "instance_type": "...", "region": "...",
                     "client_token": "...", ...},   # LaunchRequest fields, for create_instance
          "routes": [                           # as in tests/support/recorded.py, plus:
            {"method": "POST", "url": "https://.../instances", "status": 201,
             "json": {...} | "file": "x.json" | "text": "...", "headers": {...},
             "expect_json": {...}}              # the JSON body the adapter must have sent
          ],                                    #   (a deep subset: only the keys you list)
          "expect": {
            "raises": "NotFound",               # a providers.errors class name
            "retry_after": 7,                   # with RateLimited
            "instance": {"instance_id": "i-123", "status": "running", "raw_status": "active",
                         "price_per_hour": "2.49", ...},   # pinned Instance fields
            "instances": [{...}, ...],          # list: pinned instances, matched by instance_id
            "count": 3                          # list: how many instances in all
          }
        },
        "create_quota": {"not_applicable": "why this provider has no quota error (> 20 chars)"}
      }
    }

Every route must be called (a stale recording fails), and a request no route matches fails too.
Routes are tried in the listed order; list the most specific first. Pinned Instance fields
compare ``status`` by value, ``price_per_hour``/``gpu_count`` as Decimal strings, ``created_at``
as an ISO 8601 string; the rest as plain JSON values.

Required scenarios (the default ``call`` in brackets):

- ``list`` [list_instances]: pin several instances with their ``status`` and ``raw_status``.
- ``get`` [get_instance], ``get_missing`` [get_instance] -> ``NotFound``.
- ``create`` [create_instance]: at least one route with ``expect_json`` (the body sent).
- ``create_no_capacity`` -> ``NoCapacity``; ``create_quota`` -> ``QuotaExceeded``, or
  ``not_applicable`` with the reason.
- ``bad_key`` [verify_credentials] -> ``InvalidCredentials``.
- ``rate_limited`` [list_instances] -> ``RateLimited`` with ``retry_after``.
- ``terminate`` [terminate_instance]; ``terminate_missing``: the provider says "not found" and
  the adapter returns normally (terminating is idempotent).
- ``unknown_status`` [get_instance]: a raw status the adapter does not know -> ``unknown``.
- ``start``/``stop``/``reboot`` [start_instance/...]: required when the adapter has the
  ``SupportsStart``/``SupportsStop``/``SupportsReboot`` mixin, forbidden when it has not
  (then ``providers.base.unsupported_reason`` must give the console a reason).

Any other scenario name is run too; it must say its ``call``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from providers import errors
from providers.base import Instance, InstanceStatus, LaunchRequest, Provider
from providers.registry import SIMULATED, get_source_class
from tests.support.recorded import FIXTURES, Scenario, mount

FILENAME = "lifecycle.json"

DEFAULT_CALLS: dict[str, str] = {
    "list": "list_instances",
    "get": "get_instance",
    "get_missing": "get_instance",
    "unknown_status": "get_instance",
    "create": "create_instance",
    "create_no_capacity": "create_instance",
    "create_quota": "create_instance",
    "bad_key": "verify_credentials",
    "rate_limited": "list_instances",
    "terminate": "terminate_instance",
    "terminate_missing": "terminate_instance",
    "start": "start_instance",
    "stop": "stop_instance",
    "reboot": "reboot_instance",
}
REQUIRED = {
    "list", "get", "get_missing", "create", "create_no_capacity", "create_quota", "bad_key",
    "rate_limited", "terminate", "terminate_missing", "unknown_status",
}
OPTIONAL_OPERATIONS = ("start", "stop", "reboot")
EXPECTED_ERRORS = {
    "get_missing": "NotFound",
    "create_no_capacity": "NoCapacity",
    "create_quota": "QuotaExceeded",
    "bad_key": "InvalidCredentials",
    "rate_limited": "RateLimited",
}
INSTANCE_ID_CALLS = {"get_instance", "terminate_instance", "start_instance", "stop_instance", "reboot_instance"}


@dataclass
class LifecycleScenario:
    provider: str
    name: str
    spec: dict[str, Any]

    @property
    def call(self) -> str:
        return self.spec.get("call") or DEFAULT_CALLS[self.name]

    @property
    def expect(self) -> dict[str, Any]:
        return self.spec.get("expect", {})

    @property
    def not_applicable(self) -> str | None:
        return self.spec.get("not_applicable")

    def as_recorded(self) -> Scenario:
        return Scenario(self.provider, self.name, self.spec)


@dataclass
class LifecycleFixture:
    provider: str
    credentials: dict[str, str] | None
    scenarios: dict[str, LifecycleScenario]


def providers_with_fixtures() -> list[str]:
    """Directory names under tests/fixtures/ holding a lifecycle.json (no adapter is imported)."""
    return sorted(p.parent.name for p in FIXTURES.glob(f"*/{FILENAME}"))


def load_lifecycle(provider: str) -> LifecycleFixture:
    data = json.loads((FIXTURES / provider / FILENAME).read_text())
    scenarios = {name: LifecycleScenario(provider, name, spec) for name, spec in data["scenarios"].items()}
    return LifecycleFixture(provider, data.get("credentials"), scenarios)


def runnable_scenarios() -> list[tuple[str, str]]:
    return [
        (provider, name)
        for provider in providers_with_fixtures()
        for name, scenario in sorted(load_lifecycle(provider).scenarios.items())
        if scenario.not_applicable is None
    ]


def make_provider(name: str, http: httpx.AsyncClient, credentials: Mapping[str, str] | None = None) -> Provider:
    cls = get_source_class(name)
    assert issubclass(cls, Provider), f"{name} has a lifecycle.json but its adapter is not a Provider"
    credentials = credentials if credentials is not None else cls.test_credentials()
    if name in SIMULATED:
        # A simulated cloud serves itself in-process unless told to use plain HTTP (here: respx).
        return cls.over_http(http, credentials)
    return cls(http, credentials)


async def invoke(provider: Provider, scenario: LifecycleScenario) -> Any:
    method = getattr(provider, scenario.call)
    if scenario.call in INSTANCE_ID_CALLS:
        return await method(scenario.spec["instance_id"])
    if scenario.call == "create_instance":
        return await method(LaunchRequest(**scenario.spec["launch"]))
    return await method()


def error_class(name: str) -> type[errors.ProviderError]:
    cls = getattr(errors, name, None)
    assert isinstance(cls, type) and issubclass(cls, errors.ProviderError), f"unknown error type {name!r}"
    return cls


# -- checks on what the adapter returned and sent -----------------------------------------


def assert_well_formed(provider: Provider, instance: Any) -> None:
    assert isinstance(instance, Instance), f"expected an Instance, got {type(instance).__name__}"
    assert instance.provider == provider.NAME
    assert isinstance(instance.instance_id, str) and instance.instance_id
    assert isinstance(instance.status, InstanceStatus)
    assert isinstance(instance.raw_status, str)
    status_map = provider.STATUS_MAP
    if instance.raw_status in status_map:
        assert instance.status == status_map[instance.raw_status], "status disagrees with STATUS_MAP"
    assert isinstance(instance.gpu_count, Decimal) and instance.gpu_count >= 0
    if instance.price_per_hour is not None:
        assert isinstance(instance.price_per_hour, Decimal) and instance.price_per_hour >= 0
    if instance.created_at is not None:
        assert instance.created_at.utcoffset() is not None, "created_at must be timezone-aware"


def _field_matches(instance: Instance, key: str, wanted: Any) -> bool:
    actual = getattr(instance, key)
    if key == "status":
        return actual.value == wanted
    if key in ("price_per_hour", "gpu_count"):
        return actual == (None if wanted is None else Decimal(str(wanted)))
    if key == "created_at":
        return actual == (None if wanted is None else datetime.fromisoformat(wanted))
    return actual == wanted


def mismatches(instance: Instance, wanted: Mapping[str, Any]) -> list[str]:
    """The pinned fields that differ, as readable lines (empty when everything matches)."""
    return [
        f"{key}: expected {value!r}, got {getattr(instance, key)!r}"
        for key, value in wanted.items()
        if not _field_matches(instance, key, value)
    ]


def assert_instance(instance: Instance, wanted: Mapping[str, Any]) -> None:
    problems = mismatches(instance, wanted)
    assert not problems, f"{instance.instance_id}: " + "; ".join(problems)


def assert_instances(instances: list[Instance], expect: Mapping[str, Any]) -> None:
    if "count" in expect:
        assert len(instances) == expect["count"], [i.instance_id for i in instances]
    by_id = {i.instance_id: i for i in instances}
    assert len(by_id) == len(instances), "duplicate instance ids in one listing"
    for wanted in expect.get("instances", []):
        found = by_id.get(wanted["instance_id"])
        assert found is not None, f"no instance {wanted['instance_id']!r} in {sorted(by_id)}"
        assert_instance(found, wanted)


def is_subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and is_subset(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(is_subset(e, a) for e, a in zip(expected, actual)))
    return expected == actual


def assert_sent_bodies(scenario: LifecycleScenario, routes: list[respx.Route]) -> None:
    for spec, route in zip(scenario.spec.get("routes", []), routes):
        if "expect_json" not in spec:
            continue
        request = route.calls.last.request
        sent = json.loads(request.content) if request.content else None
        assert is_subset(spec["expect_json"], sent), (
            f"{spec['method']} {spec['url']}: sent {sent!r}, expected at least {spec['expect_json']!r}"
        )


ProviderFactory = Callable[[str, httpx.AsyncClient, "Mapping[str, str] | None"], Provider]


async def run_scenario(
    scenario: LifecycleScenario,
    credentials: Mapping[str, str] | None = None,
    build: ProviderFactory = make_provider,
) -> None:
    """Replay one scenario against a fresh adapter and check everything it returned and sent."""
    name, expect = scenario.provider, scenario.expect
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        routes = mount(router, scenario.as_recorded())
        async with httpx.AsyncClient(timeout=5) as http:
            provider = build(name, http, credentials)
            if "raises" in expect:
                with pytest.raises(error_class(expect["raises"])) as caught:
                    await invoke(provider, scenario)
                error = caught.value
                if "retry_after" in expect:
                    assert error.retry_after == expect["retry_after"]
                for secret in provider.credentials.values():
                    assert secret not in str(error), "a key leaked into an error message"
                result = None
            else:
                result = await invoke(provider, scenario)
    assert_sent_bodies(scenario, routes)
    if "raises" in expect:
        return
    if scenario.call == "list_instances":
        assert isinstance(result, list)
        for instance in result:
            assert_well_formed(provider, instance)
        assert_instances(result, expect)
    elif scenario.call in ("get_instance", "create_instance"):
        assert_well_formed(provider, result)
        assert_instance(result, expect.get("instance", {}))
    else:
        assert result is None, f"{scenario.call} returns nothing"
