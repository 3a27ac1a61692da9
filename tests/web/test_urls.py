"""Link builders: the matrix's fast cell link is the same URL the general builder gives."""

from __future__ import annotations

import pytest

from app.services.prices import PriceQuery
from app.web.urls import matrix_cell_url, offers_url


@pytest.mark.parametrize("slug, provider", [("h100-sxm", "runpod"), ("rtx-4090", "vastai"),
                                            ("a100 80gb", "odd&name=x"), ("mi300x", "ünï")])
@pytest.mark.parametrize("spot", [True, False])
def test_a_matrix_cell_links_to_the_filtered_offers_like_offers_url(slug, provider, spot):
    assert matrix_cell_url(slug, provider, spot) == offers_url(PriceQuery(gpu=slug, providers=(provider,), spot=spot))
