"""Deleting an account: refused while deployments live; then keys and personal data are gone,
the cost records stay on an anonymized row, every session ends, and the address is free again."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from app.auth import service
from app.console import bindings
from app.costs.accrual import accrue_costs
from app.db.models import (
    Budget,
    CostRecord,
    DeploymentTemplate,
    EmailChangeToken,
    Instance,
    InstanceEvent,
    NotificationPreference,
    PasswordResetToken,
    PriceAlert,
    ProviderBinding,
    RecoveryCode,
    Subscription,
    TelegramChat,
    User,
)
from app.db.types import utcnow
from app.security.keyring import Keyring
from app.workspaces import personal_workspace_id
from providers.sandbox import generate_api_key
from tests.accounts.support import outbox, stored_user, user_by_email
from tests.auth.support import PASSWORD, make_user
from tests.billing.support import grant
from tests.costs.support import add_instance

PAGE, ACTION = "/settings/account/delete", "/settings/account/delete"
CONFIRMED = {"password": PASSWORD, "confirmation": "DELETE"}
PERSONAL = (ProviderBinding, DeploymentTemplate, PriceAlert, Budget, NotificationPreference, RecoveryCode,
            PasswordResetToken, EmailChangeToken)


async def fill_account(sessions, settings, user_id: int) -> None:
    """A key, a template, an alert, a budget, a switch, a Telegram chat, recovery codes, pending
    reset and e-mail links, a TOTP secret: something in every table deletion must empty."""
    keyring = Keyring.from_spec(settings.security.master_keys)
    now = utcnow()
    async with sessions() as session, session.begin():
        await bindings.add_binding(session, keyring, user_id, "sandbox", "mine", {"api_key": generate_api_key()})
        session.add_all([
            DeploymentTemplate(workspace_id=await personal_workspace_id(session, user_id), user_id=user_id, name="t", provider="sandbox", instance_type="x", region="eu-1",
                               created_at=now),
            PriceAlert(user_id=user_id, gpu="h100", max_price=Decimal("2.00"), created_at=now),
            Budget(workspace_id=await personal_workspace_id(session, user_id), monthly_amount=Decimal("100")),
            NotificationPreference(user_id=user_id, event_type="budget", channel="email", enabled=False),
            TelegramChat(chat_id=424242, user_id=user_id, username="ada", created_at=now, linked_at=now),
            RecoveryCode(user_id=user_id, code_hash="0" * 64),
            EmailChangeToken(user_id=user_id, new_email="ada@example.org", token_hash="1" * 64, created_at=now,
                             expires_at=now + timedelta(hours=24)),
        ])
        user = await session.get(User, user_id)
        service.begin_totp(user, keyring)
        await service.create_reset_token(session, user.email)


async def rows_of(sessions, table, user_id: int) -> int:
    async with sessions() as session:
        if table is Budget:  # a workspace's: the user's personal one
            return (await session.execute(select(func.count()).select_from(table).where(
                table.workspace_id == await personal_workspace_id(session, user_id)))).scalar_one()
        return (await session.execute(select(func.count()).select_from(table).where(table.user_id == user_id))).scalar_one()


async def cost_total(sessions, user_id: int) -> tuple[int, Decimal]:
    async with sessions() as session:
        count, total = (await session.execute(select(func.count(), func.sum(CostRecord.amount))
                                              .where(CostRecord.user_id == user_id))).one()
    return count, Decimal(total or 0)


async def terminate(sessions, instance_id: int) -> None:
    now = utcnow()
    async with sessions() as session, session.begin():
        await session.execute(update(Instance).where(Instance.id == instance_id)
                              .values(status="terminated", terminated_at=now, updated_at=now))
        session.add(InstanceEvent(instance_id=instance_id, status="terminated", at=now))


async def test_refused_while_a_deployment_lives_then_erases_and_keeps_the_costs(new_browser, sessions, settings, app):
    user, _ = await make_user(sessions, "ada@example.com", name="Ada Lovelace")
    await fill_account(sessions, settings, user.id)
    start = utcnow() - timedelta(hours=3)
    await add_instance(sessions, user.id, "done", [(start, "running", "2.00"), (start + timedelta(hours=1), "terminated", None)])
    live = await add_instance(sessions, user.id, "live", [(start, "running", "1.50")])
    await accrue_costs(sessions)
    costs = await cost_total(sessions, user.id)
    assert costs[0] > 0 and costs[1] > Decimal("2")
    here, elsewhere = new_browser(), new_browser("203.0.113.9")
    await here.login("ada@example.com")
    await elsewhere.login("ada@example.com")

    for form, message in [({**CONFIRMED, "password": "wrong password"}, "current password is not right"),
                          ({**CONFIRMED, "confirmation": "delete it"}, "type DELETE to confirm")]:
        refused = await here.submit(PAGE, ACTION, form)
        assert refused.status_code == 400 and message in refused.text
    running = await here.submit(PAGE, ACTION, CONFIRMED)
    assert running.status_code == 400 and "1 of your deployments is not terminated yet" in running.text
    assert 'value="DELETE"' in running.text  # the typed confirmation is kept
    assert await rows_of(sessions, ProviderBinding, user.id) == 1  # nothing was erased
    assert (await stored_user(sessions, user.id)).email == "ada@example.com"

    await terminate(sessions, live)
    await accrue_costs(sessions)
    costs = await cost_total(sessions, user.id)
    done = await here.submit(PAGE, ACTION, CONFIRMED)
    assert done.status_code in (302, 303) and done.headers["location"] == "/account/deleted"
    assert "Your account was deleted" in (await here.get("/account/deleted")).text

    for table in PERSONAL:
        assert await rows_of(sessions, table, user.id) == 0, table.__name__
    async with sessions() as session:
        chat = await session.get(TelegramChat, 424242)
        assert chat.user_id is None  # unlinked; the chat itself is the bot's
        instances = (await session.execute(select(Instance).where(Instance.user_id == user.id))).scalars().all()
        assert len(instances) == 2 and all(i.binding_id is None and i.ssh_public_key == "" for i in instances)
    assert await cost_total(sessions, user.id) == costs  # the cost records stay, whole
    row = await stored_user(sessions, user.id)
    assert row.email == f"deleted-{user.id}@deleted.invalid" and row.name == "Deleted user"
    assert (row.is_admin, row.totp_secret, row.totp_enabled) == (False, None, False)
    assert row.deleted_at is not None and row.password_hash != user.password_hash

    # Every session is over, the old address can neither log in nor reset, and may sign up afresh.
    assert (await here.get("/console")).headers["location"].startswith("/login")
    assert (await elsewhere.get("/settings/profile")).headers["location"].startswith("/login")
    assert (await elsewhere.login("ada@example.com")).status_code == 400
    assert (await elsewhere.login(row.email)).status_code == 400
    mails = len(outbox(settings))
    await elsewhere.submit("/forgot", "/forgot", {"email": row.email})
    assert len(outbox(settings)) == mails
    signed_up = await elsewhere.submit("/signup", "/signup", {"email": "ada@example.com", "name": "Ada", "password": PASSWORD})
    assert signed_up.status_code in (302, 303)
    fresh = await user_by_email(sessions, "ada@example.com")
    assert fresh.id != user.id and await cost_total(sessions, fresh.id) == (0, Decimal(0))


async def test_a_renewing_stripe_subscription_must_be_canceled_first(new_browser, sessions):
    billed, _ = await make_user(sessions, "bob@example.com", name="Bob")
    await grant(sessions, billed.id, "pro", stripe_subscription_id="sub_1Bob", stripe_customer_id="cus_Bob")
    browser = new_browser()
    await browser.login("bob@example.com")
    refused = await browser.submit(PAGE, ACTION, CONFIRMED)
    assert refused.status_code == 400 and "cancel it on the Subscription page first" in refused.text
    assert (await user_by_email(sessions, "bob@example.com")).deleted_at is None
    async with sessions() as session:
        (await session.execute(select(Subscription).where(Subscription.user_id == billed.id))).scalar_one() \
            .cancel_at_period_end = True
        await session.commit()
    assert (await browser.submit(PAGE, ACTION, CONFIRMED)).headers["location"] == "/account/deleted"


async def test_a_local_subscription_ends_a_stripe_one_is_left_to_stripe(new_browser, sessions):
    local, _ = await make_user(sessions, "ada@example.com")
    billed, _ = await make_user(sessions, "bob@example.com", name="Bob")
    await grant(sessions, local.id, "pro")
    await grant(sessions, billed.id, "pro", stripe_subscription_id="sub_1Bob", stripe_customer_id="cus_Bob")
    async with sessions() as session:  # canceled at period end: Stripe bills nothing more
        (await session.execute(select(Subscription).where(Subscription.user_id == billed.id))).scalar_one() \
            .cancel_at_period_end = True
        await session.commit()
    for email in ("ada@example.com", "bob@example.com"):
        browser = new_browser()
        await browser.login(email)
        assert (await browser.submit(PAGE, ACTION, CONFIRMED)).headers["location"] == "/account/deleted"
    async with sessions() as session:
        subs = {s.user_id: s for s in (await session.execute(select(Subscription))).scalars()}
    assert subs[local.id].status == "canceled"
    assert (subs[billed.id].status, subs[billed.id].stripe_subscription_id) == ("active", "sub_1Bob")
