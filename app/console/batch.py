"""Batch actions over several deployments: a plan the user confirms, then each item on its own.

The plan says exactly what will happen to every selected deployment ("delete gpu-1 (sandbox,
running)", "skip gpu-2: already stopped"). Execution re-checks each item and runs it
independently: one failure is reported next to the others' successes, never hidden, and never
stops the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.workspaces.scope import Owner, resolve
from app.console.errors import ConsoleError, InvalidSelection, NotFoundForUser
from app.console.instances import available_operations, perform
from app.db.models import Instance
from app.security.keyring import Keyring
from app.services.inputs import BadInput, parse_row_id

BATCH_OPERATIONS = ("start", "stop", "reboot", "delete")
MAX_BATCH = 100
# States in which the operation has nothing to do: said as "already ..." rather than as an error.
_ALREADY = {
    "start": (("running", "provisioning"), "already running"),
    "stop": (("stopped", "stopping"), "already stopped"),
    "delete": (("terminating", "terminated"), "already deleted"),
}


@dataclass(frozen=True)
class PlanItem:
    instance_id: int
    name: str
    provider: str
    status: str
    operation: str
    skip_reason: str | None
    """None when the operation will run; else why this deployment is left alone."""

    @property
    def runs(self) -> bool:
        return self.skip_reason is None

    @property
    def description(self) -> str:
        if self.runs:
            return f"{self.operation} {self.name} ({self.provider}, {self.status})"
        return f"skip {self.name}: {self.skip_reason}"


@dataclass(frozen=True)
class ItemResult:
    instance_id: int
    name: str
    operation: str
    outcome: str
    """done | skipped | failed"""
    message: str

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


def parse_ids(values: list[str]) -> list[int]:
    """Selected ids in the order given, without repeats."""
    ids: list[int] = []
    for value in values:
        try:
            instance_id = parse_row_id(value, "id")
        except BadInput:
            instance_id = None
        if instance_id is None:
            raise InvalidSelection("the selection contains something that is not a deployment", "id")
        if instance_id not in ids:
            ids.append(instance_id)
    if not ids:
        raise InvalidSelection("select at least one deployment: tick the box in front of each one", "id")
    if len(ids) > MAX_BATCH:
        raise InvalidSelection(f"select at most {MAX_BATCH} deployments at once", "id")
    return ids


def _check_operation(operation: str) -> None:
    if operation not in BATCH_OPERATIONS:
        raise InvalidSelection(f"choose one of: {', '.join(BATCH_OPERATIONS)}", "op")


def plan_item(row: Instance, operation: str) -> PlanItem:
    already, why = _ALREADY.get(operation, ((), None))  # a reboot is never "already done"
    reason = why if row.status in already else available_operations(row)[operation]
    return PlanItem(row.id, row.name, row.provider, row.status, operation, reason)


async def plan(session: AsyncSession, owner: Owner, operation: str, instance_ids: list[int]) -> list[PlanItem]:
    """Every id must be the workspace's: one foreign or unknown id makes the whole batch a 404."""
    _check_operation(operation)
    scope = await resolve(session, owner)
    rows = await session.execute(select(Instance).where(Instance.id.in_(instance_ids), scope.visible(Instance)))
    by_id = {row.id: row for row in rows.scalars()}
    if len(by_id) != len(instance_ids):
        raise NotFoundForUser("no such instance")
    scope.require("operate")  # a viewer sees the plan's 403, not a page of per-item failures
    return [plan_item(by_id[i], operation) for i in instance_ids]


async def execute(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring, http: httpx.AsyncClient, owner: Owner,
    operation: str, instance_ids: list[int],
) -> list[ItemResult]:
    """Re-plan (states may have moved since the user confirmed), then run each item on its own."""
    async with sessions() as session, session.begin():
        owner = await resolve(session, owner)
        items = await plan(session, owner, operation, instance_ids)
    results = []
    for item in items:
        if not item.runs:
            results.append(ItemResult(item.instance_id, item.name, operation, "skipped", item.skip_reason or ""))
            continue
        try:
            row = await perform(sessions, keyring, http, owner, item.instance_id, operation)
        except (ConsoleError, NotFoundForUser) as exc:
            results.append(ItemResult(item.instance_id, item.name, operation, "failed", str(exc)))
            continue
        results.append(ItemResult(item.instance_id, item.name, operation, "done",
                                  f"{operation} requested; now {row.status}"))
    return results
