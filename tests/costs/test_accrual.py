"""Exact cost accrual from instance events, driven by a frozen clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.costs.accrual import accrue_costs
from app.db.models import CostRecord, Instance, InstanceEvent, User
from app.workspaces import personal_workspace_id

UTC = timezone.utc


async def make_instance(sessions, events: list[tuple[datetime, str, str | None]], status: str = "running",
                        terminated_at: datetime | None = None) -> int:
    async with sessions() as s, s.begin():
        user = User(email=f"u{datetime.now().timestamp()}@x.test", name="U", password_hash="x", is_admin=False,
                    totp_enabled=False, timezone="UTC", created_at=events[0][0])
        s.add(user)
        await s.flush()
        inst = Instance(workspace_id=await personal_workspace_id(s, user.id), user_id=user.id, provider="sandbox", client_token=f"t{user.id}", name="gpu-1",
                        instance_type="sbx.h100.1x", region="sandbox-eu-1", gpu_slug="h100-sxm", status=status,
                        created_at=events[0][0], updated_at=events[-1][0], terminated_at=terminated_at)
        s.add(inst)
        await s.flush()
        for at, st, price in events:
            s.add(InstanceEvent(instance_id=inst.id, status=st, at=at,
                                price_per_hour=Decimal(price) if price else None))
        return inst.id


async def total(sessions, instance_id=None) -> Decimal:
    async with sessions() as s:
        q = select(func.coalesce(func.sum(CostRecord.amount), 0))
        if instance_id:
            q = q.where(CostRecord.instance_id == instance_id)
        return Decimal((await s.execute(q)).scalar_one()).quantize(Decimal("0.000001"))


async def test_issue_example_run_90_stop_30_run_15(sessions):
    t0 = datetime(2026, 11, 2, 10, 7, tzinfo=UTC)
    iid = await make_instance(sessions, [
        (t0, "running", "2.40"),
        (t0 + timedelta(minutes=90), "stopped", "2.40"),
        (t0 + timedelta(minutes=120), "running", "2.40"),
        (t0 + timedelta(minutes=135), "terminated", "2.40"),
    ], status="terminated", terminated_at=t0 + timedelta(minutes=135))
    await accrue_costs(sessions, now=t0 + timedelta(hours=5))
    assert await total(sessions, iid) == Decimal("4.20")
    await accrue_costs(sessions, now=t0 + timedelta(hours=6))  # twice: same total
    assert await total(sessions, iid) == Decimal("4.20")


async def test_running_job_often_or_after_downtime_gives_the_same_total(sessions):
    t0 = datetime(2026, 11, 30, 22, 50, tzinfo=UTC)  # across midnight and the month end
    iid = await make_instance(sessions, [(t0, "provisioning", "1.10"), (t0 + timedelta(minutes=4), "running", "1.10")])
    # every 7 minutes for 3 hours...
    for k in [*range(0, 180, 7), 180]:
        await accrue_costs(sessions, now=t0 + timedelta(minutes=k))
    frequent = await total(sessions, iid)
    assert frequent == Decimal("3.300000")  # 180 minutes at $1.10/h, booting included
    # ...and the same again: running the job twice changes nothing
    await accrue_costs(sessions, now=t0 + timedelta(minutes=180))
    assert await total(sessions, iid) == frequent
    async with sessions() as s:
        months = {r.period_start.month for r in (await s.execute(select(CostRecord))).scalars()}
    assert months == {11, 12}


async def test_one_run_after_downtime_equals_frequent_runs(sessions):
    t0 = datetime(2026, 11, 30, 22, 50, tzinfo=UTC)
    iid = await make_instance(sessions, [(t0, "provisioning", "1.10"), (t0 + timedelta(minutes=4), "running", "1.10")])
    await accrue_costs(sessions, now=t0 + timedelta(minutes=20))
    await accrue_costs(sessions, now=t0 + timedelta(minutes=180))  # the worker was down 160 minutes
    assert await total(sessions, iid) == Decimal("3.300000")


async def test_price_change_mid_period_is_split(sessions):
    t0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Europe changes to summer time
    iid = await make_instance(sessions, [
        (t0, "running", "2.00"),
        (t0 + timedelta(minutes=10), "running", "3.00"),
        (t0 + timedelta(minutes=70), "stopped", "3.00"),
    ], status="stopped")
    await accrue_costs(sessions, now=t0 + timedelta(hours=2))
    # 10 min at $2 + 60 min at $3
    assert await total(sessions, iid) == Decimal("3.333333")


@pytest.mark.parametrize("state", ["stopped", "launching", "failed", "terminated"])
async def test_non_billable_states_cost_nothing(sessions, state):
    t0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    iid = await make_instance(sessions, [(t0, state, "5.00")], status=state)
    await accrue_costs(sessions, now=t0 + timedelta(hours=3))
    assert await total(sessions, iid) == 0


async def test_a_price_change_reported_by_the_provider_is_costed_from_its_time(sessions):
    from app.console.instances import apply_provider_state
    from providers.base import Instance as ProviderInstance, InstanceStatus

    t0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    iid = await make_instance(sessions, [(t0, "running", "2.00")])
    async with sessions() as s, s.begin():
        row = await s.get(Instance, iid)
        row.provider_price_per_hour = Decimal("2.00")
        remote = ProviderInstance(provider="sandbox", instance_id="x", name="gpu-1", status=InstanceStatus.RUNNING,
                                  raw_status="running", price_per_hour=Decimal("3.00"))
        assert await apply_provider_state(s, row, remote, t0 + timedelta(minutes=30)) is False  # state unchanged
    await accrue_costs(sessions, now=t0 + timedelta(hours=1))
    assert await total(sessions, iid) == Decimal("2.50")  # 30 min at $2 + 30 min at $3
