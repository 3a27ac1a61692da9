"""The migration wizard's read side: which offers a deployment can move to (same GPU count, at
least its GPU memory, on a provider the workspace has a key for), the cheaper ones suggested with
the $/month saved, and the preview of one choice (prices, steps, what is copied, how long the copy
may take, what the target cannot do). Nothing here writes; ``service.create`` starts the migration.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.errors import ConsoleError, NotFoundForUser
from app.console.launch_form import can_launch
from app.db.models import Instance, MigrationBucket, Offer, ProviderBinding
from app.migration import machine as m
from app.migration.errors import InvalidSyncInput
from app.migration.paths import MAX_PATHS, SyncRoot, validate_roots
from app.workspaces.scope import Scope
from providers.base import InstanceStatus
from providers.gpus import GPUS
from providers.registry import get_source_class

MONTH_HOURS = Decimal(730)
"""Hours in an average month (8760 / 12): what $/month figures multiply by."""
COPY_BYTES_PER_SECOND = 50 * 1024 * 1024
"""The throughput the copy-time estimate assumes for each leg (instance -> bucket -> instance)."""
COPY_OVERHEAD_SECONDS = 30
DATA_COPY_PROVIDERS = frozenset({"sandbox"})
"""Providers whose instances ComputeHub can run commands on today (``actions.remote_for``): the
sandbox's simulated machines. SSH to real providers is not wired yet, so those move config-only."""
MAX_SUGGESTIONS = 5
MAX_CANDIDATES = 200
MIGRATABLE = (InstanceStatus.RUNNING.value, InstanceStatus.STOPPED.value)

STEP_LABELS = {
    m.PLANNED: "Check the deployment and record the plan",
    m.LAUNCHING_TARGET: "Launch the new instance",
    m.WAITING_READY: "Wait until the new instance runs (up to 20 minutes)",
    m.SYNCING: "Copy the paths from the old instance to the bucket",
    m.RESTORING: "Copy them from the bucket to the new instance",
    m.VERIFYING: "Check every file against the sha256 manifest",
    m.SWITCHING: "Stop the old instance; move the name, template, tags, health check, auto-repair, "
                 "notifications and project to the new one",
    m.CLEANING_UP: "Keep the old instance stopped for the rollback window, then delete it",
    m.ROLLING_BACK: "Roll back: delete the new instance, start the old one again if it was running",
}
FORWARD_ORDER = (m.PLANNED, m.LAUNCHING_TARGET, m.WAITING_READY, m.SYNCING, m.RESTORING, m.VERIFYING,
                 m.SWITCHING, m.CLEANING_UP)


def per_month(per_hour: Decimal) -> Decimal:
    return (per_hour * MONTH_HOURS).quantize(Decimal("0.01"))


def source_price(instance: Instance) -> Decimal | None:
    return instance.offer_price_per_hour if instance.offer_price_per_hour is not None else instance.provider_price_per_hour


@dataclass(frozen=True)
class KeyChoice:
    id: int
    label: str


@dataclass(frozen=True)
class Candidate:
    offer: Offer
    provider_name: str
    keys: tuple[KeyChoice, ...]
    saving_per_month: Decimal | None
    """What moving saves a month at the listed prices (negative: it costs more); None: the
    deployment's own price is unknown."""

    @property
    def id(self) -> int:
        return self.offer.id

    @property
    def market(self) -> str:
        return "spot" if self.offer.spot else "on-demand"


def _same_place(instance: Instance, offer: Offer) -> bool:
    return (offer.source, offer.instance_type, offer.region, bool(offer.spot)) == (
        instance.provider, instance.instance_type, instance.region, bool(instance.spot))


