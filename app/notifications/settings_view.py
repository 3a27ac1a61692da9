"""What /settings/notifications shows: switches, the Telegram link, price alerts, the budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.entitlements import Entitlements, entitlements
from app.db.models import Budget, PriceAlert, TelegramChat, User
from app.notifications import alerts, budgets, linking
from app.workspaces.scope import personal_workspace_id
from app.notifications.events import CHANNELS, EVENT_TYPES, NOTIFICATIONS_FEATURE
from app.notifications.outbox import preferences
from app.settings import Settings
from providers.gpus import FAMILIES, family_name


@dataclass(frozen=True)
class GpuGroup:
    family: str
    label: str
    variants: tuple[tuple[str, str], ...]
    """(slug, name) of each variant with a slug of its own."""


@dataclass(frozen=True)
class AlertRow:
    id: int
    description: str
    gpu: str
    max_price: Decimal
    last_price: Decimal | None
    below: bool


@dataclass(frozen=True)
class NewLink:
    token: str
    url: str
    minutes: int


@dataclass
class SettingsView:
    ents: Entitlements
    unlocked: bool
    """The plan includes notifications (Pro and above)."""
    prefs: dict[tuple[str, str], bool]
    telegram_configured: bool
    bot_username: str
    chat: TelegramChat | None
    alerts: list[AlertRow]
    alert_limit: int | None
    budget: Decimal | None
    spend: budgets.MonthSpend
    hard_limit: bool = False
    grace_minutes: int = budgets.DEFAULT_GRACE_MINUTES
    enforcement: object | None = None
    """This month's open hard-limit enforcement (``BudgetEnforcement``): noticed, stop due, stopped."""
    grace_choices: dict[int, str] = field(default_factory=lambda: budgets.GRACE_CHOICES)
    new_link: NewLink | None = None
    alert_form: dict = field(default_factory=dict)
    budget_form: str | None = None
    event_types: dict[str, str] = field(default_factory=lambda: EVENT_TYPES)
    channels: dict[str, str] = field(default_factory=lambda: CHANNELS)

    @property
    def can_add_alert(self) -> bool:
        return self.alert_limit is None or len(self.alerts) < self.alert_limit

    @property
    def budget_input(self) -> str:
        """What the budget field shows: what was typed (after an error), or "500" / "1250.5"."""
        if self.budget_form is not None:
            return self.budget_form
        return f"{self.budget.normalize():f}" if self.budget else ""

    @property
    def budget_share(self) -> int | None:
        if not self.budget:
            return None
        return int(self.spend.spent * 100 / self.budget)


def gpu_groups() -> list[GpuGroup]:
    groups = []
    for family, members in FAMILIES.items():
        variants = tuple((g.slug, g.name) for g in members if g.slug != family)
        groups.append(GpuGroup(family, family_name(family), variants))
    return sorted(groups, key=lambda g: g.label.lower())


def _alert_row(row: PriceAlert) -> AlertRow:
    return AlertRow(row.id, alerts.describe(row), row.gpu, row.max_price, row.last_price, row.below)


async def settings_view(session: AsyncSession, user: User, settings: Settings, now: datetime, *,
                        new_link_token: str | None = None) -> SettingsView:
    ents = await entitlements(session, user.id, now, settings.billing.grace_days)
    rows = await alerts.list_alerts(session, user_id=user.id)
    # The personal workspace's budget; an organization's is on its Budget page (/console/budget).
    personal = await personal_workspace_id(session, user.id)
    budget_row = await session.get(Budget, personal)
    new_link = None
    if new_link_token:
        new_link = NewLink(new_link_token, linking.deep_link(settings.telegram.bot_username, new_link_token),
                           int(linking.LINK_TTL.total_seconds() // 60))
    return SettingsView(
        ents=ents, unlocked=ents.has(NOTIFICATIONS_FEATURE), prefs=await preferences(session, user.id),
        telegram_configured=settings.telegram.enabled, bot_username=settings.telegram.bot_username.lstrip("@"),
        chat=await linking.chat_for_user(session, user.id), alerts=[_alert_row(r) for r in rows],
        alert_limit=ents.quotas.get(alerts.QUOTA), budget=budget_row.monthly_amount if budget_row else None,
        spend=await budgets.month_spend(session, personal, now), new_link=new_link,
        hard_limit=bool(budget_row and budget_row.hard_limit),
        grace_minutes=budget_row.grace_minutes if budget_row else budgets.DEFAULT_GRACE_MINUTES,
        enforcement=await budgets.enforcement(session, personal, now),
    )
