"""The "Auto-repair" section of /console/instances/{id}: Pro switches it on; Basic sees it locked."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.server import create_app
from app.settings import SandboxSettings
from tests.repair.conftest import logged_in
from tests.repair.support import crash, reload, run_cycle, running_instance
from tests.web.html import parse_html


async def test_basic_sees_auto_repair_locked_and_cannot_switch_it_on(sessions, keyring, http, clock, cloud, settings,
                                                                    basic, as_basic):
    row = await running_instance(sessions, keyring, http, clock, basic)

    section = (await as_basic.page(f"/console/instances/{row.id}")).one(id="auto-repair")
    locked = section.one(class_="locked")
    assert "Auto-repair is part of the Pro plan." in locked.text
    assert locked.one("a").get("href") == "/settings/subscription"
    assert locked.one("input", type="checkbox").get("disabled") is not None
    assert section.find("form") is None

    response = await as_basic.post(f"/console/instances/{row.id}/auto-repair", {"auto_repair": "on"})
    assert response.status_code == 403
    assert "Auto-repair needs the Pro plan" in parse_html(response.text).text
    assert (await reload(sessions, row.id)).auto_repair is False


async def test_pro_switches_auto_repair_on_with_an_endpoint(sessions, keyring, http, clock, cloud, settings, pro,
                                                           as_pro):
    row = await running_instance(sessions, keyring, http, clock, pro)
    form = (await as_pro.page(f"/console/instances/{row.id}")).one(id="auto-repair").one("form")
    assert form.get("action") == f"/console/instances/{row.id}/auto-repair"
    assert form.one("input", name="auto_repair").get("checked") is None

    response = await as_pro.post(form.get("action"), {"auto_repair": "on", "health_check_url": "tcp://8.8.8.8:22"})

    assert response.status_code == 200 and response.url.path == f"/console/instances/{row.id}"
    page = parse_html(response.text)
    assert "Auto-repair settings saved." in page.text
    section = page.one(id="auto-repair")
    assert section.get("data-repair-state") == "ok"
    assert section.one("input", name="auto_repair").get("checked") is not None
    assert section.one("input", name="health_check_url").get("value") == "tcp://8.8.8.8:22"
    saved = await reload(sessions, row.id)
    assert (saved.auto_repair, saved.health_check_url) == (True, "tcp://8.8.8.8:22")

    response = await as_pro.post(form.get("action"), {"health_check_url": ""})  # unticked: off
    assert (await reload(sessions, row.id)).auto_repair is False
    assert parse_html(response.text).one(id="auto-repair").get("data-repair-state") == "off"


async def test_a_refused_endpoint_is_explained_and_the_input_kept(sessions, keyring, http, clock, cloud, settings, pro,
                                                                 as_pro):
    row = await running_instance(sessions, keyring, http, clock, pro)
    # Refused for its syntax before its address is even looked at (a metadata address is refused anyway).
    response = await as_pro.post(f"/console/instances/{row.id}/auto-repair",
                                 {"auto_repair": "on", "health_check_url": "http://admin:pw@169.254.169.254/"})

    assert response.status_code == 400
    section = parse_html(response.text).one(id="auto-repair")
    assert section.one(role="alert").text == "the health endpoint may not contain a user name or password"
    field = section.one("input", name="health_check_url")
    assert field.get("value") == "http://admin:pw@169.254.169.254/"
    assert field.get("aria-invalid") == "true"
    assert section.one("input", name="auto_repair").get("checked") is not None  # the choice is kept too
    assert (await reload(sessions, row.id)).auto_repair is False  # nothing saved


async def test_a_metadata_address_is_refused_on_the_page(sessions, engine, keyring, http, clock, cloud, settings, pro):
    production = create_app(replace(settings, sandbox=SandboxSettings(enabled=False, demo_account=False)),
                            engine=engine, run_worker=False)
    browser, client = await logged_in(production, pro.email)
    try:
        row = await running_instance(sessions, keyring, http, clock, pro)
        response = await browser.post(f"/console/instances/{row.id}/auto-repair",
                                      {"auto_repair": "on", "health_check_url": "http://169.254.169.254/latest/"})
    finally:
        await client.__aexit__(None, None, None)

    assert response.status_code == 400
    section = parse_html(response.text).one(id="auto-repair")
    assert section.one(role="alert").text == ("169.254.169.254 is a link-local address: ComputeHub only checks "
                                              "endpoints on public addresses")
    assert section.one("input", name="health_check_url").get("value") == "http://169.254.169.254/latest/"
    assert (await reload(sessions, row.id)).health_check_url is None


async def test_the_page_shows_the_checks_the_repairs_and_the_state(sessions, keyring, http, clock, cloud, settings,
                                                                  pro, as_pro):
    row = await running_instance(sessions, keyring, http, clock, pro)
    await as_pro.post(f"/console/instances/{row.id}/auto-repair", {"auto_repair": "on"})
    await crash(cloud, clock, pro, row)
    await run_cycle(sessions, keyring, http, settings, clock)

    section = (await as_pro.page(f"/console/instances/{row.id}")).one(id="auto-repair")

    assert section.get("data-repair-state") == "repairing"
    state = section.one(class_="repair-state").text
    next_at = clock() + timedelta(minutes=1)
    assert f"repairing attempt 1 of 5; next step at {next_at:%Y-%m-%d %H:%M:%S} UTC if it is still unhealthy" in state
    [check] = section.one("table", class_="repair-checks").one("tbody").find_all("tr")
    assert [cell.text for cell in check.find_all("td")][1:] == [
        "not healthy", "failed", "–", "the provider reports failed (crashed)"]
    [step] = section.one("table", class_="repair-actions").one("tbody").find_all("tr")
    assert [cell.text for cell in step.find_all("td")][1:4] == ["1", "start", "ok"]


async def test_another_users_instance_is_not_found(sessions, keyring, http, clock, cloud, settings, pro, as_pro):
    from tests.repair.conftest import make_account, make_pro

    other = await make_account(sessions, keyring, "olga@example.com")
    await make_pro(sessions, other.user_id)
    row = await running_instance(sessions, keyring, http, clock, other)

    response = await as_pro.post(f"/console/instances/{row.id}/auto-repair", {"auto_repair": "on"})

    assert response.status_code == 404
    assert (await reload(sessions, row.id)).auto_repair is False


async def test_a_given_up_instance_says_so(sessions, keyring, http, clock, cloud, settings, pro, as_pro):
    from sqlalchemy import update

    from app.db.models import Instance

    row = await running_instance(sessions, keyring, http, clock, pro)
    async with sessions() as session, session.begin():  # where the give-up test's hour of failures ends
        await session.execute(update(Instance).where(Instance.id == row.id).values(
            auto_repair=True, repair_state="gave_up", repair_attempts=5, next_repair_at=None))

    section = (await as_pro.page(f"/console/instances/{row.id}")).one(id="auto-repair")

    assert section.get("data-repair-state") == "gave_up"
    assert "gave up after 5 attempts: auto-repair is not trying any more." in section.one(class_="repair-state").text