async def source_gpu_memory(session: AsyncSession, instance: Instance) -> int | None:
    """The deployment's GPU memory: its offer's, else the GPU catalog's for its GPU."""
    mem = (await session.execute(select(Offer.gpu_memory_gb).where(
        Offer.source == instance.provider, Offer.instance_type == instance.instance_type,
        Offer.region == instance.region, Offer.gpu_memory_gb.is_not(None)).limit(1))).scalar()
    if mem:
        return mem
    gpu = GPUS.get(instance.gpu_slug) if instance.gpu_slug else None
    return gpu.memory_gb if gpu else None


async def _gpu_count(session: AsyncSession, instance: Instance) -> Decimal:
    if instance.gpu_count:
        return instance.gpu_count
    count = (await session.execute(select(Offer.gpu_count).where(
        Offer.source == instance.provider, Offer.instance_type == instance.instance_type).limit(1))).scalar()
    return count or Decimal(0)


async def usable_keys(session: AsyncSession, scope: Scope) -> dict[str, list[KeyChoice]]:
    rows = await session.execute(select(ProviderBinding).where(
        scope.visible(ProviderBinding), ProviderBinding.status != "disabled").order_by(ProviderBinding.id))
    keys: dict[str, list[KeyChoice]] = {}
    for row in rows.scalars():
        if can_launch(row.provider):
            keys.setdefault(row.provider, []).append(KeyChoice(row.id, row.label))
    return keys


async def candidates(session: AsyncSession, scope: Scope, instance: Instance, *,
                     offer_id: int | None = None) -> list[Candidate]:
    """Offers the deployment can move to, cheapest first: the same number of GPUs with at least its
    GPU memory, on a provider the workspace has a key for, other than the offer it runs on
    (``offer_id``: only that offer, if it is one of them)."""
    keys = await usable_keys(session, scope)
    if not keys:
        return []
    count, memory = await _gpu_count(session, instance), await source_gpu_memory(session, instance)
    query = select(Offer).where(Offer.source.in_(sorted(keys)), Offer.available.is_not(False))
    if offer_id is not None:
        query = query.where(Offer.id == offer_id)
    if count:
        query = query.where(Offer.gpu_count == count)
    if memory:
        query = query.where(Offer.gpu_memory_gb >= memory)
    offers = (await session.execute(query.order_by(Offer.price_per_hour, Offer.id).limit(MAX_CANDIDATES))).scalars()
    old = source_price(instance)
    return [Candidate(o, get_source_class(o.source).DISPLAY_NAME, tuple(keys[o.source]),
                      per_month(old - o.price_per_hour) if old is not None else None)
            for o in offers if not _same_place(instance, o)]


def suggestions(choices: list[Candidate]) -> list[Candidate]:
    """The cheaper equivalents, the largest saving first."""
    cheaper = [c for c in choices if c.saving_per_month is not None and c.saving_per_month > 0]
    return sorted(cheaper, key=lambda c: (-c.saving_per_month, c.offer.id))[:MAX_SUGGESTIONS]


async def bound_buckets(session: AsyncSession, scope: Scope) -> list[str]:
    return list((await session.execute(select(MigrationBucket.name).where(
        MigrationBucket.workspace_id == scope.workspace_id).order_by(MigrationBucket.name))).scalars())


# -- the user's choice ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Choice:
    """What the wizard's form says, checked: the offer, the key, the paths, the bucket, the window."""

    offer_id: int
    key_id: int | None
    roots: tuple[SyncRoot, ...]
    bucket: str
    window_hours: int
    paths_text: str = ""


def parse_paths(text: str) -> tuple[SyncRoot, ...]:
    """One directory a line: ``/workspace/data`` (the same place on the target) or
    ``/workspace/data -> /home/ubuntu/data``."""
    roots = []
    for line in text.replace("\r", "").split("\n"):
        line = line.strip()
        if not line:
            continue
        source, _, target = (part.strip() for part in line.partition("->"))
        roots.append(SyncRoot(source, target or source))
    if len(roots) > MAX_PATHS:
        raise ConsoleError(f"at most {MAX_PATHS} paths can be kept")
    if not roots:
        return ()
    try:
        return validate_roots(roots)
    except InvalidSyncInput as exc:
        raise ConsoleError(str(exc)) from None


