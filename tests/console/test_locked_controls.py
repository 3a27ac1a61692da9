"""Plan-gated console controls: a Basic account sees them locked (disabled, naming the plan, linking
to the upgrade) instead of live controls that answer 403; a Pro account sees them live."""

from __future__ import annotations

from datetime import timedelta

from app.console.instances import LaunchSpec, launch
from app.db.types import utcnow
from tests.billing.support import grant
from tests.web.html import parse_html


async def deploy(sessions, keyring, http, account) -> int:
    row = await launch(sessions, keyring, http, account.user_id, LaunchSpec(
        binding_id=account.binding_id, name="gpu-1", instance_type="sbx.rtx4090.1x", region="sandbox-eu-1"))
    return row.id


def assert_locked_names_pro(node) -> None:
    assert node.find("button", disabled="") is not None
    link = node.one("a", data_upgrade_link="")
    assert link.get("href") == "/settings/subscription" and "Pro" in link.text


async def test_basic_sees_batch_and_templates_locked_naming_pro(as_bob, sessions, keyring, http, bob):
    instance_id = await deploy(sessions, keyring, http, bob)

    doc = await as_bob.page("/console")
    assert doc.find("form", id="batch") is None
    assert doc.find("button", data_batch_op="delete") is None
    assert doc.find("input", form="batch") is None
    assert_locked_names_pro(doc.one("span", data_locked="batch"))
    nav = doc.one("nav", class_="console-nav").one("a", class_="locked-link", data_locked="templates")
    assert nav.get("href") == "/settings/subscription" and "Pro" in nav.text
    assert doc.find("a", href="/console/templates") is None

    doc = await as_bob.page(f"/console/instances/{instance_id}")
    assert doc.find("form", action=f"/console/templates/from-instance/{instance_id}") is None
    locked = doc.one("span", data_locked="templates")
    assert "Save as template" in locked.text
    assert_locked_names_pro(locked)

    # The gates themselves still refuse the live routes.
    assert (await as_bob.get("/console/templates")).status_code == 403


async def test_pro_sees_the_live_controls(as_bob, sessions, keyring, http, bob):
    instance_id = await deploy(sessions, keyring, http, bob)
    await grant(sessions, bob.user_id, "pro")

    doc = await as_bob.page("/console")
    assert doc.find("form", id="batch") is not None
    assert [b.get("data-batch-op") for b in doc.find_all("button") if b.get("data-batch-op")] == ["start", "stop", "reboot", "delete"]
    assert doc.find("span", data_locked="batch") is None
    # The reboot button leads to the same confirmation step as the others (a provisioning one is skipped).
    plan = await as_bob.page(f"/console/batch?op=reboot&id={instance_id}")
    assert "Nothing to do: none of the selected deployments can be rebooted now." in plan.one("main").text
    assert doc.find("a", href="/console/templates") is not None
    doc = await as_bob.page(f"/console/instances/{instance_id}")
    assert doc.find("form", action=f"/console/templates/from-instance/{instance_id}") is not None
    assert doc.find("span", data_locked="templates") is None


async def test_a_lapsed_trial_locks_them_again(as_bob, sessions, bob):
    await grant(sessions, bob.user_id, "pro", status="trialing", trial_end=utcnow() - timedelta(minutes=1))
    doc = parse_html((await as_bob.get("/console")).text)
    nav = doc.one("nav", class_="console-nav")
    assert nav.one("a", class_="locked-link", data_locked="templates").get("href") == "/settings/subscription"
