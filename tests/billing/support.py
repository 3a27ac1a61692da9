"""Helpers for the billing tests: Stripe fixtures, signed webhook deliveries, plan states."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from app.db.models import ProviderBinding, Subscription
from app.db.types import utcnow

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe"
WEBHOOK_SECRET = "whsec_test_computehub_0123456789abcdef"
PRICE_PRO = "price_ComputeHubPro"
PRICE_ENTERPRISE = "price_ComputeHubEnterprise"


def fixture(name: str, **changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text()))
    obj.update(changes)
    return obj


def subscription(user_id: int, *, status: str = "active", price: str = PRICE_PRO, sub_id: str = "sub_1ComputeHubAda01",
                 customer: str = "cus_ComputeHubAda01", period_end: datetime | None = None, **changes: Any) -> dict:
    obj = fixture("subscription", id=sub_id, customer=customer, status=status, metadata={"user_id": str(user_id)},
                  **changes)
    item = obj["items"]["data"][0]
    item["price"]["id"] = price
    item["subscription"] = sub_id
    item["current_period_end"] = int((period_end or utcnow() + timedelta(days=30)).timestamp())
    return obj


def invoice(user_id: int, *, invoice_id: str = "in_1ComputeHubAda01", sub_id: str = "sub_1ComputeHubAda01",
            status: str = "paid", amount: int = 2900, created: int | None = None) -> dict:
    obj = fixture("invoice", id=invoice_id, status=status, amount_due=amount,
                  amount_paid=amount if status == "paid" else 0, amount_remaining=0 if status == "paid" else amount,
                  created=created or int(time.time()))
    obj["parent"]["subscription_details"] = {"metadata": {"user_id": str(user_id)}, "subscription": sub_id}
    return obj


def event(event_id: str, type_: str, obj: dict, created: int) -> dict:
    """An event envelope as Stripe delivers it."""
    return {"id": event_id, "object": "event", "api_version": "2025-03-31.basil", "created": created,
            "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": type_}


def sign(raw: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header, built the way Stripe documents it."""
    t = timestamp or int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


async def deliver(client, evt: dict, secret: str = WEBHOOK_SECRET):
    raw = json.dumps(evt).encode()
    return await client.post("/webhooks/stripe", content=raw,
                             headers={"stripe-signature": sign(raw, secret), "content-type": "application/json"})


async def grant(sessions, user_id: int, plan: str, status: str = "active", **fields: Any) -> None:
    """Put an account on a plan directly (the state a finished checkout leaves)."""
    now = utcnow()
    values = dict(plan_code=plan, status=status, current_period_end=now + timedelta(days=30),
                  cancel_at_period_end=False, trial_used=False, updated_at=now)
    values.update(fields)
    async with sessions() as session, session.begin():
        row = (await session.execute(select(Subscription).where(
            Subscription.user_id == user_id, Subscription.workspace_id.is_(None)))).scalar_one_or_none()
        if row is None:
            session.add(Subscription(user_id=user_id, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)


async def subscription_row(sessions, user_id: int) -> Subscription | None:
    async with sessions() as session:
        return (await session.execute(select(Subscription).where(
            Subscription.user_id == user_id, Subscription.workspace_id.is_(None)))).scalar_one_or_none()


async def bindings_of(sessions, user_id: int) -> list[ProviderBinding]:
    async with sessions() as session:
        return list((await session.execute(select(ProviderBinding).where(ProviderBinding.user_id == user_id)
                                            .order_by(ProviderBinding.id))).scalars())


async def lapse_organization(sessions, workspace_id: int, before: datetime | None = None) -> None:
    """The organization's trial (or paid period) ended a day before ``before`` (now) and nobody paid."""
    past = (before or utcnow()) - timedelta(days=1)
    async with sessions() as session, session.begin():
        await session.execute(update(Subscription).where(Subscription.workspace_id == workspace_id)
                              .values(trial_end=past, current_period_end=past))
