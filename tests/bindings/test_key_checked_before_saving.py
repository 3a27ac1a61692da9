"""A key is checked with the provider before it is stored: a key the provider refuses, or cannot
confirm (5xx, timeout, 429), is not stored and takes none of the plan's binding slots, so a Basic
account can still add the right key at once. The page says what failed."""

from __future__ import annotations

import html

import httpx
import pytest
import respx
from sqlalchemy import select

from app.db.models import QuotaUsage
from providers.sandbox import generate_api_key, get_cloud
from tests.auth.support import make_user
from tests.bindings.helpers import LoggedIn, add_key, bindings_of

LAMBDA_INSTANCES = "https://cloud.lambda.ai/api/v1/instances"
LAMBDA_REFUSED = {"error": {"code": "global/invalid-api-key", "message": "API key was invalid, expired, or deleted."}}
WRONG_KEY = "lambda_wrong_" + "W4r8" * 8
RIGHT_KEY = "lambda_right_" + "G0o9" * 8


@pytest.fixture
async def basic(new_browser, sessions) -> LoggedIn:
    """A Basic account: one provider binding allowed."""
    user, _ = await make_user(sessions, "basil@example.com", name="Basil")
    b = new_browser("198.51.100.9")
    assert (await b.login("basil@example.com")).status_code in (302, 303)
    return LoggedIn(user.id, b)


async def bindings_used(sessions, user_id: int) -> int:
    async with sessions() as session:
        used = await session.scalar(select(QuotaUsage.used).where(
            QuotaUsage.user_id == user_id, QuotaUsage.resource == "bindings"))
    return used or 0


def lambda_answers(api: respx.MockRouter, wrong_key_answer) -> respx.Route:
    api.get(LAMBDA_INSTANCES, headers={"Authorization": f"Bearer {RIGHT_KEY}"}).mock(
        return_value=httpx.Response(200, json={"data": []}))
    return api.get(LAMBDA_INSTANCES, headers={"Authorization": f"Bearer {WRONG_KEY}"}).mock(side_effect=wrong_key_answer)


@pytest.mark.parametrize(("answer", "message"), [
    (httpx.Response(401, json=LAMBDA_REFUSED), "Not saved: Lambda refused this key (wrong, expired or revoked)"),
    (httpx.Response(503, text="upstream down"), "Not saved: could not check the key: Lambda did not answer; try again."),
    (httpx.ReadTimeout("timed out"), "Not saved: could not check the key: Lambda did not answer; try again."),
    (httpx.Response(429, headers={"Retry-After": "30"}, json={"error": {"code": "global/rate-limited"}}),
     "Not saved: could not check the key: Lambda is limiting requests right now; try again"),
], ids=["refused-401", "down-503", "timeout", "rate-limited-429"])
async def test_an_unconfirmed_key_is_not_stored_and_the_right_one_then_fits(basic, sessions, answer, message):
    with respx.mock(assert_all_mocked=True) as api:
        wrong = lambda_answers(api, [answer] * 5)  # retries, if any, get the same answer

        refused = await add_key(basic.browser, "lambdalabs", WRONG_KEY, label="Lambda")

        assert wrong.called  # the key really was checked with the provider
        assert refused.status_code == 400
        assert message in html.unescape(refused.text)
        assert WRONG_KEY not in refused.text
        assert await bindings_of(sessions, basic.user_id) == []
        assert await bindings_used(sessions, basic.user_id) == 0

        added = await add_key(basic.browser, "lambdalabs", RIGHT_KEY, label="Lambda")

    assert added.status_code in (302, 303), added.text
    [row] = await bindings_of(sessions, basic.user_id)
    assert (row.status, row.label) == ("verified", "Lambda") and row.verified_at is not None
    assert await bindings_used(sessions, basic.user_id) == 1


async def test_the_sandbox_refuses_a_wrong_key_and_a_rate_limited_check_is_not_stored(basic, sessions):
    limited_key = generate_api_key()
    get_cloud().set_faults(limited_key, rate_limited=True)
    try:
        limited = await add_key(basic.browser, "sandbox", limited_key)
    finally:
        get_cloud().set_faults(limited_key)
    wrong = await add_key(basic.browser, "sandbox", "sbx_not_a_real_key")

    assert "is limiting requests right now" in html.unescape(limited.text)
    assert "Not saved: Sandbox (simulated) refused this key" in html.unescape(wrong.text)
    assert [r.status_code for r in (limited, wrong)] == [400, 400]
    assert await bindings_of(sessions, basic.user_id) == []
    assert await bindings_used(sessions, basic.user_id) == 0

    right = await add_key(basic.browser, "sandbox", limited_key)
    assert right.status_code in (302, 303)
    assert [r.status for r in await bindings_of(sessions, basic.user_id)] == ["verified"]


async def test_a_full_plan_is_told_so_before_the_key_is_sent(basic, sessions):
    assert (await add_key(basic.browser, "sandbox", generate_api_key(), label="First")).status_code in (302, 303)

    with respx.mock(assert_all_mocked=True, assert_all_called=False) as api:
        route = lambda_answers(api, [httpx.Response(200, json={"data": []})])
        second = await add_key(basic.browser, "lambdalabs", RIGHT_KEY, label="Second")

    assert second.status_code == 403
    assert "upgrade" in second.text.lower()
    assert not route.called and not api.calls
    assert len(await bindings_of(sessions, basic.user_id)) == 1
    assert await bindings_used(sessions, basic.user_id) == 1
