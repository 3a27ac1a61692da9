"""GET /api/v1/prices: current offers, filtered, sorted and paginated.

The route and the raw ASGI fast path in front of Litestar (app/web/price_fast_path.py) answer
through the same ``prices_answer``: one cache key, one body, one encoding choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.utils.scope.state import ScopeState

from app.api import convert
from app.api.offer_json import page_json
from app.api.pagination import links_for
from app.api.price_params import MAX_MEMORY_GB, MAX_PAGE, price_query
from app.api.schemas import OfferPage
from app.cache.encoding import DYNAMIC_BROTLI_QUALITY, REPLAYABLE, encoded_body, encoded_headers
from app.db.types import utcnow
from app.services.prices import MAX_PER_PAGE, MAX_TOTAL_MEMORY_GB, PRICE_BASES, SORTS, PriceQuery, list_offers

PATH = "/api/v1/prices"


async def render_prices(state: State, query: PriceQuery, version: str, path: str, query_string: bytes) -> bytes:
    """The JSON body of ``query``'s page: from the offers held in memory when they can answer it."""
    read_model = state.offer_read_model
    now = utcnow()
    index = None if read_model is None else await read_model.index_for(query, version)
    if index is not None:
        return page_json(index, query, now, path, query_string)
    async with state.sessions() as session:
        result = await list_offers(session, query, now)
    return msgspec.json.encode(convert.offer_page(result, links_for(path, query_string, result.page, result.pages)))


@dataclass(frozen=True, slots=True)
class PricesAnswer:
    content: bytes
    encoding: str | None
    """The Content-Encoding of ``content``; None: the body as it is."""
    replayable: tuple[str, float]
    """(data version, when the body was stored): see ``app.cache.encoding.REPLAYABLE``."""


async def prices_answer(state: State, query: PriceQuery, path: str, query_string: bytes,
                        accept_encoding: str) -> PricesAnswer:
    """The cached answer (rendered once per data version and query string), encoded as asked."""
    cache = state.response_cache
    version = await cache.data_version(state.sessions)

    async def render() -> bytes:  # its own session: it may finish after this request (see the cache)
        return await render_prices(state, query, version, path, query_string)

    key = f"api:prices?{query_string.decode()}"
    stored_at, body = await cache.fetch_entry(key, version, render)
    content, encoding = await encoded_body(cache, key, version, body, accept_encoding,
                                           brotli_quality=DYNAMIC_BROTLI_QUALITY)
    return PricesAnswer(content, encoding, (version, stored_at))


class PricesController(Controller):
    path = PATH
    opt = {"permission": "public"}  # the price data: anyone, no login
    tags = ["prices"]

    @get(
        "/",
        operation_id="listPrices",
        summary="Search current GPU offers",
        description="Every offer of every source, with its provider, age and freshness. "
        "Money is a decimal string in USD. price_basis says what a price pays for (gpu_only, smallest_vm, instance); "
        "best_value marks the lowest $/GPU-hour among the matching offers of the same price_basis (prices of different "
        "bases are never ranked against each other), never one reported unavailable; best_prices lists each basis's lowest; "
        "price_per_tflop_hour is $/GPU-hour divided by the GPU's dense FP16/BF16 tensor TFLOPS (sort=tflop_price).",
    )
    async def list_prices(
        self,
        request: Request,
        gpu: str | None = Parameter(default=None, description="GPU family (h100) or variant slug (h100-sxm)."),
        min_memory: int | None = Parameter(
            default=None, ge=0, le=MAX_MEMORY_GB, description="Minimum memory per GPU, GB.",
            schema_extra={"minimum": 0},  # Litestar drops a ge of 0 from the schema
        ),
        min_gpus: Decimal | None = Parameter(
            default=None, description="At least this many GPUs per instance (decimal, 0 to 64; a 1/8 slice is 0.125).",
            schema_extra={"minimum": 0, "maximum": 64}),
        max_gpus: Decimal | None = Parameter(
            default=None, description="At most this many GPUs per instance (decimal, 0 to 64).",
            schema_extra={"minimum": 0, "maximum": 64}),
        min_total_memory: int | None = Parameter(
            default=None, ge=0, le=MAX_TOTAL_MEMORY_GB, description="Minimum GPU memory of the whole instance "
            "(GB per GPU × GPU count), GB.", schema_extra={"minimum": 0}),
        # Decimal takes no ge/le in msgspec: the range is documented here and checked by PriceQuery.validate().
        max_price: Decimal | None = Parameter(
            default=None, description="Maximum $/GPU-hour (decimal, 0 to 10000).",
            schema_extra={"minimum": 0, "maximum": 10000},
        ),
        provider: list[str] | None = Parameter(default=None, description="Provider name(s); repeat or comma-separate."),
        region: str | None = Parameter(default=None, description="Region contains this text (case-insensitive)."),
        spot: bool | None = Parameter(default=None, description="true: spot only; false: on-demand only."),
        available: bool | None = Parameter(
            default=None, description="true: only offers the provider reports available now "
            "(offers with no availability reported are hidden too, unless include_unreported=true)."),
        include_unreported: bool | None = Parameter(
            default=None, description="With available=true, also list offers whose availability is not reported."),
        price_basis: list[str] | None = Parameter(
            default=None, description="Only prices that pay for this: gpu_only, smallest_vm or instance; repeat or "
            "comma-separate.", schema_extra={"items": {"type": "string", "enum": list(PRICE_BASES)}}),
        sort: str = Parameter(default="price", description="Sort order.", schema_extra={"enum": list(SORTS)}),
        page: int = Parameter(default=1, ge=1, le=MAX_PAGE),
        per_page: int = Parameter(default=50, ge=1, le=MAX_PER_PAGE),
    ) -> OfferPage:
        query = price_query(  # a bad filter is a 400 naming it, before any cache is consulted
            gpu=gpu, min_memory=min_memory, min_gpus=min_gpus, max_gpus=max_gpus, min_total_memory=min_total_memory,
            max_price=max_price, provider=provider, region=region, spot=spot, available=available,
            include_unreported=include_unreported, price_basis=price_basis, sort=sort, page=page, per_page=per_page,
            include_simulated=request.app.state.settings.sandbox.on_price_pages)
        state, query_string = request.app.state, request.scope.get("query_string", b"")
        # A ready body: Litestar sends a returned Response as it is (the schema still comes from OfferPage).
        if state.response_cache is None:
            body = await render_prices(state, query, "", request.url.path, query_string)
            return Response(content=body, media_type="application/json")
        answer = await prices_answer(state, query, request.url.path, query_string,
                                     request.headers.get("accept-encoding", ""))
        request.scope[REPLAYABLE] = answer.replayable  # type: ignore[literal-required]
        if answer.encoding is None:
            return Response(content=answer.content, media_type="application/json")
        ScopeState.from_scope(request.scope).is_cached = True  # the compression middleware sends it as it is
        return Response(content=answer.content, media_type="application/json", headers=encoded_headers(answer.encoding))
