"""The poller against the real Lambda adapter (recorded answers via respx) and scripted sources.

What a user would see after each poll: the offers in the database, the source's status row and
its freshness label (live / stale / not configured).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
import respx
from sqlalchemy import select

from app.db.models import Offer as OfferRow, PriceSource as SourceRow
from app.services.freshness import source_freshness
from app.services.polling import poll_all, poll_source
from app.services.prices import PriceQuery, list_offers
from providers import errors
from providers.http import new_client
from tests.support.factories import make_offer
from tests.support.recorded import FIXTURES, load_scenarios, mount, mount_failure

LAMBDA = load_scenarios("lambdalabs")
LAMBDA_URL = "https://cloud.lambda.ai/api/v1/instance-types"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
T1 = T0 + timedelta(minutes=15)


def lambda_fixture_prices() -> dict[str, Decimal]:
    """offer_key -> $/h, read straight from the recorded answer (cents per hour)."""
    data = json.loads((FIXTURES / "lambdalabs" / "instance_types.json").read_text())["data"]
    expected = {}
    for name, entry in data.items():
        price = Decimal(entry["instance_type"]["price_cents_per_hour"]) / 100
        regions = [r["name"] for r in entry["regions_with_capacity_available"]] or ["any"]
        for region in regions:
            expected[f"{name}|{region}|ondemand"] = price
    return expected


async def current_offers(sessions, source: str) -> dict[str, tuple[Decimal, str, datetime]]:
    async with sessions() as s:
        rows = (await s.execute(select(OfferRow).where(OfferRow.source == source))).scalars().all()
    return {r.offer_key: (r.price_per_hour, r.origin, r.observed_at) for r in rows}


async def status_row(sessions, name: str) -> SourceRow | None:
    async with sessions() as s:
        return await s.get(SourceRow, name)


async def poll(name, settings, sessions, at, **kw):
    async with new_client(timeout=5) as http:
        return await poll_source(name, settings, sessions, http, now=at, **kw)


async def poll_lambda_ok(settings, sessions, at=T0):
    with respx.mock() as router:
        mount(router, LAMBDA["normal"])
        outcome = await poll("lambdalabs", settings, sessions, at)
    assert outcome.status == "ok", outcome.error
    return outcome


async def test_successful_poll_ingests_offers_and_records_status(sessions, settings):
    outcome = await poll_lambda_ok(settings, sessions)

    expected = lambda_fixture_prices()
    offers = await current_offers(sessions, "lambdalabs")
    assert {k: v[0] for k, v in offers.items()} == expected
    assert {v[1] for v in offers.values()} == {"live"}
    assert {v[2] for v in offers.values()} == {T0}
    assert outcome.offers == len(expected) == 10
    row = await status_row(sessions, "lambdalabs")
    assert (row.last_attempt_at, row.last_success_at) == (T0, T0)
    assert (row.offer_count, row.skipped_count, row.consecutive_failures) == (10, 0, 0)
    assert row.last_error is None and row.last_error_at is None
    assert row.last_duration_ms is not None and row.last_duration_ms >= 0
    fresh = source_freshness(row, 900, T0 + timedelta(minutes=5))
    assert (fresh.state, fresh.label) == ("live", "live: updated 5 min ago")


async def test_items_that_cannot_be_parsed_are_counted_as_skipped(sessions, settings):
    with respx.mock() as router:
        mount(router, LAMBDA["bad_field"])
        outcome = await poll("lambdalabs", settings, sessions, T0)
    assert (outcome.status, outcome.offers, outcome.skipped_items) == ("ok", 8, 1)
    row = await status_row(sessions, "lambdalabs")
    assert (row.offer_count, row.skipped_count) == (8, 1)
    assert len(await current_offers(sessions, "lambdalabs")) == 8


async def test_poll_duration_is_recorded(sessions, settings, fake_registry):
    async def slow():
        await asyncio.sleep(0.05)
        return [make_offer("fake-alpha", "H100 SXM", "2.50")]

    fake_registry.SCRIPTS["fake-alpha"] = [slow]
    outcome = await poll("fake-alpha", settings, sessions, T0)
    row = await status_row(sessions, "fake-alpha")
    assert outcome.duration_ms >= 50
    assert row.last_duration_ms == outcome.duration_ms


def _envelope() -> dict:
    return json.loads((FIXTURES / "lambdalabs" / "error_envelope.json").read_text())


# kind -> (respx answer for every route, text the user sees in the error, Retry-After seconds)
FAILURES = {
    "rate_limited": (
        lambda: dict(response=httpx.Response(429, json={"error": {"code": "global/rate-limited",
                                                                  "message": "slow down"}},
                                             headers={"Retry-After": "120"})),
        "rate limited: slow down", 120,
    ),
    "server_error": (lambda: dict(response=httpx.Response(503, text="upstream down")),
                     "provider error (HTTP 503)", None),
    "timeout": (lambda: dict(side_effect=httpx.ReadTimeout("read timed out")),
                "no answer from cloud.lambda.ai in time", None),
    "malformed_body": (
        lambda: dict(response=httpx.Response(200, content=b"<html>maintenance</html>",
                                             headers={"content-type": "text/html"})),
        "malformed JSON", None,
    ),
    "error_envelope_200": (lambda: dict(response=httpx.Response(200, json=_envelope())),
                           "Provider unavailable", None),
}


@pytest.mark.parametrize("kind", list(FAILURES))
async def test_failed_poll_keeps_last_good_prices_and_marks_source_stale(sessions, settings, kind):
    failure, message, retry_after = FAILURES[kind]
    await poll_lambda_ok(settings, sessions)
    before = await current_offers(sessions, "lambdalabs")

    with respx.mock() as router:
        mount_failure(router, LAMBDA["normal"], **failure())
        outcome = await poll("lambdalabs", settings, sessions, T1)

    assert outcome.status == "failed"
    assert message in outcome.error
    assert await current_offers(sessions, "lambdalabs") == before  # prices and their age untouched
    row = await status_row(sessions, "lambdalabs")
    assert message in row.last_error
    assert (row.last_error_at, row.last_attempt_at, row.last_success_at) == (T1, T1, T0)
    assert row.consecutive_failures == 1
    assert row.offer_count == 10
    assert row.retry_after_until == (T1 + timedelta(seconds=retry_after) if retry_after else None)
    fresh = source_freshness(row, 900, T1)
    assert (fresh.state, fresh.label, fresh.as_of) == ("stale", "stale: updated 15 min ago", T0)

    async with sessions() as s:
        page = await list_offers(s, PriceQuery(providers=("lambdalabs",)), now=T1)
    assert page.total == 10
    assert {o.freshness.state for o in page.items} == {"stale"}
    assert {o.age_label for o in page.items} == {"15 min ago"}


async def test_rate_limit_defers_scheduled_polls_until_retry_after(sessions, settings):
    await poll_lambda_ok(settings, sessions)
    with respx.mock() as router:
        mount_failure(router, LAMBDA["normal"], response=httpx.Response(429, text="", headers={"Retry-After": "600"}))
        assert (await poll("lambdalabs", settings, sessions, T1)).status == "failed"

    with respx.mock(assert_all_called=False) as router:
        route = mount(router, LAMBDA["normal"])[0]
        early = await poll("lambdalabs", settings, sessions, T1 + timedelta(minutes=5))
        assert early.status == "skipped"
        assert "rate limited until 12:25:00 UTC" in early.error
        assert not route.called  # the provider was not asked again

        late = await poll("lambdalabs", settings, sessions, T1 + timedelta(minutes=10, seconds=1))
        assert late.status == "ok"
        assert route.call_count == 1

    row = await status_row(sessions, "lambdalabs")
    assert row.retry_after_until is None and row.last_error is None and row.consecutive_failures == 0
    assert row.last_success_at == T1 + timedelta(minutes=10, seconds=1)
    assert source_freshness(row, 900, row.last_success_at).state == "live"


async def test_empty_answer_after_offers_is_a_failure_that_keeps_prices(sessions, settings):
    await poll_lambda_ok(settings, sessions)
    before = await current_offers(sessions, "lambdalabs")
    with respx.mock() as router:
        mount(router, LAMBDA["empty"])
        outcome = await poll("lambdalabs", settings, sessions, T1)
    assert outcome.status == "failed"
    assert "no offers at all" in outcome.error
    assert await current_offers(sessions, "lambdalabs") == before
    row = await status_row(sessions, "lambdalabs")
    assert row.last_success_at == T0 and row.last_error_at == T1
    assert source_freshness(row, 900, T1).state == "stale"


async def test_empty_answer_from_a_source_with_no_offers_is_a_success(sessions, settings):
    with respx.mock() as router:
        mount(router, LAMBDA["empty"])
        outcome = await poll("lambdalabs", settings, sessions, T0)
    assert (outcome.status, outcome.offers) == ("ok", 0)
    row = await status_row(sessions, "lambdalabs")
    assert (row.last_success_at, row.offer_count, row.last_error) == (T0, 0, None)


async def test_source_without_a_key_is_not_configured_not_failed(sessions, settings):
    no_key = dataclasses.replace(settings, provider_keys=dataclasses.replace(settings.provider_keys, lambdalabs=""))
    with respx.mock(assert_all_called=False) as router:
        route = mount(router, LAMBDA["normal"])[0]
        outcome = await poll("lambdalabs", no_key, sessions, T0)
    assert not route.called
    assert outcome.status == "not_configured"
    row = await status_row(sessions, "lambdalabs")
    assert row.not_configured is True
    assert (row.last_error, row.last_error_at, row.consecutive_failures) == (None, None, 0)
    fresh = source_freshness(row, 900, T0)
    assert (fresh.state, fresh.label) == ("not_configured", "not configured (no API key)")


async def test_poll_all_ingests_healthy_sources_when_others_break(sessions, settings, fake_registry):
    fake_registry.SCRIPTS["fake-alpha"] = [[make_offer("fake-alpha", "H100 SXM", "2.10"),
                                            make_offer("fake-alpha", "A100 SXM4", "1.40", region="eu-west-1")]]
    fake_registry.SCRIPTS["fake-beta"] = [RuntimeError("adapter bug: KeyError 'price'")]
    seen = []
    with respx.mock() as router:
        mount_failure(router, LAMBDA["normal"], response=httpx.Response(500, text="oops"))
        outcomes = await poll_all(settings, sessions, on_done=lambda o: seen.append(o.source))

    by_source = {o.source: o for o in outcomes}
    assert sorted(seen) == sorted(by_source) == sorted(fake_registry.REGISTRY)
    assert {name: o.status for name, o in by_source.items()} == {
        "fake-alpha": "ok",
        "fake-beta": "failed",
        "fake-keyed": "not_configured",
        "fake-missing": "failed",
        "lambdalabs": "failed",
    }
    assert "adapter error: RuntimeError" in by_source["fake-beta"].error
    assert "ModuleNotFoundError" in by_source["fake-missing"].error
    assert "HTTP 500" in by_source["lambdalabs"].error

    alpha = await current_offers(sessions, "fake-alpha")
    assert sorted(v[0] for v in alpha.values()) == [Decimal("1.400000"), Decimal("2.100000")]
    for name in ("fake-beta", "fake-missing", "lambdalabs"):
        row = await status_row(sessions, name)
        assert row.last_error and row.last_success_at is None
        assert await current_offers(sessions, name) == {}
    assert (await status_row(sessions, "fake-alpha")).offer_count == 2


async def test_failed_source_is_retried_on_the_next_poll(sessions, settings, fake_registry):
    fake_registry.SCRIPTS["fake-alpha"] = [
        [make_offer("fake-alpha", "H100 SXM", "2.10")],
        errors.ProviderUnavailable("HTTP 502", provider="fake-alpha"),
        [make_offer("fake-alpha", "H100 SXM", "1.95")],
    ]
    for minutes in (0, 15, 30):
        await poll("fake-alpha", settings, sessions, T0 + timedelta(minutes=minutes))
    row = await status_row(sessions, "fake-alpha")
    assert (row.last_success_at, row.consecutive_failures, row.last_error) == (T0 + timedelta(minutes=30), 0, None)
    assert [v[0] for v in (await current_offers(sessions, "fake-alpha")).values()] == [Decimal("1.950000")]
    assert source_freshness(row, 600, T0 + timedelta(minutes=31)).state == "live"
