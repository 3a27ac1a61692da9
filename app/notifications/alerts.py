"""Price alerts: "tell me when an H100 is at most $2.00 per GPU-hour".

After each successful poll, every active alert is compared with the cheapest matching live offer.
An alert fires once per crossing: when the price goes from above its threshold to at or under it,
ONE message is queued and ``below`` is set; while it stays under, nothing more; when it goes back
above, ``below`` is cleared (no message), so the next drop fires again. The flip is a conditional
UPDATE, so two workers checking after the same poll cannot both send.

Only live prices count: a bundled snapshot or the simulated sandbox cloud never fires an alert.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.billing.entitlements import BASIC, entitlements, release_quota, take_quota
from app.db.models import OFFER_ORIGIN_LIVE, Offer, Plan, PriceAlert, PriceSource as SourceRow, TelegramChat
from app.db.types import money, utcnow
from app.notifications.messages import render, send_event
from app.notifications.outbox import notify_chat
from app.services.prices import display_name, to_view
from app.web.formatting import money as fmt_money, offer_age_label
from app.web.urls import MARKET_BY_SPOT, SPOT_BY_MARKET
from providers.gpus import FAMILIES, GPUS, CanonicalGpu, family_name, find_by_name, gpus_in
from providers.registry import SIMULATED, SOURCES

log = logging.getLogger(__name__)
QUOTA = "price_alerts"
MAX_PRICE = Decimal(10_000)
_PRICE = re.compile(r"^\$?\s*(\d{1,5}(?:[.,]\d{1,6})?)\s*(?:\$|usd|/h|/gpu-?h)?$", re.IGNORECASE)


class AlertError(ValueError):
    """Input an alert cannot be made from; the message is shown to the user."""


def parse_max_price(text: str) -> Decimal:
    """"2", "2.50", "$1.9", "1,75" -> Decimal dollars per GPU-hour, more than 0 and at most 10000."""
    match = _PRICE.match((text or "").strip())
    if not match:
        raise AlertError("enter the highest price in dollars per GPU-hour, e.g. 2.50")
    try:
        price = Decimal(match.group(1).replace(",", "."))
    except InvalidOperation:
        raise AlertError("enter the highest price in dollars per GPU-hour, e.g. 2.50") from None
    if not 0 < price <= MAX_PRICE:
        raise AlertError(f"the price must be more than $0 and at most ${MAX_PRICE:,}")
    return money(price)


def resolve_gpu(text: str) -> str:
    """A family or variant slug from what a person types ("H100", "h100-sxm", "A100 80GB")."""
    text = (text or "").strip()[:64]
    found: tuple[CanonicalGpu, ...] = (gpus_in(text) or find_by_name(text)) if text else ()
    if not found:
        raise AlertError(f"no GPU called {text!r} in the catalog; try e.g. H100, A100 80GB or RTX 4090"
                         if text else "choose a GPU")
    if len(found) == 1:
        return found[0].slug
    return found[0].family


def gpu_label(slug: str) -> str:
    """What an alert's GPU reads as: the family's model name ("H100"), or a variant's full name.
    A family slug comes first: a family's plain variant shares it (``h100``)."""
    if slug in FAMILIES:
        return family_name(slug)
    return GPUS[slug].name if slug in GPUS else slug


def known_providers() -> dict[str, str]:
    """Real price sources an alert can be limited to (the simulated sandbox never counts)."""
    out = {}
    for name in sorted(SOURCES):
        try:
            out[name] = display_name(name)
        except Exception:  # noqa: BLE001 - an adapter still being written must not take the page down
            out[name] = name
    return out


def parse_providers(names: Iterable[str]) -> str:
    chosen = sorted({n.strip() for n in names if n and n.strip()})
    unknown = [n for n in chosen if n not in SOURCES]
    if unknown:
        raise AlertError(f"unknown provider {unknown[0]!r}")
    return ",".join(chosen)


def parse_market(value: str | None) -> bool | None:
    value = (value or "any").strip().lower()
    if value not in SPOT_BY_MARKET:
        raise AlertError("the market must be any, on-demand or spot")
    return SPOT_BY_MARKET[value]


def describe(alert: PriceAlert) -> str:
    """"H100 at most $2.00/GPU-h · any provider · on-demand" """
    providers = ", ".join(display_name(p) for p in alert.providers.split(",") if p) or "any provider"
    market = {None: "any market", False: "on-demand", True: "spot"}[alert.spot]
    return f"{gpu_label(alert.gpu)} at most {fmt_money(alert.max_price)}/GPU-h · {providers} · {market}"


