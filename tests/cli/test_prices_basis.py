"""`computehub prices` says what each price pays for and filters on it (--price-basis)."""

from __future__ import annotations

from datetime import timedelta

from app.db.types import utcnow
from tests.cli.test_cli import db_file, run, seed_offers, table_rows, upgraded  # noqa: F401  (db_file: fixture)
from tests.support.factories import make_offer


def seed_three_ways(db_file):  # noqa: F811
    seed_offers(upgraded(db_file), [
        make_offer("runpod", "H100 SXM", "1.99", instance_type="rate"),
        make_offer("cudo", "H100 SXM", "2.45", instance_type="vm"),
        make_offer("lambdalabs", "H100 SXM", "2.99", instance_type="instance"),
    ], utcnow() - timedelta(minutes=5))


def test_prices_name_the_basis_and_star_the_best_of_each(db_file):  # noqa: F811
    seed_three_ways(db_file)
    result = run("prices", "--gpu", "H100")
    assert result.exit_code == 0, result.output
    rows = table_rows(result.output)
    assert [(r[2], r[8]) for r in rows] == [("1.99 ★", "GPU only"), ("2.45 ★", "Smallest VM"), ("2.99 ★", "Instance")]


def test_prices_filter_on_the_basis(db_file):  # noqa: F811
    seed_three_ways(db_file)
    result = run("prices", "--price-basis", "instance", "--price-basis", "smallest_vm")
    assert result.exit_code == 0, result.output
    assert [r[8] for r in table_rows(result.output)] == ["Smallest VM", "Instance"]
    bad = run("prices", "--price-basis", "whole")
    assert bad.exit_code == 2 and "--price-basis" in bad.output
