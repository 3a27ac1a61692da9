"""Billing tests: the real app on each test database, billing in local mode with a webhook secret
(Stripe-mode tests build their own settings); Stripe itself is mocked with respx."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.console import bindings
from app.security.keyring import Keyring, generate_key_spec
from app.settings import BillingSettings, MailSettings, PollingSettings, SandboxSettings, SecuritySettings, Settings
from providers.sandbox import SandboxCloud, Timings, generate_api_key
from providers.sandbox import cloud as sandbox_cloud
from tests.auth.support import PASSWORD, app, browser, fast_password_hashing, make_user, new_browser  # noqa: F401
from tests.billing.support import PRICE_ENTERPRISE, PRICE_PRO, WEBHOOK_SECRET

MASTER_KEYS = generate_key_spec("billing1")


def billing_settings(mode: str = "local") -> BillingSettings:
    return BillingSettings(mode=mode, stripe_secret_key="sk_test_computehub" if mode == "stripe" else "",
                           stripe_webhook_secret=WEBHOOK_SECRET, stripe_price_pro=PRICE_PRO,
                           stripe_price_enterprise=PRICE_ENTERPRISE, trial_days=7, grace_days=7)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        polling=PollingSettings(enabled=False, load_snapshot=False),
        security=SecuritySettings(master_keys=MASTER_KEYS, session_secret="billing-test-secret-" + "x" * 20,
                                  session_store="memory", var_dir=tmp_path / "var"),
        mail=MailSettings(backend="outbox", outbox_dir=tmp_path / "outbox"),
        sandbox=SandboxSettings(enabled=True, demo_account=False),
        billing=billing_settings("local"),
    )


@pytest.fixture
def stripe_settings(settings) -> Settings:
    return replace(settings, billing=billing_settings("stripe"))


@pytest.fixture
def keyring(settings) -> Keyring:
    return Keyring.from_spec(settings.security.master_keys)


@pytest.fixture(autouse=True)
def cloud(monkeypatch) -> SandboxCloud:
    """A fresh in-process sandbox cloud: checking a sandbox key makes no network call."""
    cloud = SandboxCloud(timings=Timings())
    monkeypatch.setattr(sandbox_cloud, "_default_cloud", cloud)
    return cloud


async def new_account(sessions, email: str) -> int:
    user, _ = await make_user(sessions, email, name=email.split("@")[0])
    return user.id


async def add_sandbox_binding(sessions, keyring, user_id: int, label: str):
    """Through the console's add_binding, quota included; committed."""
    async with sessions() as session, session.begin():
        row = await bindings.add_binding(session, keyring, user_id, "sandbox", label, {"api_key": generate_api_key()})
        row.status = "verified"
        return row.id


@pytest.fixture
async def ada(sessions) -> int:
    return await new_account(sessions, "ada@example.com")


@pytest.fixture
async def as_ada(ada, browser):
    assert (await browser.login("ada@example.com", PASSWORD)).status_code in (302, 303)
    return browser

