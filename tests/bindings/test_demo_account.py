"""The demo account created at start-up for `make run`."""

from __future__ import annotations

import re
from dataclasses import replace

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.console.demo import ensure_demo_account
from app.db.models import ProviderBinding, User
from app.security.keyring import keyring_from_settings
from app.server import create_app
from tests.auth.support import Browser
from tests.bindings.helpers import shown_status


def with_demo(settings, **changes):
    return replace(settings, sandbox=replace(settings.sandbox, demo_account=True, **changes))


async def demo_rows(sessions):
    async with sessions() as session:
        users = (await session.execute(select(User))).scalars().all()
        bindings = (await session.execute(select(ProviderBinding))).scalars().all()
    return users, bindings


async def test_start_up_creates_a_demo_account_with_a_working_sandbox_key(sessions, settings, engine):
    demo = with_demo(settings, demo_email="Demo@Example.com", demo_password="try the console now")
    application = create_app(demo, engine=engine, run_worker=False)

    async with AsyncTestClient(app=application):
        browser = Browser(application)
        assert (await browser.login("demo@example.com", "try the console now")).headers["location"] == "/console"
        page = await browser.get("/settings/providers")
        [user], [binding] = await demo_rows(sessions)
        assert (binding.provider, binding.label, binding.user_id) == ("sandbox", "Sandbox demo", user.id)
        assert shown_status(page.text, binding.id) == "verified"
        # Shared by everyone who knows the password: only the simulated cloud can be bound.
        assert re.findall(r'<option value="([a-z0-9_]+)">', page.text) == ["sandbox"]
        assert (await browser.get("/settings/providers/new?provider=lambdalabs")).status_code == 400
        refused = await browser.post("/settings/providers", {"provider": "lambdalabs",
                                                             "api_key": "a-real-lambda-key-0123456789"})
        assert refused.status_code == 400
        assert len((await demo_rows(sessions))[1]) == 1
        await browser.close()


async def test_ensure_demo_account_is_idempotent(sessions, settings):
    demo = with_demo(settings)
    ring = keyring_from_settings(demo)

    first = await ensure_demo_account(sessions, demo, ring)
    second = await ensure_demo_account(sessions, demo, ring)

    users, bindings = await demo_rows(sessions)
    assert first == second == users[0].id and len(users) == 1
    assert users[0].email == demo.sandbox.demo_email and not users[0].is_admin
    assert [(b.provider, b.status) for b in bindings] == [("sandbox", "verified")]

    # The key removed by a visitor comes back at the next start; the account is not duplicated.
    async with sessions() as session, session.begin():
        await session.delete(await session.get(ProviderBinding, bindings[0].id))
    await ensure_demo_account(sessions, demo, ring)
    users, bindings = await demo_rows(sessions)
    assert len(users) == 1 and len(bindings) == 1


async def test_no_demo_account_when_off_or_without_the_sandbox(sessions, settings, engine):
    for changes in ({"demo_account": False}, {"enabled": False}):
        off = replace(settings, sandbox=replace(settings.sandbox, **{"demo_account": True, **changes}))
        async with AsyncTestClient(app=create_app(off, engine=engine, run_worker=False)):
            pass
        assert await demo_rows(sessions) == ([], [])


async def test_a_weak_demo_password_does_not_stop_the_app(sessions, settings, engine):
    weak = with_demo(settings, demo_password="short")
    async with AsyncTestClient(app=create_app(weak, engine=engine, run_worker=False)) as client:
        assert (await client.get("/healthz")).status_code == 200
    assert await demo_rows(sessions) == ([], [])
