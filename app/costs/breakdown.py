"""The console API's costs (``/api/v1/console/costs``): the page's cards, and the range's exact
totals by provider, GPU, deployment and, in an organization, by project and by member; cut from
the same frame of daily rows as ``/costs`` (``app.costs.report``), so they add up to its total."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.overview import provider_display_name
from app.costs.filters import CostFilters
from app.costs.queries import from_micros
from app.costs.report import (NO_PROJECT, RawFilters, checked_filters, cost_cards, gpu_name, keyed_totals,
                              project_names, range_frame)
from app.db.models import User
from app.workspaces.scope import Scope


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    amount: Decimal


@dataclass(frozen=True)
class CostBreakdown:
    """The console API's costs: the page's cards and shares, and the same range per deployment."""
    filters: CostFilters
    zone: str
    total: Decimal
    this_month: Decimal
    this_week: Decimal
    burn_per_hour: Decimal
    by_provider: list[Group]
    by_gpu: list[Group]
    by_deployment: list[Group]
    by_project: list[Group]
    by_member: list[Group]
    """An organization's only (empty for a personal workspace); the unassigned part has key ""."""


def _groups(frame: pd.DataFrame, column: str, label_column: str | None = None,
            label=lambda key: key) -> list[Group]:
    """Exact sums per key (micro-dollars, then Decimal), largest first, like the page's shares."""
    if not len(frame):
        return []
    keys = ["" if k is None or (isinstance(k, float) and pd.isna(k)) else str(k) for k in frame[column].astype(object)]
    labels = frame[label_column].astype(str).tolist() if label_column else [label(k or None) for k in keys]
    totals: dict[str, int] = {}
    names: dict[str, str] = {}
    for key, name, micros in zip(keys, labels, frame["amount_micros"].tolist()):
        totals[key] = totals.get(key, 0) + int(micros)
        names.setdefault(key, name)
    ordered = sorted((item for item in totals.items() if item[1] > 0), key=lambda item: (-item[1], names[item[0]]))
    return [Group(key, names[key], from_micros(micros)) for key, micros in ordered]


async def cost_breakdown(session: AsyncSession, user: User, scope: Scope, raw: RawFilters, now: datetime) -> CostBreakdown:
    zone, today, filters, names = await checked_filters(session, user, scope, raw, now)
    history = await range_frame(session, scope, zone, filters)
    total = from_micros(int(history["amount_micros"].sum())) if len(history) else from_micros(0)
    cards = {card.key: card.amount for card in await cost_cards(session, scope, zone, today, filters, total)}
    by_project = by_member = []
    if scope.is_org:
        by_project = [Group(s.key, s.label, s.amount)
                      for s in keyed_totals(history, "project_id", await project_names(session, scope), NO_PROJECT)]
        by_member = [Group(s.key, s.label, s.amount) for s in keyed_totals(history, "user_id", names, "Unknown")]
    return CostBreakdown(
        filters=filters, zone=zone.key, total=total, this_month=cards["month"], this_week=cards["week"],
        burn_per_hour=cards["burn"],
        by_provider=_groups(history, "provider", label=provider_display_name),
        by_gpu=_groups(history, "gpu_slug", label=gpu_name),
        by_deployment=_groups(history, "instance_id", "instance"),
        by_project=by_project, by_member=by_member,
    )
