"""The current offers held in memory per price-data version: ``list_offers`` without SQL.

``/api/v1/prices`` is asked for many distinct filters (each a cache miss), and answering one on the
database costs ~30-50 ms: four statements, ORM rows, then views. The offers change only when an
ingest commits, so each process loads them once per data version (the response cache's version,
read at most once a second and after every commit of this process: app/cache/responses.py) into
columns (numpy arrays: money as integer micro-dollars, exact like the Money type) and answers a
query by masks, a sort order computed once per version, and a slice. Only the page's rows become
views, through the same ``to_view`` as the SQL path, so an answer is the same as ``list_offers``'s
(tests/services/test_offer_index.py compares them over random filters on both engines).

What the database decides is taken from it: the order of GPU slugs and provider names (its
collation) and, for ``sort=tflop_price``, how it divides (exact NUMERIC on PostgreSQL, integer
micros on SQLite). A region filter with LIKE wildcards or non-ASCII text goes to the SQL path:
the engines disagree there and the answer must stay the one the database gives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from decimal import Decimal
from fractions import Fraction

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import Offer, PriceSource as SourceRow
from app.db.types import money, utcnow
from app.services.freshness import Freshness, humanize_age, source_freshness
from app.services.prices import (PRICE_BASES, SORTS, OfferView, Page, PriceQuery, list_offers, poll_interval, source_rows,
                                 to_view)
from providers.base import PriceBasis
from providers.gpus import GPUS, gpus_in
from providers.registry import SIMULATED

COLUMNS = ("id", "source", "instance_type", "gpu_slug", "gpu_raw_name", "gpu_hint", "gpu_count", "gpu_memory_gb",
           "vcpus", "ram_gb", "disk_gb", "region", "spot", "price_per_hour", "price_per_gpu_hour", "available",
           "buy_url", "original_currency", "original_price_per_hour", "fx_usd_per_unit", "fx_rate_date",
           "price_basis", "cpu_arch", "boot_seconds_min", "boot_seconds_max", "origin", "observed_at")
log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LAST = np.iinfo(np.int64).max  # sorts after every real key: NULLS LAST
PREPARE_SLICE = 50
"""Offers prepared at a time between requests (~1.5 ms of work: what a request may wait behind;
100k offers are ~3 s of work per data version)."""


class OfferRecord:
    """One offer row as ``to_view`` reads it (the ORM row's attributes, without the ORM)."""

    __slots__ = COLUMNS

    def __init__(self, values) -> None:
        for name, value in zip(COLUMNS, values):
            setattr(self, name, value)

    conversion = Offer.conversion  # the same property, over the same attribute names


def micros(value: Decimal) -> int:
    """Money as the database compares it: quantized to 6 decimals (what binding a Money value does)."""
    return int(money(value) * 1_000_000)


def _needs_sql(query: PriceQuery) -> bool:
    region = query.region
    return region is not None and (not region.isascii() or any(c in region for c in "%_\\"))


@dataclass
class OfferIndex:
    version: str
    records: list[OfferRecord]
    sources: dict[str, SourceRow]
    other_market: dict[tuple[str, str, str, bool], Decimal]
    columns: dict[str, np.ndarray]
    slugs: dict[str | None, int]
    source_codes: dict[str, int]
    regions: list[str]
    dialect: str
    regions_ascii: bool
    """False when a region has non-ASCII text: the engines' lower() differ there (SQL answers)."""
    _orders: dict[str, np.ndarray]
    _views: dict[int, OfferView]
    _by_gpu: dict[tuple[int, ...], _Subset]
    _ranks: dict[str, np.ndarray]
    _memos: dict[str, dict]
    _fresh_at: dict[tuple[str, datetime], Freshness]

    @classmethod
    async def load(cls, session: AsyncSession, version: str) -> OfferIndex:
        rows = (await session.execute(select(*(getattr(Offer, c) for c in COLUMNS)).order_by(Offer.id))).all()
        # The database's own order of the text keys the sorts use (its collation, NULL last).
        slug_order = (await session.execute(
            select(Offer.gpu_slug).where(Offer.gpu_slug.is_not(None)).distinct().order_by(Offer.gpu_slug))).scalars()
        source_order = (await session.execute(select(Offer.source).distinct().order_by(Offer.source))).scalars()
        sources = await source_rows(session)
        dialect = session.bind.dialect.name
        return await asyncio.to_thread(cls._build, version, rows, list(slug_order), list(source_order), sources,
                                       dialect)

    @classmethod
    def _build(cls, version, rows, slug_order, source_order, sources, dialect) -> OfferIndex:
        records = [OfferRecord(row) for row in rows]
        slugs: dict[str | None, int] = {slug: rank for rank, slug in enumerate(slug_order)}
        slugs[None] = len(slugs) + 1
        source_codes = {name: rank for rank, name in enumerate(source_order)}
        region_codes: dict[str, int] = {}
        other_market = {}
        for r in records:  # by id: where one shape is listed twice, the later row wins, as in with_other_market
            other_market[(r.source, r.instance_type, r.region, r.spot)] = r.price_per_gpu_hour
        bases = {b: i for i, b in enumerate(PRICE_BASES)}
        n = len(records)
        memory = [r.gpu_memory_gb for r in records]
        columns = {
            "id": np.fromiter((r.id for r in records), np.int64, n),
            "gpu": np.fromiter((slugs.get(r.gpu_slug, len(slugs)) for r in records), np.int64, n),
            "has_memory": np.fromiter((m is not None for m in memory), bool, n),
            "memory": np.fromiter((m or 0 for m in memory), np.int64, n),
            "count": np.fromiter((micros(r.gpu_count) for r in records), np.int64, n),
            "price": np.fromiter((micros(r.price_per_gpu_hour) for r in records), np.int64, n),
            "instance_price": np.fromiter((micros(r.price_per_hour) for r in records), np.int64, n),
            "source": np.fromiter((source_codes[r.source] for r in records), np.int64, n),
            "region": np.fromiter((region_codes.setdefault(r.region.lower(), len(region_codes)) for r in records),
                                  np.int64, n),
            "spot": np.fromiter((bool(r.spot) for r in records), bool, n),
            "available": np.fromiter((-1 if r.available is None else int(r.available) for r in records), np.int8, n),
            "basis": np.fromiter((bases.get(r.price_basis, -1) for r in records), np.int64, n),
            "observed": np.fromiter((_micros_since_epoch(r.observed_at) for r in records), np.int64, n),
            "simulated": np.fromiter((r.source in SIMULATED for r in records), bool, n),
        }
        columns.update({f"basis={code}": columns["basis"] == code for code in range(len(PRICE_BASES))})
        columns["bookable"] = columns["available"] != 0  # not reported unavailable
        columns["public"] = ~columns["simulated"]
        return cls(version, records, sources, other_market, columns, slugs, source_codes, list(region_codes),
                   dialect, all(r.isascii() for r in region_codes), {}, {}, {}, {}, {}, {})

    def _candidates(self, q: PriceQuery) -> _Subset | None:
        """The asked GPU's offers (a GPU filter is the usual and the most selective one: the other
        filters then look at those rows only), their columns kept per GPU; None: every row."""
        if not q.gpu:
            return None
        codes = tuple(code for gpu in gpus_in(q.gpu) if (code := self.slugs.get(gpu.slug)) is not None)
        subset = self._by_gpu.get(codes)
        if subset is None:
            rows = np.flatnonzero(_member(self.columns["gpu"], list(codes))) if codes else np.zeros(0, np.int64)
            subset = self._by_gpu[codes] = _Subset(self.columns, rows)
        return subset

    def _mask(self, q: PriceQuery, rows: _Subset | None) -> np.ndarray:
        """Which of ``rows`` (every row when None) match ``q``; the GPU filter is in ``rows``."""
        c = self.columns if rows is None else rows
        mask = np.ones(len(self.records) if rows is None else len(rows.rows), bool)
        if q.gpu:
            pass  # the candidates are the GPU's offers
        elif not q.include_unknown:
            mask &= c["gpu"] != self.slugs[None]
        if q.min_memory_gb is not None:
            mask &= c["has_memory"] & (c["memory"] >= q.min_memory_gb)
        if q.min_gpus is not None:
            mask &= c["count"] >= micros(q.min_gpus)
        if q.max_gpus is not None:
            mask &= c["count"] <= micros(q.max_gpus)
        if q.min_total_memory_gb is not None:
            mask &= c["has_memory"] & (c["count"] * c["memory"] >= micros(Decimal(q.min_total_memory_gb)))
        if q.max_price is not None:
            mask &= c["price"] <= micros(q.max_price)
        if q.providers:
            mask &= _member(c["source"], [self.source_codes[p] for p in q.providers if p in self.source_codes])
        if q.region:
            needle = q.region.lower()
            mask &= _member(c["region"], [i for i, region in enumerate(self.regions) if needle in region])
        if q.spot is not None:
            mask &= c["spot"] == q.spot
        if q.available_only:
            mask &= (c["available"] != 0) if q.include_unreported else (c["available"] == 1)
        if q.price_basis:
            mask &= _member(c["basis"], [PRICE_BASES.index(b) for b in q.price_basis])
        if not q.include_simulated and SIMULATED:
            mask &= c["public"]
        return mask

    def _order(self, sort: str) -> np.ndarray:
        """Row positions in the order of ``SORTS[sort]`` (app/services/prices.py), computed once."""
        order = self._orders.get(sort)
        if order is not None:
            return order
        c = self.columns
        ids, price = c["id"], c["price"]
        if sort == "tflop_price":
            order = np.array(sorted(range(len(self.records)), key=self._tflop_key), np.int64)
        else:
            keys = {
                "price": (ids, price),
                "-price": (ids, -price),
                "instance_price": (ids, c["instance_price"]),
                "-instance_price": (ids, -c["instance_price"]),
                "gpu": (ids, price, c["gpu"]),
                "provider": (ids, price, c["source"]),
                "memory": (ids, price, np.where(c["has_memory"], -c["memory"], _LAST)),
                "gpus": (ids, price, -c["count"]),
                "updated": (ids, -c["observed"]),
            }[sort]
            order = np.lexsort(keys)  # the last key is the primary one
        self._orders[sort] = order
        return order

    def rank(self, sort: str) -> np.ndarray:
        """Each row's place in ``sort``'s order (both computed once per version)."""
        return self._rank(sort)

    def _rank(self, sort: str) -> np.ndarray:
        """Each row's place in ``_order(sort)``."""
        rank = self._ranks.get(sort)
        if rank is None:
            order = self._order(sort)
            rank = self._ranks[sort] = np.empty(len(order), np.int64)
            rank[order] = np.arange(len(order))
        return rank

    def _base_view(self, position: int, now: datetime) -> OfferView:
        """The offer's view with everything that does not depend on the time: only its freshness
        and (for a live offer) its age label are worked out again per request, as ``to_view`` does."""
        view = self._views.get(position)
        if view is None:
            record = self.records[position]
            view = to_view(record, self.sources.get(record.source), now,  # type: ignore[arg-type]
                           self._freshness_at(record.source, now))
            other = self.other_market.get((record.source, record.instance_type, record.region, not record.spot))
            # The view is new and ours: set in place, as replace() would, without a second __init__.
            object.__setattr__(view, "other_market_per_gpu_hour", other)
            self._views[position] = view
        return view

    def _tflop_key(self, position: int) -> tuple:
        record = self.records[position]
        gpu = GPUS.get(record.gpu_slug) if record.gpu_slug else None
        price = int(self.columns["price"][position])
        if gpu is None or gpu.specs is None:
            return (1, 0, price, record.id)
        tflops = gpu.specs.fp16_tflops
        # SQLite divides integer micros (x 10^6) by an integer; PostgreSQL divides NUMERIC exactly.
        per_tflop = price * 1_000_000 // tflops if self.dialect == "sqlite" else Fraction(price, tflops)
        return (0, per_tflop, price, record.id)

    def select(self, q: PriceQuery) -> Selection:
        """The positions of ``q``'s page, in order, with the whole match's count and best prices."""
        rows = self._candidates(q)
        mask = self._mask(q, rows)
        c = self.columns if rows is None else rows
        best_by_basis: dict[PriceBasis, Decimal] = {}
        bookable_prices = np.where(mask & c["bookable"], c["price"], _LAST)
        for code, basis in enumerate(PRICE_BASES):
            lowest = int(bookable_prices.min(where=c[f"basis={code}"], initial=_LAST))
            if lowest != _LAST:
                best_by_basis[PriceBasis(basis)] = money(Decimal(lowest) / 1_000_000)
        start, end = (q.page - 1) * q.per_page, q.page * q.per_page
        if rows is None:
            chosen = _first_matching(self._order(q.sort), mask, end)[start:]
        else:  # sorted by their place in the whole order (unique: the id breaks ties)
            matching = rows.rows[mask]
            ranks = rows.taken(f"rank:{q.sort}", lambda: self._rank(q.sort)[rows.rows])[mask]
            if len(matching) > 2 * end:  # only the first ``end`` are needed
                first = np.argpartition(ranks, end - 1)[:end]
                matching, ranks = matching[first], ranks[first]
            chosen = matching[np.argsort(ranks)][start:end]
        return Selection(chosen.tolist(), int(np.count_nonzero(mask)), best_by_basis)

    def freshness(self, source: str, now: datetime) -> Freshness:
        return source_freshness(self.sources.get(source), poll_interval(source), now)

    def _freshness_at(self, source: str, now: datetime) -> Freshness:
        """``freshness`` once per source and moment (a base view's is replaced when it is read)."""
        key = (source, now)
        fresh = self._fresh_at.get(key)
        if fresh is None:
            if len(self._fresh_at) > 256:
                self._fresh_at.clear()
            fresh = self._fresh_at[key] = self.freshness(source, now)
        return fresh

    def base_view(self, position: int, now: datetime) -> OfferView:
        """The offer's view with the freshness and age label of its first use: ``freshness`` and
        ``age_now`` give those two as of now."""
        return self._base_view(position, now)

    def memo(self, name: str) -> dict:
        """A dict that lives as long as this version's index: what an upper layer derives from
        the offers once per version (app/api/offer_json.py keeps each offer's JSON here)."""
        return self._memos.setdefault(name, {})

    def page(self, q: PriceQuery, now: datetime) -> Page:
        selection = self.select(q)
        freshness: dict[str, Freshness] = {}
        views = []
        for position in selection.positions:
            base = self._base_view(position, now)
            fresh = freshness.get(base.source)
            if fresh is None:
                fresh = freshness[base.source] = self.freshness(base.source, now)
            views.append(_at_time(base, fresh, age_now(base, now)))
        return Page(items=views, total=selection.total, page=q.page, per_page=q.per_page,
                    best_by_basis=selection.best_by_basis)


@dataclass(frozen=True, slots=True)
class Selection:
    positions: list[int]
    total: int
    best_by_basis: dict[PriceBasis, Decimal]


def age_now(base: OfferView, now: datetime) -> str:
    """The age label ``to_view`` gives the offer at ``now`` (a snapshot's never changes)."""
    return base.age_label if base.is_snapshot else humanize_age(now - base.observed_at)


class _Subset:
    """The columns at ``rows`` only, each taken when first read (and kept: one per GPU filter)."""

    def __init__(self, columns: dict[str, np.ndarray], rows: np.ndarray) -> None:
        self._columns, self.rows, self._taken = columns, rows, {}

    def __getitem__(self, name: str) -> np.ndarray:
        column = self._taken.get(name)
        if column is None:
            column = self._taken[name] = self._columns[name][self.rows]
        return column

    def taken(self, name: str, take: Callable[[], np.ndarray]) -> np.ndarray:
        column = self._taken.get(name)
        if column is None:
            column = self._taken[name] = take()
        return column


def _first_matching(order: np.ndarray, mask: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` positions of ``order`` that ``mask`` keeps, looking at a growing slice
    of ``order`` at a time: a broad filter fills a first page from its first few thousand rows."""
    found, total, start, size = [], 0, 0, 4096
    while start < len(order) and total < count:
        part = order[start:start + size]
        hits = part[mask[part]]
        found.append(hits)
        total += len(hits)
        start, size = start + size, size * 4
    return np.concatenate(found)[:count] if found else order[:0]


_VIEW_FIELDS = tuple(f.name for f in fields(OfferView))


def _at_time(base: OfferView, freshness: Freshness, age_label: str) -> OfferView:
    """``replace(base, freshness=..., age_label=...)`` without re-running the dataclass __init__
    (a third of a query's time): the other fields are the base view's, already checked."""
    view = object.__new__(OfferView)
    for name in _VIEW_FIELDS:
        object.__setattr__(view, name, getattr(base, name))
    object.__setattr__(view, "freshness", freshness)
    object.__setattr__(view, "age_label", age_label)
    return view


def _member(codes: np.ndarray, wanted: list[int]) -> np.ndarray:
    """``codes`` in ``wanted`` (small non-negative codes, -1 for none): one table lookup per row."""
    table = np.zeros(int(codes.max(initial=0)) + 2, bool)  # the last slot answers code -1
    table[[w for w in wanted if w < len(table) - 1]] = True
    return table[codes]


def _micros_since_epoch(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class OfferReadModel:
    """The process's ``OfferIndex`` for the current data version; one load per version, shared by
    the requests that arrive while it loads."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *,
                 prepare: Callable[[OfferIndex, range], None] | None = None) -> None:
        self.sessions = sessions
        self.prepare = prepare
        """Work an upper layer does once per version for each offer (app/api/offer_json.py encodes
        its JSON): run over every position after a load (after the sort orders), in slices
        between requests, so a request rarely does it itself."""
        self._index: OfferIndex | None = None
        self._loading: dict[str, asyncio.Future[OfferIndex]] = {}
        self._preparing: asyncio.Task | None = None
        self.loads = 0

    async def index(self, version: str) -> OfferIndex:
        if self._index is not None and self._index.version == version:
            return self._index
        loading = self._loading.get(version)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[OfferIndex] = asyncio.get_running_loop().create_future()
        self._loading[version] = future
        try:
            async with self.sessions() as session:
                index = await OfferIndex.load(session, version)
            self.loads += 1
            self._index = index
            future.set_result(index)
            self.stop_preparing()
            self._preparing = asyncio.get_running_loop().create_task(self._prepare(index))
            return index
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a failure nobody else waited for is not logged as lost
            raise
        finally:
            self._loading.pop(version, None)

    async def _prepare(self, index: OfferIndex) -> None:
        """After a load: each sort's order (10-30 ms each, numpy, in a thread: the requests go on
        meanwhile; tflop_price's, a Python sort of ~1 s, is left to its first request as before),
        then ``prepare`` over every offer, a slice at a time between requests. Stops when a newer
        version replaces ``index`` (its own task prepares that one)."""
        for sort in (sort for sort in SORTS if sort != "tflop_price"):
            if self._index is not index:
                return
            await asyncio.to_thread(index.rank, sort)
        for start in range(0, len(index.records) if self.prepare is not None else 0, PREPARE_SLICE):
            if self._index is not index:
                return
            try:
                self.prepare(index, range(start, min(start + PREPARE_SLICE, len(index.records))))
            except Exception:  # the requests do it themselves then
                log.exception("offer index: preparing the offers failed")
                return
            await asyncio.sleep(0)

    @property
    def preparing(self) -> bool:
        return self._preparing is not None and not self._preparing.done()

    def stop_preparing(self) -> None:
        if self._preparing is not None:
            self._preparing.cancel()
            self._preparing = None

    async def warm(self, current_version: Callable[[], Awaitable[str]]) -> None:
        """Load the current offers as the process starts, before a request waits for them. A
        database not reachable yet is no reason not to start: the first request loads them then."""
        try:
            await self.index(await current_version())
        except (SQLAlchemyError, OSError) as exc:
            log.warning("offer index: not loaded at start (%s); the first price query loads it", exc)

    async def index_for(self, query: PriceQuery, version: str) -> OfferIndex | None:
        """The index that answers ``query`` at ``version``; None: the SQL path must (see the module)."""
        index = None if _needs_sql(query) else await self.index(version)
        if index is None or (query.region and not index.regions_ascii):
            return None
        return index

    async def list_offers(self, query: PriceQuery, version: str, now: datetime | None = None) -> Page:
        """What ``app.services.prices.list_offers`` answers for ``query`` at ``version``."""
        query.validate()
        now = now or utcnow()
        index = await self.index_for(query, version)
        if index is None:
            async with self.sessions() as session:
                return await list_offers(session, query, now)
        return index.page(query, now)
