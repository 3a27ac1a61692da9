"""A migration's states and the one table of its transitions.

planned → launching_target → waiting_ready → syncing → restoring → verifying → switching →
cleaning_up → done; on a failure, a timeout or a cancel: rolling_back → rolled_back.

A step ends in one of three ways, and its type decides the next state (``next_state``):
- it finished: the state after it in ``FORWARD``;
- ``TryAgain`` (the instance is unreachable, the provider is busy, an action holds the row): the
  same step later, until ``MAX_ATTEMPTS``; then it counts as a failure;
- ``MigrationFailed`` (or its step's own timeout): rolling_back.
Cleaning up and rolling back never turn around: their errors are always tried again (a rollback
during cleaning_up is the user's call, made through the service).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

PLANNED = "planned"
LAUNCHING_TARGET = "launching_target"
WAITING_READY = "waiting_ready"
SYNCING = "syncing"
RESTORING = "restoring"
VERIFYING = "verifying"
SWITCHING = "switching"
CLEANING_UP = "cleaning_up"
DONE = "done"
ROLLING_BACK = "rolling_back"
ROLLED_BACK = "rolled_back"

FORWARD = {
    PLANNED: LAUNCHING_TARGET,
    LAUNCHING_TARGET: WAITING_READY,
    WAITING_READY: SYNCING,
    SYNCING: RESTORING,
    RESTORING: VERIFYING,
    VERIFYING: SWITCHING,
    SWITCHING: CLEANING_UP,
    CLEANING_UP: DONE,
    ROLLING_BACK: ROLLED_BACK,
}
STEPS = tuple(FORWARD)
"""The states in which a step runs (every state but the two final ones)."""
FINAL = frozenset({DONE, ROLLED_BACK})
NEVER_TURN_BACK = frozenset({CLEANING_UP, ROLLING_BACK})
ROLLBACK_ALLOWED = frozenset(STEPS) - {ROLLING_BACK}
"""Where the user may roll back (cleaning_up: only while the source is not deleted yet)."""

# Each step's own limit: a copy may take hours, a state change minutes. The job's time limit is a
# little longer, so the step's own timeout (a rollback) comes first and the job ends cleanly.
STEP_TIMEOUT_SECONDS = {
    PLANNED: 60.0,
    LAUNCHING_TARGET: 300.0,
    WAITING_READY: 120.0,
    SYNCING: 6 * 3600.0,
    RESTORING: 6 * 3600.0,
    VERIFYING: 1800.0,
    SWITCHING: 300.0,
    CLEANING_UP: 300.0,
    ROLLING_BACK: 300.0,
}
READY_WITHIN = timedelta(minutes=20)
"""How long waiting_ready waits for the target to run before it rolls back ("never ready")."""
POLL_EVERY = timedelta(seconds=5)
MAX_ATTEMPTS = 5


class StepError(Exception):
    """Anything a step raises on purpose; the message goes to the step's log and the migration's error."""


class TryAgain(StepError):
    def __init__(self, message: str, after: timedelta = timedelta(seconds=15)) -> None:
        super().__init__(message)
        self.after = after


class MigrationFailed(StepError):
    """The migration cannot go on: roll back."""


class LaunchFailed(MigrationFailed):
    pass


class TargetNeverReady(MigrationFailed):
    pass


class SyncFailed(MigrationFailed):
    pass


class VerificationFailed(MigrationFailed):
    pass


class StepTimedOut(MigrationFailed):
    pass


class SourceGone(MigrationFailed):
    pass


class InvariantBroken(MigrationFailed):
    """A precondition that must hold (the target verified before the source is deleted) does not."""


@dataclass
class Done:
    log: str = ""
    changes: dict[str, Any] = field(default_factory=dict)
    """Columns of the migration written with the transition."""
    apply: Any = None
    """``async (session, migration, now)`` run in the transition's transaction (the cut-over)."""


@dataclass
class Wait:
    until: datetime
    log: str = ""


@dataclass(frozen=True)
class Verdict:
    state: str
    """The next state (the same one: the step runs again at ``wake_at``)."""
    outcome: str
    wake_at: datetime | None = None


def next_state(state: str, result: Done | Wait | StepError, attempts: int, now: datetime) -> Verdict:
    """The transitions, in one place. ``attempts``: this step's attempts so far, this one included."""
    if isinstance(result, Done):
        return Verdict(FORWARD[state], "ok")
    if isinstance(result, Wait):
        return Verdict(state, "waiting", result.until)
    if state in NEVER_TURN_BACK:
        after = result.after if isinstance(result, TryAgain) else timedelta(seconds=30)
        return Verdict(state, "retry", now + after)
    if isinstance(result, TryAgain) and attempts < MAX_ATTEMPTS:
        return Verdict(state, "retry", now + result.after)
    return Verdict(ROLLING_BACK, "timed_out" if isinstance(result, StepTimedOut) else "failed")
