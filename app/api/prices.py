"""GET /api/v1/prices: current offers, filtered, sorted and paginated."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from app.api import convert
from app.api.pagination import page_links
from app.api.schemas import OfferPage
from app.cache.encoding import encoded_response
from app.cache.responses import ResponseCache
from app.services.offer_index import OfferReadModel
from app.services.prices import MAX_PER_PAGE, PRICE_BASES, SORTS, PriceQuery, list_offers


def split_providers(values: list[str] | None) -> tuple[str, ...]:
    """``provider`` (and ``price_basis``) may repeat and/or be comma-separated: ?provider=runpod,lambdalabs&provider=vastai."""
    return tuple(name.strip() for value in values or () for name in value.split(",") if name.strip())


class PricesController(Controller):
    path = "/api/v1/prices"
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
            default=None, ge=0, le=1024, description="Minimum memory per GPU, GB.",
            schema_extra={"minimum": 0},  # Litestar drops a ge of 0 from the schema
        ),
        min_gpus: Decimal | None = Parameter(
            default=None, description="At least this many GPUs per instance (decimal, 0 to 64; a 1/8 slice is 0.125).",
            schema_extra={"minimum": 0, "maximum": 64}),
        max_gpus: Decimal | None = Parameter(
            default=None, description="At most this many GPUs per instance (decimal, 0 to 64).",
            schema_extra={"minimum": 0, "maximum": 64}),
        min_total_memory: int | None = Parameter(
            default=None, ge=0, le=100_000, description="Minimum GPU memory of the whole instance "
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
        page: int = Parameter(default=1, ge=1, le=100_000),
        per_page: int = Parameter(default=50, ge=1, le=MAX_PER_PAGE),
    ) -> OfferPage:
        query = PriceQuery(
            gpu=gpu or None, min_memory_gb=min_memory, min_gpus=min_gpus, max_gpus=max_gpus,
            min_total_memory_gb=min_total_memory, max_price=max_price, providers=split_providers(provider),
            region=region or None, spot=spot, available_only=bool(available),
            include_unreported=bool(include_unreported), price_basis=split_providers(price_basis), sort=sort, page=page, per_page=per_page,
            include_simulated=request.app.state.settings.sandbox.on_price_pages,
        )
        query.validate()  # a bad filter is a 400 naming it, before any cache is consulted
        sessions = request.app.state.sessions
        cache: ResponseCache | None = request.app.state.response_cache
        read_model: OfferReadModel | None = request.app.state.offer_read_model
        version = "" if cache is None else await cache.data_version(sessions)

        async def render() -> bytes:  # its own session: it may finish after this request (see the cache)
            if read_model is not None:  # the offers of this data version, held in memory
                result = await read_model.list_offers(query, version)
            else:
                async with sessions() as session:
                    result = await list_offers(session, query)
            return msgspec.json.encode(convert.offer_page(result, page_links(request, result.page, result.pages)))

        # A ready body: Litestar sends a returned Response as it is (the schema still comes from OfferPage).
        if cache is None:
            return Response(content=await render(), media_type="application/json")
        key = f"api:prices?{request.url.query}"
        stored_at, body = await cache.fetch_entry(key, version, render)
        return await encoded_response(request, cache, key, version, body, "application/json", stored_at=stored_at)
