"""One gating mechanism everywhere: Basic is refused with a message naming the plan that has the
feature (a page with an upgrade link, or 403 JSON in the API); Pro is let in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar import get

from app.auth.session import requires_login
from app.billing.entitlements import require_feature, require_subscription
from app.billing.limits import apply_plan_limits
from app.db.models import Instance
from app.db.types import utcnow
from app.services.history import day_bounds, refresh_daily_stats
from app.workspaces import personal_workspace_id
from providers.sandbox import generate_api_key
from tests.billing.conftest import add_sandbox_binding
from tests.billing.support import bindings_of, grant
from tests.support.factories import make_offer, seed
from tests.web.html import parse_html


def assert_locked(response, plan: str = "Pro") -> None:
    assert response.status_code == 403, response.text[:300]
    doc = parse_html(response.text)
    assert doc.one("p", class_="eyebrow").text == f"Needs the {plan} plan"
    assert f"{plan} plan" in doc.one("p", class_="error-message").text
    assert doc.one("a", data_upgrade_link="").get("href") == "/settings/subscription"


# ---- templates and batch actions -------------------------------------------------------------

async def test_templates_are_pro(as_ada, sessions, ada):
    assert_locked(await as_ada.get("/console/templates"))
    refused = await as_ada.submit("/settings/subscription", "/console/templates", {"name": "x"})
    assert_locked(refused)
    assert "Deployment templates needs the Pro plan" in refused.text

    await grant(sessions, ada, "pro")

    page = await as_ada.get("/console/templates")
    assert page.status_code == 200
    assert parse_html(page.text).one("h1").text == "Deployment templates"


async def instance_of(sessions, user_id: int, binding_id: int, name: str) -> int:
    now = utcnow()
    async with sessions() as session, session.begin():
        row = Instance(workspace_id=await personal_workspace_id(session, user_id), user_id=user_id, binding_id=binding_id, provider="sandbox", provider_instance_id="i-1",
                       client_token=f"tok-{name}", name=name, instance_type="sbx.h100.1x", region="sandbox-eu-1",
                       status="running", created_at=now, updated_at=now)
        session.add(row)
        await session.flush()
        return row.id


async def test_batch_actions_are_pro(as_ada, sessions, keyring, ada):
    binding = await add_sandbox_binding(sessions, keyring, ada, "key")
    instance = await instance_of(sessions, ada, binding, "box-1")

    assert_locked(await as_ada.get(f"/console/batch?op=stop&id={instance}"))
    refused = await as_ada.submit("/settings/subscription", "/console/batch", {"op": "stop", "id": str(instance)})
    assert_locked(refused)
    assert "Batch actions needs the Pro plan" in refused.text

    await grant(sessions, ada, "pro")

    confirm = await as_ada.get(f"/console/batch?op=stop&id={instance}")
    assert confirm.status_code == 200
    assert "box-1" in parse_html(confirm.text).one("ul", data_plan="").text


# ---- bindings quota --------------------------------------------------------------------------

async def add_key_via_page(browser, label: str):
    return await browser.submit("/settings/providers/new?provider=sandbox", "/settings/providers",
                                {"provider": "sandbox", "label": label, "api_key": generate_api_key()})


async def test_a_second_binding_is_pro(as_ada, sessions, ada):
    assert (await add_key_via_page(as_ada, "first")).status_code in (302, 303)

    refused = await add_key_via_page(as_ada, "second")

    assert_locked(refused)
    assert "Your plan allows 1 provider binding(s). The Pro plan has no limit" in refused.text
    assert [b.label for b in await bindings_of(sessions, ada)] == ["first"]

    await grant(sessions, ada, "pro")

    assert (await add_key_via_page(as_ada, "second")).status_code in (302, 303)
    assert (await add_key_via_page(as_ada, "third")).status_code in (302, 303)
    assert [b.label for b in await bindings_of(sessions, ada)] == ["first", "second", "third"]


async def test_disabled_bindings_do_not_count(as_ada, sessions, keyring, ada):
    await grant(sessions, ada, "pro")
    first = await add_sandbox_binding(sessions, keyring, ada, "first")
    await add_sandbox_binding(sessions, keyring, ada, "second")
    await grant(sessions, ada, "pro", status="canceled")
    async with sessions() as session, session.begin():
        await apply_plan_limits(session, ada)
    assert [b.status for b in await bindings_of(sessions, ada)] == ["verified", "disabled"]

    # Removing the enabled one leaves the disabled one holding no slot: a new key fits.
    assert (await as_ada.submit(f"/settings/providers/{first}/remove", f"/settings/providers/{first}/remove",
                                {"confirm": "yes"})).status_code in (302, 303)
    assert (await add_key_via_page(as_ada, "new")).status_code in (302, 303)
    assert [b.label for b in await bindings_of(sessions, ada)] == ["second", "new"]


# ---- full price history ----------------------------------------------------------------------

OLD_DAY = utcnow().date() - timedelta(days=60)
TODAY = utcnow().date()


@pytest.fixture
async def long_history(sessions):
    """An H100 offer first seen 60 days ago, cheaper today."""
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.99", instance_type="h100-1x")],
               at=day_bounds(OLD_DAY)[0] + timedelta(hours=10))
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.49", instance_type="h100-1x")],
               at=day_bounds(TODAY)[0])
    async with sessions() as session, session.begin():
        for day in (OLD_DAY, TODAY):
            await refresh_daily_stats(session, day)


def days_in(body) -> set[str]:
    return {p["day"] for s in body["series"] for p in s["points"]}


async def test_price_history_beyond_30_days_is_pro(browser, as_ada, sessions, ada, long_history):
    # 30 days stay public.
    public = await browser.http.get("/api/v1/gpus/h100-sxm/history?days=30")
    assert public.status_code == 200 and days_in(public.json()) == {TODAY.isoformat()}

    for who in (browser.http, as_ada.http):  # anonymous, then Basic
        refused = await who.get("/api/v1/gpus/h100-sxm/history?days=90")
        assert refused.status_code == 403
        body = refused.json()
        assert body["detail"] == "Full price history needs the Pro plan. Upgrade at /settings/subscription."
        assert (body["plan"], body["upgrade_url"]) == ("Pro", "/settings/subscription")
        assert (await who.get(f"/api/v1/history?gpu=h100-sxm&since={OLD_DAY.isoformat()}")).status_code == 403
        recent = (await who.get("/api/v1/history?gpu=h100-sxm")).json()["items"]
        assert [(e["event"], e["price_per_hour"]) for e in recent] == [("changed", "2.490000")]

    await grant(sessions, ada, "pro")

    full = await as_ada.http.get("/api/v1/gpus/h100-sxm/history?days=90")
    assert full.status_code == 200 and days_in(full.json()) == {OLD_DAY.isoformat(), TODAY.isoformat()}
    events = (await as_ada.http.get(f"/api/v1/history?gpu=h100-sxm&since={OLD_DAY.isoformat()}")).json()["items"]
    assert [(e["event"], e["price_per_hour"]) for e in events] == [("appeared", "2.990000"), ("changed", "2.490000")]


async def test_the_gpu_page_shows_30_days_and_where_the_rest_is(browser, sessions, long_history):
    page = await browser.get("/gpus/h100-sxm")
    doc = parse_html(page.text)
    days = [row.find_all("td")[0].text for row in doc.one("table", class_="history").find("tbody").find_all("tr")]
    assert days == [TODAY.isoformat()]
    assert "last 30 days" in page.text
    assert doc.find("a", data_upgrade_link="").get("href") == "/settings/subscription"


# ---- the guards themselves -------------------------------------------------------------------

@pytest.fixture
def guarded(app):
    """Routes a later feature would add, behind the same guards."""

    @get("/test-only/auto-repair", guards=[requires_login, require_feature("auto_repair")], sync_to_thread=False)
    def auto_repair() -> str:
        return "auto-repair settings"

    @get("/test-only/node-pools", guards=[requires_login, require_subscription("enterprise")], sync_to_thread=False)
    def node_pools() -> str:
        return "node pools"

    app.register(auto_repair)
    app.register(node_pools)
    return app


async def test_the_guards_name_the_plan_and_follow_the_subscription(guarded, as_ada, sessions, ada):
    assert_locked(await as_ada.get("/test-only/auto-repair"))
    assert "Auto-repair needs the Pro plan" in (await as_ada.get("/test-only/auto-repair")).text
    assert_locked(await as_ada.get("/test-only/node-pools"), "Enterprise")

    await grant(sessions, ada, "pro")
    assert (await as_ada.get("/test-only/auto-repair")).text == "auto-repair settings"
    assert_locked(await as_ada.get("/test-only/node-pools"), "Enterprise")

    await grant(sessions, ada, "enterprise")
    assert (await as_ada.get("/test-only/node-pools")).text == "node pools"

    # A lapsed trial, and past_due beyond the grace period, are Basic again; within grace, not.
    await grant(sessions, ada, "pro", status="trialing", trial_end=utcnow() - timedelta(minutes=1))
    assert_locked(await as_ada.get("/test-only/auto-repair"))
    await grant(sessions, ada, "pro", status="past_due", past_due_since=utcnow() - timedelta(days=3))
    assert (await as_ada.get("/test-only/auto-repair")).status_code == 200
    await grant(sessions, ada, "pro", status="past_due", past_due_since=utcnow() - timedelta(days=8))
    assert_locked(await as_ada.get("/test-only/auto-repair"))


async def test_a_guard_sends_a_visitor_to_log_in_first(guarded, browser):
    response = await browser.get("/console/templates")
    assert response.status_code in (302, 303) and response.headers["location"].startswith("/login")


def test_a_gate_refuses_a_feature_that_is_not_built():
    """The plans page lists BUILT_FEATURES only; a gate on any other name fails at import time,
    so a feature cannot be enforced (or sold) without being on that one list."""
    for planned in ("project_billing", "node_pools"):  # organizations is built (Enterprise is sold)
        with pytest.raises(ValueError, match="not a built feature"):
            require_feature(planned)
