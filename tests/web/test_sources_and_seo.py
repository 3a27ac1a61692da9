"""/sources (freshness of every source, unplaced GPU names), robots.txt and sitemap.xml."""

from __future__ import annotations

from xml.etree import ElementTree

from sqlalchemy import update

from app.db.models import OFFER_ORIGIN_SNAPSHOT, PriceSource as SourceRow
from app.web.source_info import source_info
from providers.registry import SOURCES
from tests.support.factories import make_offer, seed
from tests.web.conftest import get_page, mark_failed, minutes_ago
from tests.web.html import Node


def source_row(doc: Node, name: str) -> Node:
    return doc.one("tr", class_="source-row", data_source=name)


async def test_sources_page_shows_every_source_and_its_state(client, sessions):
    await seed(sessions, [make_offer("runpod", "H100 SXM", "2.69"), make_offer("runpod", "A100 SXM", "1.19")],
               at=minutes_ago(4))
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.99")], at=minutes_ago(20))
    await mark_failed(sessions, "lambdalabs", minutes_ago(2), "HTTP 503: upstream unavailable")
    await seed(sessions, [make_offer("hyperstack", "A100 SXM", "1.35")], at=minutes_ago(4 * 24 * 60),
               origin=OFFER_ORIGIN_SNAPSHOT)
    async with sessions() as session, session.begin():
        await session.execute(update(SourceRow).where(SourceRow.name == "runpod")
                              .values(skipped_count=3, last_duration_ms=850))

    doc = await get_page(client, "/sources")
    listed = [row.get("data-source") for row in doc.find_all("tr", class_="source-row")]
    assert sorted(listed) == sorted(SOURCES)  # every registered source, even ones without data

    runpod = [td.text for td in source_row(doc, "runpod").find_all("td")]
    assert runpod[1].startswith("live: updated 4 min ago")
    assert runpod[3:6] == ["2", "3", "850 ms"]
    assert source_row(doc, "runpod").find("th").text.startswith(source_info("runpod").display_name)

    lambda_state = source_row(doc, "lambdalabs").find_all("td")[1].text
    assert lambda_state.startswith("stale: updated 20 min ago")
    error = doc.one("tr", class_="error-row", data_source="lambdalabs").text
    assert "HTTP 503: upstream unavailable" in error and "2 failures in a row" in error

    assert source_row(doc, "hyperstack").find_all("td")[1].text.startswith(
        f"snapshot of {minutes_ago(4 * 24 * 60):%Y-%m-%d}")


async def test_sources_without_an_operator_key_show_as_not_configured(client, sessions):
    await seed(sessions, [make_offer("runpod", "H100 SXM", "2.69")], at=minutes_ago(4))
    async with sessions() as session, session.begin():
        session.add(SourceRow(name="lambdalabs", offer_count=0, skipped_count=0, consecutive_failures=0,
                              not_configured=True))
    doc = await get_page(client, "/sources")
    assert source_row(doc, "lambdalabs").find_all("td")[1].text == "not configured (no operator key)"
    assert not source_row(doc, "runpod").find_all("td")[1].text.startswith("not configured")


async def test_unplaced_gpu_names_are_listed_not_dropped(client, sessions):
    await seed(sessions, [make_offer("runpod", "Quantum Blaster 9000", "0.99", memory=None),
                          make_offer("runpod", "Quantum Blaster 9000", "1.09", region="eu-1", memory=None),
                          make_offer("runpod", "H100 SXM", "2.69")], at=minutes_ago(4))
    doc = await get_page(client, "/sources")
    rows = doc.one("table", class_="unknown-gpus").find("tbody").find_all("tr")
    assert [[td.text for td in r.find_all("td")] for r in rows] == [
        [source_info("runpod").display_name, "Quantum Blaster 9000", "2"]]
    # and the offers themselves are still on the dashboard, under the provider's name for the GPU
    dashboard = await get_page(client, "/")
    assert "Quantum Blaster 9000" in dashboard.one("table", class_="offers").text


async def test_robots_txt_points_at_the_sitemap(client, sessions):
    response = await client.get("/robots.txt")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert "Sitemap: https://computehub.test/sitemap.xml" in response.text
    assert "User-agent: *" in response.text


async def test_sitemap_lists_pages_and_every_gpu_page(client, sessions):
    await seed(sessions, [make_offer("runpod", "H100 SXM", "2.69"), make_offer("runpod", "H100 PCIe", "2.39"),
                          make_offer("lambdalabs", "A100 SXM", "1.29", memory=80)], at=minutes_ago(4))
    response = await client.get("/sitemap.xml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    locs = [loc.text for loc in ElementTree.fromstring(response.text).iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    base = "https://computehub.test"
    assert locs[:2] == [f"{base}/", f"{base}/gpus"] and locs[-2:] == [f"{base}/compare", f"{base}/sources"]
    # every catalog page, with or without offers (tests/platform/test_public_links.py checks the set)
    assert {f"{base}/gpus/h100", f"{base}/gpus/h100-sxm", f"{base}/gpus/a100"} <= set(locs)
    for loc in locs:  # every listed page exists
        assert (await client.get(loc.removeprefix(base))).status_code == 200


async def test_the_footer_states_the_real_polling_range_and_sources_lists_each_interval(client, sessions):
    intervals = {name: source_info(name).poll_interval_seconds for name in SOURCES}
    doc = await get_page(client, "/sources")
    footer = doc.one("footer").text
    assert "every few minutes" not in footer
    fastest, slowest = min(intervals.values()), max(intervals.values())
    assert f"every {fastest // 60} min" in footer
    assert ("daily" if slowest == 86400 else f"{slowest // 3600} h") in footer
    for name, seconds in intervals.items():
        polled = source_row(doc, name).find_all("td")[-1].text
        assert polled == (f"every {seconds // 3600} h" if seconds % 3600 == 0 else f"every {seconds // 60} min")
