"""Price aggregation tables: sources, current offers, change-only history, daily stats."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import Money, UTCDateTime
from providers.fx import PriceConversion

OFFER_ORIGIN_LIVE = "live"
OFFER_ORIGIN_SNAPSHOT = "snapshot"


class PriceSource(Base):
    """Fetch status of one price source (a provider adapter or a scraper)."""

    __tablename__ = "price_sources"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error_retryable: Mapped[bool | None] = mapped_column(Boolean)
    retry_after_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """Set from a rate-limit answer: the poller does not call the source again before this."""
    offer_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    not_configured: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot_taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the current offers came from the bundled snapshot: the date the snapshot was taken."""


class Offer(Base):
    """The current offers of every source. A failed poll leaves them as they were (stale)."""

    __tablename__ = "offers"
    __table_args__ = (
        UniqueConstraint("source", "offer_key"),
        Index("ix_offers_gpu_price", "gpu_slug", "spot", "price_per_gpu_hour"),
        Index("ix_offers_price", "price_per_gpu_hour"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))  # indexed by the (source, offer_key) unique index
    offer_key: Mapped[str] = mapped_column(String(255))
    instance_type: Mapped[str] = mapped_column(String(255))
    gpu_slug: Mapped[str | None] = mapped_column(String(64))
    """Canonical GPU, or NULL when the provider's name is not in the catalog (listed as unknown)."""
    gpu_raw_name: Mapped[str] = mapped_column(String(255))
    gpu_hint: Mapped[str] = mapped_column(String(255), default="")
    """Extra text the adapter gave for normalization (kept so a snapshot re-resolves the same)."""
    gpu_count: Mapped[Decimal] = mapped_column(Money())
    gpu_memory_gb: Mapped[int | None] = mapped_column(Integer)
    vcpus: Mapped[int | None] = mapped_column(Integer)
    ram_gb: Mapped[int | None] = mapped_column(Integer)
    disk_gb: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(128))
    spot: Mapped[bool] = mapped_column(Boolean, default=False)
    price_per_hour: Mapped[Decimal] = mapped_column(Money())
    price_per_gpu_hour: Mapped[Decimal] = mapped_column(Money())
    available: Mapped[bool | None] = mapped_column(Boolean)
    buy_url: Mapped[str] = mapped_column(String(512))
    # Set when the provider prices in another currency: its own amount, and the ECB rate used.
    original_currency: Mapped[str | None] = mapped_column(String(3))
    original_price_per_hour: Mapped[Decimal | None] = mapped_column(Money())
    fx_usd_per_unit: Mapped[Decimal | None] = mapped_column(Money())
    fx_rate_date: Mapped[date | None] = mapped_column(Date)
    price_basis: Mapped[str | None] = mapped_column(String(16))
    """What the price pays for (``providers.base.PriceBasis``); NULL only for a source no longer registered."""
    cpu_arch: Mapped[str | None] = mapped_column(String(16))
    """Host CPU architecture (``providers.base.CpuArch``) where the source says it; NULL: not stated."""
    boot_seconds_min: Mapped[int | None] = mapped_column(Integer)
    boot_seconds_max: Mapped[int | None] = mapped_column(Integer)
    """Published boot time range; NULL: not published."""
    origin: Mapped[str] = mapped_column(String(16), default=OFFER_ORIGIN_LIVE)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """When this row last changed. Live offers are confirmed by every successful poll of their
    source, so their age on the pages is the source's ``last_success_at``."""

    @property
    def conversion(self) -> PriceConversion | None:
        """How the USD price was obtained when the provider prices in another currency."""
        if None in (self.original_currency, self.original_price_per_hour, self.fx_usd_per_unit, self.fx_rate_date):
            return None
        return PriceConversion(self.original_currency, self.original_price_per_hour, self.fx_usd_per_unit,
                               self.fx_rate_date)


class PriceHistory(Base):
    """One row per change of an offer: appeared, price or availability changed, disappeared."""

    __tablename__ = "price_history"
    __table_args__ = (
        Index("ix_price_history_gpu_time", "gpu_slug", "observed_at"),
        Index("ix_price_history_offer", "source", "offer_key", "observed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    offer_key: Mapped[str] = mapped_column(String(255))
    gpu_slug: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(128))
    spot: Mapped[bool] = mapped_column(Boolean, default=False)
    event: Mapped[str] = mapped_column(String(16))
    price_per_hour: Mapped[Decimal] = mapped_column(Money())
    price_per_gpu_hour: Mapped[Decimal] = mapped_column(Money())
    available: Mapped[bool | None] = mapped_column(Boolean)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GpuDailyPrice(Base):
    """Daily min/median/max $/GPU-hour per canonical GPU over every offer active that day."""

    __tablename__ = "gpu_daily_prices"
    __table_args__ = (UniqueConstraint("gpu_slug", "day", "spot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gpu_slug: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    spot: Mapped[bool] = mapped_column(Boolean, default=False)
    min_price: Mapped[Decimal] = mapped_column(Money())
    median_price: Mapped[Decimal] = mapped_column(Money())
    max_price: Mapped[Decimal] = mapped_column(Money())
    offer_count: Mapped[int] = mapped_column(Integer)
