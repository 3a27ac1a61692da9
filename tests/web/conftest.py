"""Page tests: the real app (create_app) on the test engine, data seeded through the real ingest path."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from app.db.models import PriceSource as SourceRow
from app.db.types import utcnow
from app.server import create_app
from app.settings import Settings, WebSettings
from tests.web.html import Node, parse_html

BASE_URL = "https://computehub.test"


def minutes_ago(minutes: int) -> datetime:
    return utcnow() - timedelta(minutes=minutes)


@pytest.fixture
async def client(engine, sessions):
    # debug: an unexpected 500 shows its traceback in the test output
    app = create_app(Settings(web=WebSettings(base_url=BASE_URL, debug=True)), engine=engine, run_worker=False)
    async with AsyncTestClient(app=app) as client:
        yield client


async def get_page(client: AsyncTestClient, url: str, status: int = 200) -> Node:
    response = await client.get(url)
    assert response.status_code == status, f"{url}: {response.status_code} {response.text[:500]}"
    assert response.headers["content-type"].startswith("text/html")
    return parse_html(response.text)


async def mark_failed(sessions, source: str, at: datetime, message: str) -> None:
    """The source's latest poll failed after its last success: its prices are stale."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(SourceRow).where(SourceRow.name == source)
            .values(last_error=message, last_error_at=at, last_attempt_at=at, consecutive_failures=2)
        )
