"""One health check of one instance: what the provider says, what the endpoint answers, the verdict.

``observe`` makes the network calls (the caller holds no transaction); ``judge`` is pure: it
turns an observation and what the stored history says into healthy / waiting / unhealthy.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.repair import policy
from app.repair.endpoint import EndpointRefused, VettedEndpoint, vet_url
from app.repair.probe import ProbeResult, probe
from providers import errors
from providers.base import Instance as ProviderInstance, InstanceStatus, Provider, SupportsHealthCheck

GONE = "gone"
"""Stored as the provider status when the provider no longer knows the instance."""
NO_ANSWER = "error"
"""Stored as the provider status when the provider could not be asked (API error, no usable key)."""
UNSETTLED = (InstanceStatus.UNKNOWN.value, NO_ANSWER)
TRANSITIONS = (InstanceStatus.PROVISIONING.value, InstanceStatus.STOPPING.value, InstanceStatus.TERMINATING.value)

HEALTHY = "healthy"
WAITING = "waiting"
"""Not judged yet: booting, a state the provider will leave soon, or a failure not yet confirmed."""
UNHEALTHY = "unhealthy"
PARALLEL_PROBES = 8
"""Endpoint probes in flight at once within one batch (each waits up to the endpoint timeout)."""


@dataclass(frozen=True)
class Target:
    """What a check needs to know about an instance, read before the provider is called."""

    instance_id: int
    provider_instance_id: str
    status: str
    health_check_url: str | None


@dataclass(frozen=True)
class Observation:
    provider_status: str
    remote: ProviderInstance | None
    endpoint_ok: bool | None
    """None when there is no endpoint or it was not checked (the instance is not running)."""
    detail: str


@dataclass(frozen=True)
class Verdict:
    state: str
    problem: str | None
    """policy.FAILED | STOPPED | GONE | STUCK | ENDPOINT for an unhealthy instance."""
    reason: str


async def observe(provider: Provider | None, target: Target, *, no_provider_reason: str = "",
                  endpoint_timeout: float = 5.0) -> Observation:
    if target.status == InstanceStatus.TERMINATED.value:
        return Observation(GONE, None, None, "the instance was deleted at the provider")
    if provider is None:
        return Observation(NO_ANSWER, None, None, no_provider_reason or "no usable provider key")
    try:
        remote = await provider.get_instance(target.provider_instance_id)
    except errors.NotFound:
        return Observation(GONE, None, None, "the provider no longer knows this instance")
    except errors.ProviderError as exc:
        return Observation(NO_ANSWER, None, None, f"the provider did not answer ({exc.kind})")
    return await observe_answer(provider, target, remote, endpoint_timeout)


async def observe_many(provider: Provider | None, targets: list[Target], *, no_provider_reason: str = "",
                       endpoint_timeout: float = 5.0) -> list[Observation]:
    """``observe`` for several instances of one provider key, in the order given.

    One ``list_instances`` answers for all of them (one call instead of one per instance: kinder
    to the key's rate limit); one the list does not show is asked for on its own, as the sync
    does (some lists omit stopped instances). The provider's calls stay one at a time; probes
    of the user's own endpoints run concurrently (they do not call the provider)."""
    ended = InstanceStatus.TERMINATED.value
    if provider is None or sum(t.status != ended for t in targets) < 2:  # one instance: one get is cheaper
        return [await observe(provider, t, no_provider_reason=no_provider_reason, endpoint_timeout=endpoint_timeout)
                for t in targets]
    try:
        listed = {i.instance_id: i for i in await provider.list_instances()}
    except errors.ProviderError as exc:
        failed = Observation(NO_ANSWER, None, None, f"the provider did not answer ({exc.kind})")
        return [failed if t.status != ended else await observe(provider, t) for t in targets]
    unlisted = {t.instance_id: await observe(provider, t, endpoint_timeout=endpoint_timeout)
                for t in targets if t.status == ended or t.provider_instance_id not in listed}
    # The simulation answers health checks through its API: those are provider calls, one at a time.
    gate = asyncio.Semaphore(1 if isinstance(provider, SupportsHealthCheck) else PARALLEL_PROBES)

    async def one(target: Target) -> Observation:
        if target.instance_id in unlisted:
            return unlisted[target.instance_id]
        async with gate:
            return await observe_answer(provider, target, listed[target.provider_instance_id], endpoint_timeout)

    return list(await asyncio.gather(*(one(t) for t in targets)))


async def observe_answer(provider: Provider, target: Target, remote: ProviderInstance,
                         endpoint_timeout: float) -> Observation:
    """The observation once the provider has answered for the instance: its state, then the endpoint."""
    state = remote.status.value
    detail = f"the provider reports {state}" + (f" ({remote.raw_status})" if remote.raw_status and remote.raw_status != state else "")
    if remote.status != InstanceStatus.RUNNING or not target.health_check_url:
        return Observation(state, remote, None, detail)
    try:
        # The same gate as on save, for every provider: a stored URL that fails it now (DNS
        # changed, a row written some other way, stricter rules) is never connected to.
        vetted = await vet_url(target.health_check_url, timeout=endpoint_timeout)
    except EndpointRefused as exc:
        # Nor is a running instance repaired over it; the reason is on the instance page.
        return Observation(state, remote, None, f"{detail}; endpoint not checked: {exc}")
    result = await _check_endpoint(provider, target, vetted, endpoint_timeout)
    if result is None:
        return Observation(state, remote, None, f"{detail}; endpoint not checked: the provider did not answer")
    return Observation(state, remote, result.ok, f"{detail}; endpoint {vetted.endpoint.url}: {result.detail}")


async def _check_endpoint(provider: Provider, target: Target, vetted: VettedEndpoint,
                          timeout: float) -> ProbeResult | None:
    """The endpoint's answer; None when the provider that answers for it (a simulation) did not."""
    if isinstance(provider, SupportsHealthCheck):
        # A simulated instance has no real endpoint: its cloud answers, no socket is opened.
        try:
            answer = await provider.check_health(target.provider_instance_id, vetted.endpoint.url)
        except errors.ProviderError:
            return None
        return ProbeResult(answer.ok, answer.detail)
    return await probe(vetted, timeout)


def judge(observation: Observation, *, now: datetime, state_since: datetime, stopped_on_request: bool,
          endpoint_failures: int, endpoint_failures_needed: int, unknown_grace: timedelta) -> Verdict:
    """``state_since``: when the provider's current state began (from the stored checks);
    ``endpoint_failures``: consecutive failed endpoint checks, this one included."""
    status = observation.provider_status
    lasted = now - state_since
    if status in (GONE, InstanceStatus.TERMINATED.value):
        return Verdict(UNHEALTHY, policy.GONE, "the instance is gone at the provider")
    if status == InstanceStatus.FAILED.value:
        return Verdict(UNHEALTHY, policy.FAILED, "the provider reports it failed")
    if status == InstanceStatus.STOPPED.value:
        if stopped_on_request:
            return Verdict(HEALTHY, None, "stopped on request: auto-repair leaves it stopped")
        return Verdict(UNHEALTHY, policy.STOPPED, "it stopped without anyone asking")
    if status in UNSETTLED:
        if lasted >= unknown_grace:
            return Verdict(UNHEALTHY, policy.STUCK, f"no usable state from the provider for {_minutes(lasted)}")
        return Verdict(WAITING, None, "no usable state from the provider yet")
    if status == InstanceStatus.STOPPING.value and stopped_on_request:
        return Verdict(HEALTHY, None, "stopping on request: auto-repair leaves it stopped")
    if status in TRANSITIONS:
        if lasted >= policy.STUCK_TRANSITION:
            return Verdict(UNHEALTHY, policy.STUCK, f"{status} for {_minutes(lasted)}")
        return Verdict(WAITING, None, f"{status}: waiting for it to settle")
    if observation.endpoint_ok is False:
        if endpoint_failures >= endpoint_failures_needed:
            return Verdict(UNHEALTHY, policy.ENDPOINT, f"the health endpoint failed {endpoint_failures} checks in a row")
        return Verdict(WAITING, None, f"the health endpoint failed {endpoint_failures} of "
                                      f"{endpoint_failures_needed} checks in a row before a repair")
    return Verdict(HEALTHY, None, "running" + (" and the endpoint answers" if observation.endpoint_ok else ""))


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes else f"{int(delta.total_seconds())} s"