# ---- owning alerts ------------------------------------------------------------------------------

async def chat_alert_limit(session: AsyncSession) -> int:
    """A chat without an account gets what the Basic plan allows an account."""
    plan = await session.get(Plan, BASIC)
    return int(json.loads(plan.quotas).get(QUOTA) or 1) if plan else 1


async def create_alert(session: AsyncSession, *, gpu: str, max_price: Decimal, user_id: int | None = None,
                       chat_id: int | None = None, providers: str = "", spot: bool | None = None,
                       grace_days: int = 7, now: datetime | None = None) -> PriceAlert:
    """Take a quota slot (the plan's for an account) and add the alert; the caller commits.

    Raises ``QuotaExhausted`` (with the upgrade message) for an account at its plan's limit."""
    if (user_id is None) == (chat_id is None):
        raise ValueError("an alert belongs to an account or to a chat")
    if not gpus_in(gpu):
        raise AlertError(f"unknown GPU {gpu!r}")
    max_price = money(max_price)
    owner = PriceAlert.user_id == user_id if user_id is not None else PriceAlert.chat_id == chat_id
    twin = (await session.execute(select(PriceAlert.id).where(
        owner, PriceAlert.gpu == gpu, PriceAlert.max_price == max_price, PriceAlert.providers == providers,
        PriceAlert.spot.is_(None) if spot is None else PriceAlert.spot.is_(spot)).limit(1))).scalar()
    if twin is not None:
        raise AlertError(f"you already have this alert (#{twin}): {gpu_label(gpu)} at most "
                         f"{fmt_money(max_price)}/GPU-h with the same providers and market")
    if user_id is not None:
        await take_quota(session, user_id, QUOTA, await entitlements(session, user_id, grace_days=grace_days))
    else:
        limit = await chat_alert_limit(session)
        count = (await session.execute(select(func.count()).select_from(PriceAlert).where(
            PriceAlert.chat_id == chat_id))).scalar_one()
        if count >= limit:
            raise AlertError(f"a chat without an account can keep {limit} alert{'s' if limit != 1 else ''}; "
                             "remove one with /unalert, or link a ComputeHub account for more")
    # Start from where the price is now: an alert made while the price is already under its
    # threshold is "under" from the start, so it fires on the next drop after a rise, not at once
    # for a price the person has just seen (added_note says so).
    current = await cheapest_match(session, gpu, providers, spot)
    price = current.price_per_gpu_hour if current is not None else None
    row = PriceAlert(user_id=user_id, chat_id=chat_id, gpu=gpu, max_price=max_price, providers=providers,
                     spot=spot, active=True, below=price is not None and price <= max_price, last_price=price,
                     created_at=now or utcnow())
    session.add(row)
    await session.flush()
    return row


def added_note(row: PriceAlert) -> str:
    """What to tell the person who just made ``row``: true to how check_price_alerts fires."""
    if row.below:
        return (f"The cheapest matching price is already {fmt_money(row.last_price)}, at or under your "
                f"{fmt_money(row.max_price)}: no message for that one. You hear when it has gone back above "
                "and drops to it or under again.")
    return ("You get one message when the cheapest matching price drops to it or under, and another only "
            "after it went back above and drops again.")


async def list_alerts(session: AsyncSession, *, user_id: int | None = None,
                      chat_id: int | None = None) -> list[PriceAlert]:
    owner = PriceAlert.user_id == user_id if user_id is not None else PriceAlert.chat_id == chat_id
    return list((await session.execute(select(PriceAlert).where(owner).order_by(PriceAlert.id))).scalars())


async def delete_alert(session: AsyncSession, alert_id: int, *, user_id: int | None = None,
                       chat_id: int | None = None) -> bool:
    """Remove one of the owner's alerts (another owner's id answers like a missing one)."""
    row = await session.get(PriceAlert, alert_id)
    if row is None or (user_id is not None and row.user_id != user_id) or (
            user_id is None and (row.chat_id != chat_id or chat_id is None)):
        return False
    await session.delete(row)
    if row.user_id is not None:
        await release_quota(session, row.user_id, QUOTA)
    return True


# ---- checking -----------------------------------------------------------------------------------

def _match_key(alert: PriceAlert) -> tuple:
    return alert.gpu, alert.providers, alert.spot


