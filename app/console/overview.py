"""What the console shows: each deployment with its state and how long it has been in it,
its hourly price, where it came from, and which actions are possible right now (or why not)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.workspaces.roles import Forbidden
from app.workspaces.scope import Owner, Scope, resolve
from app.console.instances import LAUNCHING, OPERATIONS, available_operations, get_owned, list_instances
from app.console.ssh import ssh_command
from app.console.sync import SyncReport, sync_binding
from app.db.models import Instance, InstanceEvent, Project, ProviderBinding
from app.db.types import utcnow
from app.security.keyring import Keyring
from providers.gpus import GPUS
from providers.registry import get_source_class

TRANSITIONAL = (LAUNCHING, "provisioning", "stopping", "terminating")
"""States that change by themselves: the console keeps polling while one is shown."""
POLL_MIN_INTERVAL = timedelta(seconds=3)
"""The console's poll asks a provider again only when its last answer is older than this."""
ORIGIN_LABELS = {
    "adopted": "adopted",
    "discovered": "discovered: not launched by ComputeHub",
}
ORIGIN_HINTS = {
    "adopted": "ComputeHub lost track of this launch for a moment and recognised it at the provider afterwards",
    "discovered": "Found running under your key at the provider; ComputeHub did not launch it",
}


@dataclass(frozen=True)
class DeploymentView:
    id: int
    name: str
    provider: str
    provider_name: str
    binding_label: str | None
    gpu: str
    instance_type: str
    region: str
    status: str
    raw_status: str
    status_since: datetime
    price_per_hour: Decimal | None
    price_is_offer: bool
    """True when the provider reports no price and the offer's price at launch is shown."""
    origin: str
    public_ip: str | None
    ssh_command: str | None
    """``ssh -p PORT user@host`` while running and reachable (see ``app.console.ssh``)."""
    image: str
    disk_gb: int | None
    spot: bool
    last_error: str | None
    created_at: datetime
    last_synced_at: datetime | None
    operations: dict[str, str | None]
    project_id: int | None = None
    project_name: str | None = None

    @property
    def origin_label(self) -> str | None:
        return ORIGIN_LABELS.get(self.origin)

    @property
    def origin_hint(self) -> str:
        return ORIGIN_HINTS.get(self.origin, "")

    @property
    def transitional(self) -> bool:
        return self.status in TRANSITIONAL


@dataclass(frozen=True)
class EventView:
    at: datetime
    status: str
    raw_status: str
    message: str | None
    price_per_hour: Decimal | None


def provider_display_name(name: str) -> str:
    try:
        return get_source_class(name).DISPLAY_NAME
    except Exception:  # noqa: BLE001 - an adapter that cannot load must not hide the deployment
        return name


def gpu_label(row: Instance) -> str:
    gpu = GPUS.get(row.gpu_slug) if row.gpu_slug else None
    name = gpu.name if gpu else (row.gpu_raw_name or "GPU not reported")
    count = row.gpu_count.normalize() if row.gpu_count else None
    return f"{count:f}× {name}" if count else name


def since_label(since: datetime, now: datetime) -> str:
    """How long a deployment has been in its state: "12 s", "4 min", "3 h", "2 days"."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def state_counts(views: list[DeploymentView]) -> dict[str, int]:
    """The list's deployments by state: running and stopped apart, the changing ones together."""
    counts = {"running": 0, "stopped": 0, "changing": 0, "unknown": 0, "failed": 0}
    for v in views:
        key = "changing" if v.transitional else v.status
        if key in counts:
            counts[key] += 1
    return counts


def fingerprint(views: list[DeploymentView]) -> str:
    """What the poll compares to decide whether the page is out of date."""
    return ";".join(f"{v.id}:{v.status}" for v in sorted(views, key=lambda v: v.id))


def role_refusal(owner: Owner) -> str | None:
    """Why this member's role greys out every action button (a viewer, billing), or None."""
    if isinstance(owner, Scope) and not owner.allows("operate"):
        return Forbidden("operate", owner.role).detail
    return None


