"""Every event type renders to a subject, a plain-text and an HTML e-mail, and a Telegram message;
what comes from users (instance names, errors) is escaped where markup is read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.notifications.events import EVENT_TYPES
from app.notifications.messages import render
from app.notifications.outbox import notify
from tests.notifications.conftest import BASE_URL, make_user, outbox

URL = f"{BASE_URL}/console/instances/7"
CONTEXTS = {
    "deployment_state": dict(instance_name="train<1>", provider_name="Lambda", old_status="provisioning",
                             new_status="running", instance_url=URL),
    "failure": dict(instance_name="train<1>", provider_name="Lambda", error="disk full & <OOM>", instance_url=URL),
    "repair": dict(instance_name="train<1>", provider_name="Lambda", action="reboot", result="ok", attempt=2,
                   detail="health check failed 3 times", instance_url=URL),
    "cost_warning": dict(threshold=90, spent=Decimal("90.25"), budget=Decimal("100"), month_label="November 2026"),
    "budget_limit": dict(phase="stopped", spent=Decimal("100.25"), budget=Decimal("100"), month_label="November 2026",
                         stop_at="2026-11-20 16:00 CET", instance_names=["train<1>", "eval"]),
    "price_alert": dict(gpu_name="H100 SXM 80GB", price=Decimal("1.89"), max_price=Decimal("2"),
                        provider_name="Lambda", region="us-east-1", market="on-demand", age_label="live: just now",
                        offers_url=f"{BASE_URL}/gpus/h100"),
}
SUBJECTS = {
    "deployment_state": "train<1> is now running",
    "failure": "Failure: train<1> on Lambda",
    "repair": "Auto-repair of train<1>: reboot done",
    "cost_warning": "You have used 90% of your November 2026 budget",
    "budget_limit": "Stopped 2 instances: your November 2026 budget is spent",
    "price_alert": "H100 SXM 80GB at $1.89/GPU-h (your alert: $2.00)",
}


def test_every_event_type_has_its_templates():
    assert set(CONTEXTS) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_render(event_type):
    message = render(event_type, BASE_URL, **CONTEXTS[event_type])

    assert message.subject == SUBJECTS[event_type]
    assert f"{BASE_URL}/settings/notifications" in message.text
    assert message.html.startswith("<!doctype html>") and f'href="{BASE_URL}/settings/notifications"' in message.html
    if "instance_name" in CONTEXTS[event_type]:
        assert "train<1>" in message.text
        assert "train&lt;1&gt;" in message.html and "train<1>" not in message.html
        assert "<b>train&lt;1&gt;</b>" in message.telegram
    assert message.telegram and "<!doctype" not in message.telegram


def test_a_missing_value_is_an_error_not_an_empty_sentence():
    with pytest.raises(Exception, match="price"):
        render("price_alert", BASE_URL, **{k: v for k, v in CONTEXTS["price_alert"].items() if k != "price"})


async def test_preferences_and_plan_decide_what_is_queued(sessions):
    pro = await make_user(sessions, "pro@example.com", "pro")
    basic = await make_user(sessions, "basic@example.com", "basic")
    async with sessions() as session, session.begin():
        # State changes are off by default; failures on.
        assert await notify(session, pro, "deployment_state", "s", "state") == 0
        assert await notify(session, pro, "failure", "f", "failed") == 1
        # Basic: only price alerts (notifications are Pro).
        assert await notify(session, basic, "failure", "f", "failed") == 0
        assert await notify(session, basic, "price_alert", "p", "cheap") == 1
        # The same dedupe key twice: queued once.
        assert await notify(session, pro, "repair", "r", "rebooted", dedupe_key="repair:1:1") == 1
        assert await notify(session, pro, "repair", "r", "rebooted", dedupe_key="repair:1:1") == 0
    assert [(m.destination, m.event_type) for m in await outbox(sessions)] == [
        ("pro@example.com", "failure"), ("basic@example.com", "price_alert"), ("pro@example.com", "repair")]
