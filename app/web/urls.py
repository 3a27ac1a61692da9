"""Links that keep the visitor's filters: sort headers, pagination, matrix cells."""

from __future__ import annotations

from urllib.parse import quote_plus, urlencode

from app.services.prices import PriceQuery

MARKET_BY_SPOT = {None: "any", False: "on-demand", True: "spot"}
SPOT_BY_MARKET = {market: spot for spot, market in MARKET_BY_SPOT.items()}
_DEFAULT = PriceQuery()


def query_params(query: PriceQuery) -> list[tuple[str, str]]:
    """The non-default filters of ``query`` as URL parameters (short, shareable URLs)."""
    params: list[tuple[str, str]] = []
    if query.gpu:
        params.append(("gpu", query.gpu))
    if query.min_memory_gb is not None:
        params.append(("min_memory", str(query.min_memory_gb)))
    for name, count in (("min_gpus", query.min_gpus), ("max_gpus", query.max_gpus)):
        if count is not None:
            params.append((name, f"{count.normalize():f}"))
    if query.min_total_memory_gb is not None:
        params.append(("min_total_memory", str(query.min_total_memory_gb)))
    params.extend(("provider", name) for name in query.providers)
    if query.region:
        params.append(("region", query.region))
    if query.spot is not None:
        params.append(("market", MARKET_BY_SPOT[query.spot]))
    if query.available_only:
        params.append(("available", "1"))
        if query.include_unreported:
            params.append(("unreported", "1"))
    params.extend(("price_basis", basis) for basis in query.price_basis)
    if query.max_price is not None:
        params.append(("max_price", f"{query.max_price.normalize():f}"))
    if query.sort != _DEFAULT.sort:
        params.append(("sort", query.sort))
    if query.per_page != _DEFAULT.per_page:
        params.append(("per_page", str(query.per_page)))
    if query.page != 1:
        params.append(("page", str(query.page)))
    return params


def offers_url(query: PriceQuery, anchor: str = "offers") -> str:
    params = query_params(query)
    return ("/?" + urlencode(params) if params else "/") + (f"#{anchor}" if anchor else "")


def matrix_cell_url(gpu_slug: str, provider: str, spot: bool) -> str:
    """``offers_url(PriceQuery(gpu=gpu_slug, providers=(provider,), spot=spot))``, spelled out: the
    matrix has one link per cell (hundreds a page), and building a PriceQuery for each was the
    dashboard's biggest cost after the template (tests/web/test_urls.py keeps the two equal)."""
    return f"/?gpu={quote_plus(gpu_slug)}&provider={quote_plus(provider)}&market={MARKET_BY_SPOT[spot]}#offers"


def gpu_url(slug: str) -> str:
    return f"/gpus/{slug}"


def compare_url(slugs: list[str] | tuple[str, ...]) -> str:
    return "/compare?" + urlencode([("gpu", slug) for slug in slugs]) if slugs else "/compare"
