"""The inputs the outside probe answered with 500 (issue 10, item 4) and the classes they stand
for: each is a clear 400 (404 for an id) now, on SQLite and PostgreSQL, and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from app.db.models import Budget, DeploymentTemplate, ProviderBinding, User
from app.services.inputs import MAX_BODY_BYTES
from app.workspaces.scope import personal_workspace_id
from tests.console.conftest import Browser, sandbox_offers
from tests.fuzz.support import app_routes

HUGE_IDS = ["-1", "0", str(2**31), str(2**63), "99999999999999999999"]


@pytest.fixture
async def anonymous(app):
    async with AsyncTestClient(app=app) as client:
        yield Browser(client)


def assert_400(response, *words: str) -> None:
    assert response.status_code == 400, f"{response.status_code}: {response.text[:300]}"
    text = response.json()["detail"] if response.headers["content-type"].startswith("application/json") \
        else response.text
    for word in words:
        assert word in text, text[:500]


async def user_count(sessions) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(User))).scalar_one()


# ---- logged out -----------------------------------------------------------------------------

async def test_a_region_longer_than_any_region_is_a_400_not_the_sqlite_like_limit(anonymous, sessions):
    for length in (129, 50_001, 60_000):
        assert_400(await anonymous.get(f"/api/v1/prices?region={'x' * length}"), "region", "too long")
    assert_400(await anonymous.get(f"/?region={'x' * 50_001}"), "region", "too long")
    assert (await anonymous.get(f"/api/v1/prices?region={'x' * 128}")).status_code == 200


@pytest.mark.parametrize("since", ["9999-12-31", "9999-01-01", "2200-01-01", "0001-01-01", "1999-12-31"])
async def test_a_history_date_out_of_range_is_a_400(anonymous, sessions, since):
    assert_400(await anonymous.get(f"/api/v1/history?gpu=h100&since={since}"), "since")


@pytest.mark.parametrize("url", [
    "/api/v1/prices?region=a%00b", "/api/v1/prices?gpu=%00", "/api/v1/prices?provider=%00runpod",
    "/api/v1/prices?region%00=x", "/api/v1/history?gpu=h100%00", "/api/v1/gpus/h100%00",
    "/api/v1/gpus/%00/history", "/?region=eu%00", "/?gpu=h100%00", "/compare?gpu=%00", "/gpus/h100%00",
    "/costs?from=%00",
])
async def test_a_nul_in_a_query_or_path_parameter_is_a_400(anonymous, sessions, url):
    assert_400(await anonymous.get(url), "NUL")


@pytest.mark.parametrize(("url", "form"), [
    ("/login", {"email": "alice@example.com\x00", "password": "correct horse battery staple"}),
    ("/forgot", {"email": "alice@example.com\x00"}),
    ("/signup", {"email": "nul@example.com", "name": "Nul\x00", "password": "correct horse battery staple"}),
    ("/signup", {"email": "nul\x00@example.com", "name": "Nul", "password": "correct horse battery staple"}),
    ("/signup", {"email": "nul@example.com", "name": "Nul", "password": "correct horse \x00battery staple"}),
])
async def test_a_nul_in_a_form_field_is_a_400_and_changes_nothing(anonymous, sessions, url, form):
    assert_400(await anonymous.post(url, form), "NUL")
    assert await user_count(sessions) == 0


async def test_a_nul_in_a_multipart_form_is_a_400_too(anonymous, sessions):
    await anonymous.get("/login")
    response = await anonymous.client.post(
        "/signup", files={"email": (None, "nul@example.com"), "name": (None, "Nul\x00"),
                          "password": (None, "correct horse battery staple")},
        headers={"x-csrftoken": anonymous.client.cookies["computehub_csrf"]})
    assert_400(response, "NUL")
    assert await user_count(sessions) == 0


async def test_a_field_longer_than_its_column_is_a_400_naming_it(anonymous, sessions):
    form = {"email": "long@example.com", "name": "N" * 121, "password": "correct horse battery staple"}
    assert_400(await anonymous.post("/signup", form), "name", "120 characters")
    assert_400(await anonymous.post("/signup", {**form, "name": "N", "password": "p" * 5_000}),
               "password", "at most 4,096")
    assert await user_count(sessions) == 0


async def test_a_body_over_the_limit_is_a_413(anonymous, sessions):
    response = await anonymous.post("/signup", {"email": "big@example.com", "name": "x" * (MAX_BODY_BYTES + 1)})
    assert response.status_code == 413
    assert "too large" in response.text


# ---- logged in ------------------------------------------------------------------------------

async def test_a_nul_in_the_profile_name_or_a_key_label_is_a_400_and_changes_nothing(as_alice, sessions, alice):
    assert_400(await as_alice.post("/settings/profile", {"name": "Alice\x00", "timezone": "UTC"}), "NUL")
    assert_400(await as_alice.post(f"/settings/providers/{alice.binding_id}/rename", {"label": "key\x00"}), "NUL")
    assert_400(await as_alice.post("/settings/providers", {"provider": "sandbox", "label": "k\x00",
                                                           "api_key": "sbx_x"}), "NUL")
    async with sessions() as session:
        assert (await session.get(User, alice.user_id)).name == "alice"
        labels = list((await session.execute(select(ProviderBinding.label))).scalars())
    assert all("\x00" not in label for label in labels) and len(labels) == 1


def id_routes(app) -> list:
    return [route for route in app_routes(app) if route.int_params]


async def test_every_int_route_answers_404_for_an_id_no_row_can_have(app, as_alice):
    routes = id_routes(app)
    # The walk is what covers routes added later: it must find every kind there is today.
    assert {name for route in routes for name in route.int_params} >= {
        "instance_id", "template_id", "binding_id", "alert_id"}
    assert len(routes) >= 12
    for route in routes:
        for bad in HUGE_IDS:
            url = route.url(**{name: bad for name in route.int_params}, **{name: "stop" for name in route.str_params})
            if route.method in ("GET", "POST"):
                response = await (as_alice.get(url) if route.method == "GET" else as_alice.post(url))
            else:  # the console API's DELETE and PATCH
                response = await as_alice.client.request(route.method, url)
            assert response.status_code == 404, f"{route.method} {url}: {response.status_code} {response.text[:200]}"


@pytest.mark.parametrize("bad", HUGE_IDS[2:] + ["1e3", "0x10", "１２"])
async def test_an_id_field_no_row_can_have_is_a_400(as_alice, sessions, alice, bad):
    await sandbox_offers(sessions)
    # The query parameter is typed: what is not a number, or no id, is a 400; "1e3" reads as 1000, no such offer.
    assert (await as_alice.get(f"/console/launch?offer={bad}")).status_code in (400, 404)
    assert_400(await as_alice.post("/console/launch", {"offer": bad, "binding_id": alice.binding_id}))
    assert_400(await as_alice.get(f"/console/batch?op=stop&id={bad}"))
    await as_alice.post("/console/templates", {"name": "t", "provider": "sandbox", "instance_type": "sbx.h100.1x",
                                               "region": "sandbox-eu-1"})
    async with sessions() as session:
        template = (await session.execute(select(DeploymentTemplate.id))).scalar_one()
    assert_400(await as_alice.post(f"/console/templates/{template}/launch", {"binding_id": bad, "name": "x"}))


# ---- budgets (item 9) -----------------------------------------------------------------------

@pytest.mark.parametrize("amount", ["1e-30", "0.004", "0.009", "0", "-1", "-0.01", "NaN", "sNaN", "Infinity",
                                    "-Infinity", "1e400", "10000000.01", "99999999999999999999", "1e-999999999999"])
async def test_a_budget_under_a_cent_or_over_the_maximum_is_refused(as_alice, sessions, alice, amount):
    response = await as_alice.post("/settings/notifications/budget", {"monthly_budget": amount})

    assert_400(response, "between $0.01 and $10,000,000")
    async with sessions() as session:
        assert await session.get(Budget, await personal_workspace_id(session, alice.user_id)) is None


async def test_a_budget_of_a_cent_is_kept(as_alice, sessions, alice):
    response = await as_alice.post("/settings/notifications/budget", {"monthly_budget": "0.01"})
    assert response.status_code == 200
    async with sessions() as session:
        assert (await session.get(Budget, await personal_workspace_id(session, alice.user_id))).monthly_amount == Decimal("0.01")


@pytest.mark.parametrize("part", [b"\xff\xfe", b"ok\x00"])
async def test_a_multipart_field_that_is_no_text_is_a_400(anonymous, sessions, part):
    await anonymous.get("/login")
    body = (b'--xx\r\nContent-Disposition: form-data; name="email"\r\n\r\n' + part + b"\r\n--xx--\r\n")
    response = await anonymous.client.post("/forgot", content=body, headers={
        "content-type": "multipart/form-data; boundary=xx", "x-csrftoken": anonymous.client.cookies["computehub_csrf"]})
    assert response.status_code == 400, response.text[:300]