async def cheapest_match(session: AsyncSession, gpu: str, providers: str, spot: bool | None) -> Offer | None:
    """The cheapest live offer (per GPU-hour) an alert with these filters watches."""
    stmt = select(Offer).where(
        Offer.gpu_slug.in_([g.slug for g in gpus_in(gpu)]),
        Offer.origin == OFFER_ORIGIN_LIVE,
        Offer.source.not_in(list(SIMULATED) or [""]),
        Offer.available.is_not(False),
    )
    names = [p for p in providers.split(",") if p]
    if names:
        stmt = stmt.where(Offer.source.in_(names))
    if spot is not None:
        stmt = stmt.where(Offer.spot.is_(spot))
    return (await session.execute(stmt.order_by(Offer.price_per_gpu_hour, Offer.id).limit(1))).scalars().first()


@dataclass
class AlertCheck:
    checked: int = 0
    fired: int = 0
    rearmed: int = 0


async def check_price_alerts(sessions: async_sessionmaker[AsyncSession], *, base_url: str, telegram_enabled: bool,
                             source: str | None = None, now: datetime | None = None) -> AlertCheck:
    """Compare every active alert (those ``source`` can affect, if given) with the current prices."""
    now = now or utcnow()
    report = AlertCheck()
    async with sessions() as session, session.begin():
        stmt = select(PriceAlert).where(PriceAlert.active.is_(True)).order_by(PriceAlert.id)
        if source is not None:
            stmt = stmt.where(or_(PriceAlert.providers == "", PriceAlert.providers.contains(source)))
        alerts = list((await session.execute(stmt)).scalars())
        stopped = set((await session.execute(select(TelegramChat.chat_id).where(
            TelegramChat.active.is_(False)))).scalars()) if any(a.chat_id for a in alerts) else set()
        cheapest: dict[tuple, Offer | None] = {}
        for alert in alerts:
            key = _match_key(alert)
            if key not in cheapest:
                cheapest[key] = await cheapest_match(session, *key)
            offer = cheapest[key]
            report.checked += 1
            price = offer.price_per_gpu_hour if offer is not None else None
            under = price is not None and price <= alert.max_price
            same = (PriceAlert.id == alert.id, PriceAlert.below.is_(alert.below))
            if under and not alert.below:
                won = await session.execute(update(PriceAlert).where(*same).values(
                    below=True, last_price=price, last_crossed_at=now).execution_options(synchronize_session=False))
                if won.rowcount == 1 and alert.chat_id not in stopped:
                    await _announce(session, alert, offer, base_url, telegram_enabled, now)
                    report.fired += 1
            elif not under and alert.below:
                await session.execute(update(PriceAlert).where(*same).values(
                    below=False, last_price=price).execution_options(synchronize_session=False))
                report.rearmed += 1
            elif price != alert.last_price:
                await session.execute(update(PriceAlert).where(PriceAlert.id == alert.id).values(
                    last_price=price).execution_options(synchronize_session=False))
    return report


async def _announce(session: AsyncSession, alert: PriceAlert, offer: Offer, base_url: str,
                    telegram_enabled: bool, now: datetime) -> None:
    view = to_view(offer, await session.get(SourceRow, offer.source), now)
    context = dict(
        gpu_name=view.gpu_name, price=offer.price_per_gpu_hour, max_price=alert.max_price,
        provider_name=view.provider_name, region=offer.region, market=MARKET_BY_SPOT[offer.spot],
        age_label=offer_age_label(view), offers_url=f"{base_url.rstrip('/')}/gpus/{alert.gpu}",
    )
    dedupe_key = f"price-alert:{alert.id}:{now.isoformat()}"
    if alert.user_id is not None:
        await send_event(session, alert.user_id, "price_alert", base_url=base_url, telegram_enabled=telegram_enabled,
                         dedupe_key=dedupe_key, now=now, **context)
    elif telegram_enabled:
        message = render("price_alert", base_url, **context)
        await notify_chat(session, alert.chat_id, "price_alert", message.telegram, dedupe_key=dedupe_key, now=now)


async def check_after_poll(sessions: async_sessionmaker[AsyncSession], settings, source: str,
                           at: datetime) -> None:
    """The poller's hook: runs after a successful ingest committed. An alert problem is logged and
    never turns a good poll into a failed one."""
    try:
        report = await check_price_alerts(sessions, base_url=settings.web.base_url,
                                          telegram_enabled=settings.telegram.enabled, source=source, now=at)
        if report.fired:
            log.info("price alerts after polling %s: %s", source, report)
    except Exception:  # noqa: BLE001
        log.exception("checking price alerts after polling %s failed", source)
