"""The ``computehub`` command on a temporary SQLite database, as an operator would run it."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import timedelta

import httpx
import pytest
import respx
from click.testing import CliRunner
from rich.console import Console

from app.cli import main as cli_main
from app.db.engine import get_engine, make_engine, session_factory
from app.db.types import utcnow
from app.settings import get_settings
from tests.support.factories import make_offer, seed
from tests.support.recorded import load_scenarios, mount, mount_failure

LAMBDA = load_scenarios("lambdalabs")


def _clear_caches() -> None:
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def db_file(tmp_path, monkeypatch):
    path = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("COMPUTEHUB_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("COMPUTEHUB_LAMBDA_API_KEY", "test-key-not-real")
    monkeypatch.setenv("COMPUTEHUB_SANDBOX", "false")
    # Wide enough that rich never elides a column in the captured output.
    monkeypatch.setattr(cli_main, "console", Console(width=220, color_system=None))
    _clear_caches()
    yield path
    _clear_caches()


def run(*args: str):
    return CliRunner().invoke(cli_main.cli, list(args), catch_exceptions=False)


def upgraded(db_file):
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    return f"sqlite+aiosqlite:///{db_file}"


def seed_offers(url: str, offers, at) -> None:
    async def go():
        engine = make_engine(url)
        try:
            await seed(session_factory(engine), offers, at=at)
        finally:
            await engine.dispose()

    asyncio.run(go())


def table_rows(output: str) -> list[list[str]]:
    """The data rows of rich's table: cells split on its box-drawing column separator."""
    return [[c.strip() for c in line.strip()[1:-1].split("│")] for line in output.splitlines() if line.startswith("│")]


def test_db_upgrade_creates_the_schema_and_is_idempotent(db_file):
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "database at head" in result.output
    with sqlite3.connect(db_file) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"offers", "price_history", "price_sources", "gpu_daily_prices", "job_leases", "alembic_version"} <= tables
    assert run("db", "upgrade").exit_code == 0


def test_prices_filters_by_gpu_family_price_and_market(db_file):
    url = upgraded(db_file)
    at = utcnow() - timedelta(minutes=5)
    seed_offers(url, [
        make_offer(gpu="H100 SXM", price="2.10", spot=True, region="us-east-1"),
        make_offer(gpu="H100 PCIe", price="2.40", spot=True, region="us-west-1"),
        make_offer(gpu="H100 SXM", price="16.00", count=8, spot=True, region="us-east-1"),  # 2.00 per GPU
        make_offer(gpu="H100 SXM", price="2.60", spot=True, region="eu-west-1"),  # over the max price
        make_offer(gpu="H100 SXM", price="1.90", spot=False, region="us-east-1"),  # on-demand
        make_offer(gpu="A100 SXM4", price="1.00", spot=True, region="us-east-1"),  # another GPU
        make_offer(gpu="GH200", price="1.50", memory=96, spot=True, region="us-east-1"),  # not an H100
    ], at)

    result = run("prices", "--gpu", "H100", "--max-price", "2.5", "--spot")

    assert result.exit_code == 0, result.output
    assert "Cheapest offers (3 match)" in result.output
    rows = table_rows(result.output)
    assert [(r[0], r[1], r[2], r[3], r[5], r[6]) for r in rows] == [
        ("H100 SXM 80GB", "8", "2.00 ★", "16.00", "us-east-1", "spot"),
        ("H100 SXM 80GB", "1", "2.10", "2.10", "us-east-1", "spot"),
        ("H100 PCIe 80GB", "1", "2.40", "2.40", "us-west-1", "spot"),
    ]
    assert {r[4] for r in rows} == {"Lambda"}
    assert {r[7] for r in rows} == {"5 min ago"}


def test_prices_with_nothing_matching_says_so(db_file):
    upgraded(db_file)
    result = run("prices", "--gpu", "H100", "--max-price", "2.5")
    assert result.exit_code == 0
    assert "Cheapest offers (0 match)" in result.output
    assert "no offers match" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--max-price", "abc"), "Invalid value for '--max-price': 'abc' is not a price"),
        (("--max-price", "-1"), "Invalid value for '--max-price': the price must be a positive number"),
        (("--max-price", "20000"), "max_price must be between 0 and 10000 $/GPU-hour"),
        (("--gpu", "Z9000"), "Invalid value for --gpu: no GPU in the catalog matches 'Z9000'"),
        (("--limit", "0"), "Invalid value for '--limit'"),
    ],
)
def test_prices_rejects_bad_input_with_a_usage_error(db_file, args, message):
    upgraded(db_file)
    result = run("prices", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_poll_prints_a_summary_and_stores_the_offers(db_file):
    with respx.mock() as router:
        mount(router, LAMBDA["normal"])
        result = run("poll", "--source", "lambdalabs")
    assert result.exit_code == 0, result.output
    assert "Poll summary" in result.output
    summary = [r for r in table_rows(result.output) if r[0] == "lambdalabs"]
    assert len(summary) == 1
    source, status, offers, skipped, elapsed, error = summary[0]
    assert (status, offers, skipped, error) == ("ok", "10", "0", "")
    assert re.fullmatch(r"\d+ ms", elapsed)

    prices = run("prices", "--gpu", "h100-sxm")
    rows = table_rows(prices.output)
    # Lambda's H100 SXM: 1x in two regions and the sold-out 8x, all 2.99 $/GPU-h; the sold-out one is not "best".
    assert sorted((r[2], r[3], r[5], r[4]) for r in rows) == [
        ("2.99", "23.92", "any", "Lambda"),
        ("2.99 ★", "2.99", "us-east-3", "Lambda"),
        ("2.99 ★", "2.99", "us-south-1", "Lambda"),
    ]


def test_poll_reports_a_failed_source(db_file):
    with respx.mock() as router:
        mount_failure(router, LAMBDA["normal"], response=httpx.Response(503, text="upstream down"))
        result = run("poll", "--source", "lambdalabs")
    assert result.exit_code == 0, result.output
    summary = [r for r in table_rows(result.output) if r[0] == "lambdalabs"]
    assert summary[0][1:4] == ["failed", "0", "0"]
    assert "provider error (HTTP 503)" in summary[0][5]


def test_poll_rejects_an_unknown_source(db_file):
    result = run("poll", "--source", "nope")
    assert result.exit_code == 2
    assert "unknown source 'nope'" in result.output
