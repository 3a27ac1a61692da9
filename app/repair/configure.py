"""Turn auto-repair on or off for one instance and set its optional health endpoint."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.workspaces.scope import Owner, resolve
from app.billing.entitlements import ensure_feature_in
from app.console.instances import get_owned
from app.db.models import Instance
from app.repair.endpoint import EndpointRefused, vet_url
from app.repair.engine import GAVE_UP, OK
from app.settings import Settings

FEATURE = "auto_repair"


class RepairFormError(ValueError):
    """Shown next to the form, with what the user typed kept."""


def _not_repairable(row: Instance) -> str | None:
    if row.replaced_by_id is not None:
        return f"auto-repair replaced this instance by #{row.replaced_by_id}: turn it on there"
    if row.status in ("terminating", "terminated"):
        return "this instance is deleted: there is nothing to repair"
    return None


async def configure(sessions: async_sessionmaker[AsyncSession], settings: Settings, owner: Owner, instance_id: int,
                    *, enabled: bool, health_check_url: str) -> Instance:
    async with sessions() as session, session.begin():
        scope = await resolve(session, owner)
        row = await get_owned(session, scope, instance_id)
        scope.require("operate")
        if enabled:  # switching it off stays possible after a downgrade
            await ensure_feature_in(session, scope, FEATURE, settings.billing.grace_days)
        problem = _not_repairable(row) if enabled else None
    if problem:
        raise RepairFormError(problem)
    url = None
    if health_check_url.strip():
        try:  # resolves the host name: no transaction is open here
            vetted = await vet_url(health_check_url, timeout=settings.repair.endpoint_timeout_seconds)
            url = vetted.endpoint.url  # stored normalised: the form the next checks vet again
        except EndpointRefused as exc:
            raise RepairFormError(str(exc)) from None
    async with sessions() as session, session.begin():
        row = await get_owned(session, scope, instance_id)
        if not enabled or not row.auto_repair or row.repair_state == GAVE_UP:
            # Switched on (again) or off: any earlier incident is over, the next one starts afresh.
            row.repair_state, row.repair_attempts, row.next_repair_at = OK, 0, None
        row.auto_repair = enabled
        row.health_check_url = url
        return row
