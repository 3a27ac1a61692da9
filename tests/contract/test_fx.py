"""Prices published in another currency: the ECB daily reference rates, and a converted offer that
keeps the provider's own amount, currency and the rate's date (no network: recorded files)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
import respx

from providers import errors
from providers.fx import ECB_DAILY_URL, ecb_rate, parse_ecb_daily
from providers.registry import get_source_class
from tests.support.recorded import fixture_bytes, load_scenarios, mount

ECB = fixture_bytes("seeweb", "eurofxref_daily.xml")


def test_ecb_daily_file_gives_usd_per_euro_with_its_date():
    rate = parse_ecb_daily(ECB, "EUR", provider="seeweb")
    assert rate.usd_per_unit == Decimal("1.1625") and rate.rate_date == date(2026, 12, 2)
    usd, how = rate.convert(Decimal("0.38"))
    assert usd == Decimal("0.441750")
    assert (how.currency, how.price_per_hour, how.usd_per_unit) == ("EUR", Decimal("0.38"), Decimal("1.1625"))
    assert how.label == "converted from EUR at the ECB rate of 2026-12-02"


def test_other_currencies_are_crossed_through_the_euro():
    rate = parse_ecb_daily(ECB, "GBP", provider="x")
    assert rate.usd_per_unit == (Decimal("1.1625") / Decimal("0.8805")).quantize(Decimal("0.000001"))


@pytest.mark.parametrize("content", [
    b"<gesmes:Envelope",  # truncated
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
    ECB.replace(b"time='2026-12-02'", b"time='yesterday'"),
    ECB.replace(b"rate='1.1625'", b"rate='n/a'"),
    ECB.replace(b"rate='1.1625'", b"rate='0'"),
])
def test_a_file_we_cannot_trust_is_a_bad_response(content):
    with pytest.raises(errors.BadResponse):
        parse_ecb_daily(content, "EUR", provider="seeweb")


async def test_the_rate_is_fetched_from_the_ecb_and_failures_are_typed():
    with respx.mock() as router:
        router.get(ECB_DAILY_URL).respond(200, content=ECB, headers={"content-type": "text/xml"})
        async with httpx.AsyncClient() as http:
            assert (await ecb_rate(http, "EUR", provider="seeweb")).rate_date == date(2026, 12, 2)
    with respx.mock() as router:
        router.get(ECB_DAILY_URL).respond(429, headers={"Retry-After": "30"})
        async with httpx.AsyncClient() as http:
            with pytest.raises(errors.RateLimited):
                await ecb_rate(http, "EUR", provider="seeweb")


async def test_seeweb_offers_keep_their_euro_price_and_the_rate_used():
    with respx.mock(assert_all_called=True) as router:
        mount(router, load_scenarios("seeweb")["normal"])
        async with httpx.AsyncClient() as http:
            result = await get_source_class("seeweb")(http, {"api_key": "k"}).fetch_offers()
    offer = next(o for o in result.offers if o.instance_type == "ECS2GPU3")
    assert offer.price_per_hour == Decimal("2.301750") and offer.price_per_gpu_hour == Decimal("1.150875")
    fx = offer.converted_from
    assert fx is not None and fx.currency == "EUR" and fx.price_per_hour == Decimal("1.98")
    assert fx.usd_per_unit == Decimal("1.1625") and fx.rate_date == date(2026, 12, 2)
    assert all(o.converted_from is not None for o in result.offers)


async def test_sources_that_price_in_usd_carry_no_conversion():
    with respx.mock(assert_all_called=True) as router:
        mount(router, load_scenarios("cloudrift")["normal"])
        async with httpx.AsyncClient() as http:
            result = await get_source_class("cloudrift")(http, {"api_key": ""}).fetch_offers()
    assert result.offers and all(o.converted_from is None for o in result.offers)
