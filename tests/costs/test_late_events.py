"""An event that is committed after the job ran, stamped with an earlier time (a sync stamps its
events when it starts, before its provider calls), still counts: recent periods are recomputed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from app.costs.accrual import accrue_costs
from app.db.models import Instance, InstanceEvent
from tests.costs.support import add_instance, make_user
from tests.costs.test_accrual import total

UTC = timezone.utc


async def test_a_stop_committed_after_the_job_ran_still_stops_the_meter(sessions, keyring):
    user = await make_user(sessions, keyring, "late@example.com", "Late")
    t0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    iid = await add_instance(sessions, user, "gpu", [(t0, "running", "3.60")])
    await accrue_costs(sessions, now=t0 + timedelta(minutes=15, seconds=10))  # the job runs...
    async with sessions() as session, session.begin():  # ...then a sync commits a stop stamped before it
        session.add(InstanceEvent(instance_id=iid, status="stopped", at=t0 + timedelta(minutes=14, seconds=50),
                                  price_per_hour=Decimal("3.60")))
        (await session.get(Instance, iid)).status = "stopped"
    await accrue_costs(sessions, now=t0 + timedelta(minutes=16))
    assert await total(sessions, iid) == Decimal("0.890000")  # 14 min 50 s at $3.60/h
