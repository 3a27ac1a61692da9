"""The JSON of an ``/api/v1/prices`` page from the in-memory offer index, without building the page.

Building an answer's ``Offer`` structs from the offers' views cost ~0.5 ms of a 50-offer page, more
than the filtering. Within one data version an offer's JSON changes in three places only: its age
label and its source's freshness (both drift with the clock) and ``best_value`` (it depends on the
page's matches). So each offer is encoded once per version, through the same ``convert.offer`` and
msgspec encoder as the normal answer, with a marker in those three fields, and kept split at the
markers; a page joins those pieces with the three values of the moment. The page's own fields
(counts, links, best prices) are encoded as usual around the items. The bytes are the ones
``msgspec.json.encode(convert.offer_page(...))`` gives (tests/api/test_offer_json.py compares them).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import msgspec

from app.api import convert
from app.api.pagination import links_for
from app.services.offer_index import OfferIndex, age_now
from app.db.types import utcnow
from app.services.freshness import Freshness
from app.services.prices import Page, PriceQuery

_MARKERS = ("\x00age\x00", "\x00freshness\x00", "\x00best_value\x00")
_ENCODED_MARKERS = tuple(msgspec.json.encode(m) for m in _MARKERS)
_EMPTY_ITEMS = b'{"items":[]'
KEPT = "api-offer-json"
_encode = msgspec.json.Encoder().encode


def _pieces(index: OfferIndex, position: int, now: datetime) -> tuple:
    """Once per version, kept in ``index.memo(KEPT)``: the offer's base view; its JSON split at
    the three markers (four pieces; None when a marker's bytes appear in the offer's own text too:
    it is then encoded whole, per page); (price basis, price) when it may be the best value (see
    ``Page.is_best_value``), else None; a snapshot's age label, encoded (it never changes)."""
    kept = index.memo(KEPT)
    pieces = kept.get(position)
    if pieces is None:
        view = index.base_view(position, now)
        offer = msgspec.structs.replace(convert.offer(view, Page([], 0, 1, 1)), age=_MARKERS[0],
                                        freshness=_MARKERS[1], best_value=_MARKERS[2])
        encoded = _encode(offer)
        parts: list[bytes] | None = []
        if all(encoded.count(marker) == 1 for marker in _ENCODED_MARKERS):
            rest = encoded
            for marker in _ENCODED_MARKERS:
                head, found, rest = rest.partition(marker)
                if not found:  # not in the order of the schema's fields
                    parts = None
                    break
                parts.append(head)
            if parts is not None:
                parts.append(rest)
        else:
            parts = None
        best = (view.price_basis, view.price_per_gpu_hour) if view.available is not False else None
        snapshot_age = _encode(view.age_label) if view.is_snapshot else None
        pieces = kept[position] = (view, None if parts is None else tuple(parts), best, snapshot_age)
    return pieces


def prepare(index: OfferIndex, positions: range) -> None:
    """Encode these offers ahead of the requests (``OfferReadModel.prepare``)."""
    now, kept = utcnow(), index.memo(KEPT)
    for position in positions:
        if position not in kept:
            _pieces(index, position, now)


def page_json(index: OfferIndex, query: PriceQuery, now: datetime, path: str, query_string: bytes) -> bytes:
    """``msgspec.json.encode(convert.offer_page(index.page(query, now), links))`` for the request
    at ``path`` with ``query_string`` (the links keep its filters)."""
    selection = index.select(query)
    page = Page(items=[], total=selection.total, page=query.page, per_page=query.per_page,
                best_by_basis=selection.best_by_basis)
    links = links_for(path, query_string, page.page, page.pages)
    envelope = _encode(convert.offer_page(page, links))
    if not envelope.startswith(_EMPTY_ITEMS):  # the schema no longer starts with the items
        return _encode(convert.offer_page(index.page(query, now), links))
    freshness: dict[str, tuple[Freshness, bytes]] = {}
    ages: dict[datetime, bytes] = {}  # the offers of one poll share their time
    out = [b'{"items":[']  # every piece of the answer, joined once
    kept, best_by_basis = index.memo(KEPT), selection.best_by_basis
    for position in selection.positions:
        view, parts, best, age = kept.get(position) or _pieces(index, position, now)
        fresh = freshness.get(view.source)
        if fresh is None:
            state = index.freshness(view.source, now)
            fresh = freshness[view.source] = (state, _encode(convert.freshness(state)))
        if parts is None:
            age_label = age_now(view, now)
            out += (_encode(convert.offer(replace(view, freshness=fresh[0], age_label=age_label), page)), b",")
            continue
        if age is None:  # a live offer's
            age = ages.get(view.observed_at)
            if age is None:
                age = ages[view.observed_at] = _encode(age_now(view, now))
        is_best = best is not None and best_by_basis.get(best[0]) == best[1]
        a, b, c, d = parts
        out += (a, age, b, fresh[1], c, b"true" if is_best else b"false", d, b",")
    if len(out) > 1:
        out.pop()  # the last item's comma
    out += (b"]", envelope[len(_EMPTY_ITEMS):])
    return b"".join(out)