def _int(raw: str, what: str, low: int, high: int, default: int | None = None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConsoleError(f"{what} must be a whole number from {low} to {high}")
    return int(raw)


def parse_choice(fields: dict[str, str]) -> Choice:
    offer_id = _int(fields.get("offer", ""), "the offer", 1, 2**31 - 1)
    if offer_id is None:
        raise ConsoleError("choose a target offer")
    bucket = (fields.get("bucket") or "").strip()
    if len(bucket) > 64:
        raise ConsoleError("the bucket name is too long")
    return Choice(offer_id, _int(fields.get("key", ""), "the provider key", 1, 2**31 - 1),
                  parse_paths(fields.get("paths", "")), bucket,
                  _int(fields.get("window_hours", ""), "the rollback window", 0, 720, 24),
                  (fields.get("paths") or "").strip())


# -- the preview ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CopiedPath:
    root: SyncRoot
    size_bytes: int | None
    """Measured where ComputeHub can look (the sandbox's simulated disk); None: unknown."""
    missing: bool = False


@dataclass(frozen=True)
class Preview:
    source: Instance
    target: Candidate
    key: KeyChoice
    choice: Choice
    old_price: Decimal | None
    new_price: Decimal
    steps: list[tuple[str, str]]
    copied: list[CopiedPath]
    copy_seconds: int | None
    limits: list[str] = field(default_factory=list)
    config_only: bool = False
    blocking: list[str] = field(default_factory=list)
    """What stops this migration from starting as chosen (shown, and the Confirm button is off)."""

    @property
    def delta_per_month(self) -> Decimal | None:
        return per_month(self.new_price - self.old_price) if self.old_price is not None else None


def _tree_size(path: Path) -> int | None:
    if not path.is_dir():
        return None
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(folder) / name).lstat().st_size
            except OSError:
                pass
    return total


async def _measure(data_dir: Path, instance: Instance, roots: tuple[SyncRoot, ...]) -> list[CopiedPath]:
    if instance.provider != "sandbox" or not instance.provider_instance_id:
        return [CopiedPath(r, None) for r in roots]
    from providers.sandbox.disk import InstanceDisk

    disk = InstanceDisk(data_dir, instance.provider_instance_id)
    sizes = [await asyncio.to_thread(_tree_size, disk.host_path(r.source)) for r in roots]
    return [CopiedPath(r, s, missing=s is None) for r, s in zip(roots, sizes, strict=True)]


