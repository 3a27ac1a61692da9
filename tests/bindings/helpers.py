"""Shared steps for the provider-key tests: add a key through the page, read the list."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from app.db.models import ProviderBinding
from tests.auth.support import Browser


@dataclass
class LoggedIn:
    user_id: int
    browser: Browser


async def add_key(browser: Browser, provider: str, key: str, label: str = "") -> httpx.Response:
    page = f"/settings/providers/new?provider={provider}"
    return await browser.submit(page, "/settings/providers", {"provider": provider, "label": label, "api_key": key})


def binding_row(page: str, binding_id: int) -> str:
    """The HTML of one binding's table row."""
    found = re.search(rf'<tr id="binding-{binding_id}".*?</tr>', page, re.S)
    assert found, page
    return found.group(0)


def shown_status(page: str, binding_id: int) -> str:
    return re.search(r'data-status="([a-z-]+)"', binding_row(page, binding_id)).group(1)


async def only_binding(sessions) -> ProviderBinding:
    async with sessions() as session:
        return (await session.execute(select(ProviderBinding))).scalar_one()


async def bindings_of(sessions, user_id: int) -> list[ProviderBinding]:
    async with sessions() as session:
        rows = await session.execute(select(ProviderBinding).where(ProviderBinding.user_id == user_id)
                                     .order_by(ProviderBinding.id))
        return list(rows.scalars())
