"""Auto-repair tests: the real services and app on each test database, against the sandbox cloud
on a manual clock (the console's fixtures), with the job's ``now`` moved in step with that clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.db.models import Subscription
from app.db.types import utcnow
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
from tests.console.conftest import (  # noqa: F401 - the console's fixtures, reused as they are
    app, clock, cloud, http, keyring, logged_in, make_account, settings,
)


async def make_pro(sessions, user_id: int) -> None:
    now = utcnow()
    async with sessions() as session, session.begin():
        session.add(Subscription(user_id=user_id, plan_code="pro", status="active",
                                 current_period_end=now + timedelta(days=3650), updated_at=now))


@pytest.fixture
async def pro(sessions, keyring, cloud):
    account = await make_account(sessions, keyring, "pat@example.com")
    await make_pro(sessions, account.user_id)
    return account


@pytest.fixture
async def basic(sessions, keyring, cloud):
    return await make_account(sessions, keyring, "bea@example.com")


@pytest.fixture
async def as_pro(app, pro):
    browser, client = await logged_in(app, pro.email)
    yield browser
    await client.__aexit__(None, None, None)


@pytest.fixture
async def as_basic(app, basic):
    browser, client = await logged_in(app, basic.email)
    yield browser
    await client.__aexit__(None, None, None)
