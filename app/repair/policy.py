"""When to try again, how often, and which repair step fits which failure."""

from __future__ import annotations

from datetime import timedelta

from providers.base import Provider, SupportsReboot, SupportsStart

BACKOFF_MINUTES: tuple[int, ...] = (1, 2, 5, 10, 30)
"""The wait after attempt n before the next step: attempt 1 runs as soon as a failure is seen,
attempt 2 one minute later, then 2, 5 and 10 minutes; after the last attempt the instance gets
30 minutes to recover before auto-repair gives up."""
STUCK_TRANSITION = timedelta(minutes=15)
"""A boot, stop or delete that has not finished after this long counts as a failure."""

# What went wrong (checks.Verdict.problem).
FAILED = "failed"
STOPPED = "stopped"
GONE = "gone"
STUCK = "stuck"
ENDPOINT = "endpoint"


def wait_after(attempt: int) -> timedelta:
    """The pause after ``attempt`` (1-based); attempts beyond the schedule wait its last step."""
    return timedelta(minutes=BACKOFF_MINUTES[min(attempt, len(BACKOFF_MINUTES)) - 1])


def choose_step(problem: str, provider_cls: type[Provider] | None) -> str:
    """start | reboot | replace: the gentlest step the provider's API allows for this problem.

    Replacing (a new instance from the same spec, the old one deleted) is the last resort: for an
    instance that is gone, or a provider that cannot start or reboot.
    """
    if problem in (FAILED, STOPPED) and provider_cls is not None and issubclass(provider_cls, SupportsStart):
        return "start"
    if problem in (ENDPOINT, STUCK) and provider_cls is not None and issubclass(provider_cls, SupportsReboot):
        return "reboot"
    return "replace"
