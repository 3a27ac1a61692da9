"""Seeding for the cost tests: users (with a time zone and a key), instances with their state
history as the console records it, then the real accrual job."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from app.auth import service as accounts
from app.console import bindings
from app.db.models import Instance, InstanceEvent, User
from app.db.types import utcnow
from app.security.keyring import Keyring
from app.workspaces import personal_workspace_id
from providers.sandbox import generate_api_key
from tests.web.html import Node

PASSWORD = "correct horse battery staple"

Event = tuple[datetime, str, str | None]
"""(when, status, hourly price in force from then on)"""


async def make_user(sessions, keyring: Keyring, email: str, name: str, time_zone: str = "UTC",
                    with_key: bool = True) -> int:
    """A user in ``time_zone``, with a verified sandbox key unless ``with_key`` is false."""
    async with sessions() as session, session.begin():
        user = await accounts.signup(session, email, name, PASSWORD)
        user.timezone = time_zone
        if with_key:
            row = await bindings.add_binding(session, keyring, user.id, "sandbox", "", {"api_key": generate_api_key()})
            row.status, row.verified_at = "verified", utcnow()
        return user.id


async def set_time_zone(sessions, user_id: int, time_zone: str) -> None:
    async with sessions() as session, session.begin():
        (await session.get(User, user_id)).timezone = time_zone


async def add_instance(sessions, user_id: int, name: str, events: Sequence[Event], *, provider: str = "sandbox",
                       gpu: str | None = "h100-sxm") -> int:
    """An instance whose status and times follow ``events`` (the last one is its current state)."""
    last_at, last_status, _ = events[-1]
    async with sessions() as session, session.begin():
        row = Instance(
            workspace_id=await personal_workspace_id(session, user_id), user_id=user_id, provider=provider, provider_instance_id=f"{provider}-{name}", client_token=f"{user_id}-{name}",
            name=name, instance_type=f"{provider}.{gpu}.1x", region="eu-1", gpu_slug=gpu, gpu_count=Decimal(1),
            status=last_status, offer_price_per_hour=Decimal(events[0][2] or 0), created_at=events[0][0],
            updated_at=last_at, terminated_at=last_at if last_status == "terminated" else None,
        )
        session.add(row)
        await session.flush()
        for at, status, price in events:
            session.add(InstanceEvent(instance_id=row.id, status=status, at=at,
                                      price_per_hour=Decimal(price) if price is not None else None))
        return row.id


# ---- reading what the pages show ------------------------------------------------------------

def amount(node: Node) -> Decimal:
    return Decimal(node.get("data-amount"))


def card(doc: Node, key: str) -> Decimal:
    return amount(doc.one(class_="stat-card", data_card=key))


def daily_points(doc: Node) -> dict[str, Decimal]:
    """The no-JavaScript table of the trend: day -> amount."""
    return {row.get("data-day"): amount(row) for row in doc.one("table", class_="daily").one("tbody").find_all("tr")}


def figure(doc: Node, element_id: str) -> dict:
    return json.loads(doc.one(id=element_id).get("data-plotly-figure"))


def chart_points(doc: Node, element_id: str) -> dict[str, Decimal]:
    """The plotted trend: x (day) -> the exact amount each bar carries."""
    trace = figure(doc, element_id)["data"][0]
    return {x[:10]: Decimal(c) for x, c in zip(trace["x"], trace["customdata"])}


def table_amounts(doc: Node) -> list[Decimal]:
    table = doc.find("table", class_="cost-history")
    return [amount(row) for row in table.find("tbody").find_all("tr")] if table else []


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))
