"""The demo account of local runs (``make run``): log in with the configured address and password
and find a sandbox key already bound, so the console can be tried without any cloud account.

Only the simulated cloud can be bound to it (see ``app/console/pages/bindings.py``): everyone who
knows the demo password shares the account.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import service
from app.billing.limits import apply_plan_limits
from app.console.bindings import add_checked_binding
from app.services import leases
from app.db.models import ProviderBinding, User
from app.security.keyring import Keyring
from app.settings import Settings
from providers.http import new_client
from providers.sandbox import generate_api_key

log = logging.getLogger(__name__)
DEMO_NAME = "Demo"
DEMO_KEY_LABEL = "Sandbox demo"


async def ensure_demo_account(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, keyring: Keyring
) -> int | None:
    """Create the demo user and its sandbox key when missing (idempotent). Returns the user id,
    or None when the demo settings are unusable (logged; start-up goes on without a demo) or another
    process is setting it up right now (several web processes start at once)."""
    holder = uuid.uuid4().hex
    if not await leases.acquire(sessions, "demo-account", timedelta(minutes=2), holder=holder):
        return None
    try:
        return await _ensure_demo_account(sessions, settings, keyring)
    finally:
        await leases.release(sessions, "demo-account", holder=holder)


async def _ensure_demo_account(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, keyring: Keyring
) -> int | None:
    demo = settings.sandbox
    async with sessions() as session:
        email = service.normalize_email(demo.demo_email)
        user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
        if user is None:
            try:
                user = await service.signup(session, email, DEMO_NAME, demo.demo_password)
            except service.AccountError as exc:  # a weak demo password, or another process won the race
                log.error("demo account %s not created: %s", email, exc)
                return None
            log.info("created the demo account %s", email)
        user_id = user.id
        has_key = (await session.execute(select(ProviderBinding.id).where(
            ProviderBinding.user_id == user_id, ProviderBinding.provider == "sandbox"))).first()
        if has_key is None:
            # Recount the plan's binding quota from the rows first: a key deleted outside the app
            # (or a database from before billing) must not block the demo key.
            await apply_plan_limits(session, user_id)
        await session.commit()
    if has_key is None:
        # The simulated cloud runs in this process: checking the key makes no network call.
        async with new_client() as http:
            await add_checked_binding(sessions, keyring, http, user_id, "sandbox", DEMO_KEY_LABEL, {"api_key": generate_api_key()})
    return user_id
