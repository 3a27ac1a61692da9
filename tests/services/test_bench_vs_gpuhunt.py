"""make bench (e) compares like with like: gpuhunt, fed the same catalog, gives the same cheapest
$/GPU-hour per GPU as ours. Runs once gpuhunt (a bench-only dependency) is installed."""

from __future__ import annotations

import pytest

from tests.benchmarks import dataset, vs_gpuhunt
from tests.services.test_cheapest_price import by_hand

pytest.importorskip("gpuhunt")


def test_gpuhunt_fed_our_catalog_answers_the_same_cheapest_prices():
    offers = dataset.generate(2000, seed=3, weights=vs_gpuhunt.every_source_weights())
    assert {o.source for o in offers} == set(vs_gpuhunt.every_source_weights())
    catalog, names = vs_gpuhunt.gpuhunt_catalog(offers)
    assert sum(len(p.items) for p in catalog.providers) == len(offers)
    assert vs_gpuhunt.gpuhunt_cheapest(catalog, names) == by_hand(offers, spot=False)
