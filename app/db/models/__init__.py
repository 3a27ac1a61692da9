"""All ORM models. Import from here so Alembic and the app see the same metadata."""

from app.db.models.jobs import JobLease
from app.db.models.prices import (
    OFFER_ORIGIN_LIVE,
    OFFER_ORIGIN_SNAPSHOT,
    GpuDailyPrice,
    Offer,
    PriceHistory,
    PriceSource,
)

__all__ = [
    "OFFER_ORIGIN_LIVE",
    "OFFER_ORIGIN_SNAPSHOT",
    "GpuDailyPrice",
    "JobLease",
    "Offer",
    "PriceHistory",
    "PriceSource",
]