def estimate_copy_seconds(total_bytes: int) -> int:
    """Up to the bucket and down again at ``COPY_BYTES_PER_SECOND``, plus the fixed overhead of
    the commands and the checksum pass."""
    return COPY_OVERHEAD_SECONDS + -(-2 * total_bytes // COPY_BYTES_PER_SECOND)


def find_candidate(choices: list[Candidate], offer_id: int) -> Candidate:
    for c in choices:
        if c.offer.id == offer_id:
            return c
    raise ConsoleError("that offer is not one this deployment can move to (another GPU count, less GPU "
                       "memory, no key for its provider, or the offer it already runs on)")


async def preview(session: AsyncSession, scope: Scope, instance: Instance, choice: Choice,
                  data_dir: Path) -> Preview:
    target = find_candidate(await candidates(session, scope, instance, offer_id=choice.offer_id), choice.offer_id)
    if choice.key_id is None:
        if len(target.keys) > 1:
            raise ConsoleError(f"choose which of your {target.provider_name} keys launches the new instance")
        key = target.keys[0]
    else:
        key = next((k for k in target.keys if k.id == choice.key_id), None)
        if key is None:  # another workspace's key looks exactly like a missing one
            raise NotFoundForUser(f"no such {target.provider_name} key in this workspace")
    limits, blocking = [], []
    copy_capable = instance.provider in DATA_COPY_PROVIDERS and target.offer.source in DATA_COPY_PROVIDERS
    config_only = not choice.roots
    if not copy_capable:
        who = instance.provider if instance.provider not in DATA_COPY_PROVIDERS else target.offer.source
        limits.append(f"ComputeHub cannot run commands on {get_source_class(who).DISPLAY_NAME} instances over SSH "
                      "yet, so no files can be copied: this is a config-only migration (the deployment moves, "
                      "its files do not).")
        if choice.roots:
            blocking.append("remove the paths to keep: this migration can only be config-only")
        config_only = True
    elif choice.roots and instance.status != InstanceStatus.RUNNING.value:
        blocking.append(f"{instance.name} is {instance.status}: start it for its files to be copied, or remove "
                        "the paths for a config-only migration")
    if instance.status not in MIGRATABLE:
        blocking.append(f"{instance.name} is {instance.status}; a migration starts from a running or stopped instance")
    if "sandbox" in (instance.provider, target.offer.source):
        if choice.bucket:
            blocking.append("sandbox instances copy through the demo's local bucket; leave the bucket empty")
    elif choice.roots and not choice.bucket:
        blocking.append("choose the bucket the files are copied through")
    if target.offer.spot:
        limits.append("The target is a spot offer: the provider may take it back at any time.")
    if target.offer.available is None:
        limits.append("The provider does not say whether this offer has capacity now: if the launch fails, "
                      "the migration rolls back and the deployment stays where it is.")
    copied = await _measure(data_dir, instance, choice.roots) if copy_capable else [
        CopiedPath(r, None) for r in choice.roots]
    for item in copied:
        if item.missing:
            blocking.append(f"{item.root.source} is not a directory on {instance.name}")
    sizes = [c.size_bytes for c in copied]
    copy_seconds = estimate_copy_seconds(sum(sizes)) if copied and None not in sizes else None
    steps = [(state, STEP_LABELS[state]) for state in FORWARD_ORDER]
    if config_only:
        steps = [(s, "Nothing to copy (config-only)" if s in (m.SYNCING, m.RESTORING, m.VERIFYING) else label)
                 for s, label in steps]
    return Preview(instance, target, key, choice, source_price(instance), target.offer.price_per_hour, steps,
                   copied, copy_seconds, limits, config_only, blocking)


# -- progress ---------------------------------------------------------------------------------------

def timeline(view_json: dict) -> list[dict]:
    """Every step in order with its status (done, running, waiting, failed, pending, cancelled, skipped) and
    each of its attempts' logs: what the progress page shows and its JSON carries."""
    state = view_json["state"]
    attempts: dict[str, list[dict]] = {}
    for step in view_json["steps"]:
        attempts.setdefault(step["state"], []).append(step)
    rolled = state in (m.ROLLING_BACK, m.ROLLED_BACK) or m.ROLLING_BACK in attempts
    order = list(FORWARD_ORDER) + ([m.ROLLING_BACK] if rolled else [])
    reached = order.index(state) if state in order else len(order)
    items = []
    for index, name in enumerate(order):
        tries = attempts.get(name, [])
        last = tries[-1] if tries else None
        if state == m.DONE or (state == m.ROLLED_BACK and name == m.ROLLING_BACK):
            status = "done"
        elif name == state:
            status = "waiting" if last and last["outcome"] in ("waiting", "retry") else "running"
        elif last and last["outcome"] in ("failed", "timed_out"):
            status = "failed"
        elif last and last["outcome"] == "ok":
            status = "done"
        elif rolled and name != m.ROLLING_BACK:
            status = "cancelled" if tries else "skipped"
        else:
            status = "pending" if index > reached else "done"
        items.append({"state": name, "label": STEP_LABELS[name], "status": status,
                      "attempts": [{"attempt": t["attempt"], "outcome": t["outcome"] or "running", "log": t["log"] or "",
                                    "started_at": t["started_at"], "finished_at": t["finished_at"]} for t in tries]})
    return items
