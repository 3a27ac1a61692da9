"""API tests: the real app over the `engine` of each test database, data seeded through ingest."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from app.db.types import utcnow
from app.server import create_app
from app.settings import Settings
from tests.support.factories import make_offer, seed


@pytest.fixture
async def client(engine, sessions):
    app = create_app(Settings(), engine=engine, run_worker=False)
    async with AsyncTestClient(app=app) as client:
        yield client


def recent() -> datetime:
    """A poll time a few minutes ago, whole seconds, so ages read "5 min ago"."""
    return (utcnow() - timedelta(minutes=5)).replace(microsecond=0)


# Eight offers over three sources, named by instance type; $/GPU-hour in the comments.
OFFERS = {
    "h100-1x": make_offer("lambdalabs", "H100 SXM", "2.99", instance_type="h100-1x"),  # 2.99
    "h100-8x": make_offer("lambdalabs", "H100 SXM", "19.92", count=8, region="us-west-1",
                          instance_type="h100-8x"),  # 2.49
    "a100-40": make_offer("lambdalabs", "A100 SXM4 40GB", "1.29", memory=40, instance_type="a100-40"),  # 1.29
    "h100-pcie": make_offer("runpod", "H100 PCIe", "2.39", region="EU-RO-1", instance_type="h100-pcie"),  # 2.39
    "h100-spot": make_offer("runpod", "H100 SXM", "1.75", spot=True, region="US-TX-3", available=False,
                            instance_type="h100-spot"),  # 1.75 spot, unavailable
    "4090-1x": make_offer("runpod", "RTX 4090", "0.69", memory=24, region="EU-RO-1",
                          instance_type="4090-1x"),  # 0.69
    "4090-2x": make_offer("vastai", "RTX 4090", "0.70", count=2, memory=None, region="Quebec, CA",
                          available=None, instance_type="4090-2x"),  # 0.35, memory unknown
    "mystery": make_offer("vastai", "Mystery X1000", "1.000003", memory=32, region="Quebec, CA",
                          instance_type="mystery"),  # 1.000003, not in the catalog
}


@pytest.fixture
async def offers(sessions) -> datetime:
    """Seed OFFERS as live prices polled a few minutes ago; returns the poll time."""
    at = recent()
    await seed(sessions, list(OFFERS.values()), at=at)
    return at