def _view(row: Instance, since: datetime | None, binding_label: str | None,
          project_name: str | None = None, refusal: str | None = None) -> DeploymentView:
    price = row.provider_price_per_hour if row.provider_price_per_hour is not None else row.offer_price_per_hour
    return DeploymentView(
        id=row.id, name=row.name, provider=row.provider, provider_name=provider_display_name(row.provider),
        binding_label=binding_label, gpu=gpu_label(row), instance_type=row.instance_type, region=row.region,
        status=row.status, raw_status=row.raw_status, status_since=since or row.updated_at,
        price_per_hour=price, price_is_offer=row.provider_price_per_hour is None and price is not None,
        origin=row.origin, public_ip=row.public_ip, ssh_command=ssh_command(row), image=row.image, disk_gb=row.disk_gb, spot=row.spot,
        last_error=row.last_error, created_at=row.created_at, last_synced_at=row.last_synced_at,
        operations={op: refusal for op in OPERATIONS} if refusal else available_operations(row),
        project_id=row.project_id, project_name=project_name,
    )


async def _entered_current_state(session: AsyncSession, instance_ids: list[int]) -> dict[int, datetime]:
    """When each instance entered the state it is in now (its latest event with that state)."""
    if not instance_ids:
        return {}
    rows = await session.execute(
        select(InstanceEvent.instance_id, func.max(InstanceEvent.at))
        .join(Instance, Instance.id == InstanceEvent.instance_id)
        .where(InstanceEvent.instance_id.in_(instance_ids), InstanceEvent.status == Instance.status)
        .group_by(InstanceEvent.instance_id)
    )
    return {instance_id: at for instance_id, at in rows}


async def _binding_labels(session: AsyncSession, owner: Owner) -> dict[int, str]:
    scope = await resolve(session, owner)
    rows = await session.execute(
        select(ProviderBinding.id, ProviderBinding.label).where(ProviderBinding.workspace_id == scope.workspace_id))
    return {binding_id: label for binding_id, label in rows}


async def _project_names(session: AsyncSession, owner: Owner) -> dict[int, str]:
    scope = await resolve(session, owner)
    rows = await session.execute(select(Project.id, Project.name).where(Project.workspace_id == scope.workspace_id))
    return {project_id: name for project_id, name in rows}


async def list_deployments(session: AsyncSession, owner: Owner, project_id: int | None = None) -> list[DeploymentView]:
    """``project_id``: only that project's deployments."""
    rows = await list_instances(session, owner, project_id=project_id)
    since = await _entered_current_state(session, [r.id for r in rows])
    labels = await _binding_labels(session, owner)
    names = await _project_names(session, owner)
    refusal = role_refusal(owner)
    return [_view(r, since.get(r.id), labels.get(r.binding_id) if r.binding_id else None,
                  names.get(r.project_id) if r.project_id else None, refusal) for r in rows]


async def deployment_detail(session: AsyncSession, owner: Owner, instance_id: int) -> tuple[DeploymentView, list[EventView]]:
    row = await get_owned(session, owner, instance_id)
    since = await _entered_current_state(session, [row.id])
    label = None
    if row.binding_id:
        binding = await session.get(ProviderBinding, row.binding_id)
        label = binding.label if binding else None
    events = await session.execute(
        select(InstanceEvent).where(InstanceEvent.instance_id == row.id)
        .order_by(InstanceEvent.at.desc(), InstanceEvent.id.desc())
    )
    history = [EventView(e.at, e.status, e.raw_status, e.message, e.price_per_hour) for e in events.scalars()]
    project = await session.get(Project, row.project_id) if row.project_id else None
    return _view(row, since.get(row.id), label, project.name if project else None, role_refusal(owner)), history


async def sync_user(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring, http: httpx.AsyncClient, owner: Owner,
    *, only_due: bool = False, now: datetime | None = None,
) -> list[SyncReport]:
    """Sync the workspace's keys now ("Sync now"), or with ``only_due`` just those the console's
    poll is waiting on: a deployment in a changing state whose last answer is a few seconds old.
    A member limited to projects syncs only the keys they can see (their projects')."""
    now = now or utcnow()
    async with sessions() as session, session.begin():
        scope = await resolve(session, owner)
    stmt = select(ProviderBinding.id).where(
        scope.visible(ProviderBinding), ProviderBinding.status.not_in(("disabled", "invalid")))
    if only_due:
        waiting = select(Instance.binding_id).where(
            scope.visible(Instance), Instance.status.in_(TRANSITIONAL),
            or_(Instance.last_synced_at.is_(None), Instance.last_synced_at < now - POLL_MIN_INTERVAL))
        stmt = stmt.where(ProviderBinding.id.in_(waiting))
    async with sessions() as session:
        binding_ids = list((await session.execute(stmt.order_by(ProviderBinding.id))).scalars())
    return [await sync_binding(sessions, keyring, http, binding_id) for binding_id in binding_ids]
