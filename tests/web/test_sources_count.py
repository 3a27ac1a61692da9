"""Issue 16, "Must show": at least 23 sources on /sources, each with its own recorded contract."""

from __future__ import annotations

from providers.registry import SOURCES
from tests.support.recorded import FIXTURES
from tests.web.conftest import get_page

MUST_SHOW = 23


async def test_sources_page_lists_at_least_23_sources(client, sessions):
    doc = await get_page(client, "/sources")
    listed = {row.get("data-source") for row in doc.find_all("tr", class_="source-row")}
    assert len(listed) >= MUST_SHOW, sorted(listed)
    assert {"cloudrift", "jarvislabs", "seeweb"} <= listed
    assert all((FIXTURES / name / "scenarios.json").exists() for name in listed)
    assert listed == set(SOURCES)
