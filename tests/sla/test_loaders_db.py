"""The loaders read the real recorded rows (sandbox instance events + auto-repair health checks), on
SQLite and PostgreSQL, and the arithmetic gives the hand-computed figures for them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import select

from app.db.models import HealthCheck, Instance, NodePool, PoolNode
from app.sla import figures
from app.sla.loaders import load_instance, load_pool
from app.sla.rolling import combine
from app.sla.uptime import uptime
from tests.repair.support import run_cycle, watched_instance

CHECK_EVERY = timedelta(seconds=30)  # settings.repair.check_interval_seconds: a verdict holds 60 s


async def recorded_incident(sessions, keyring, http, cloud, clock, settings, pro):
    """A watched sandbox instance whose endpoint fails three checks, is rebooted and is healthy again."""
    row = await watched_instance(sessions, keyring, http, clock, settings, pro, url="http://8.8.8.8:8080/health")
    # t0+21 running (sync after the 20 s boot): check ok. The endpoint then fails: checks at +51 +81 +111;
    # the third failure reboots it at +111 (provisioning), running again at +141: ok at +141 and +171.
    await run_cycle(sessions, keyring, http, settings, clock)
    cloud.set_faults(pro.api_key, health_failing=True)
    for _ in range(3):
        clock.advance(30)
        await run_cycle(sessions, keyring, http, settings, clock)
    cloud.set_faults(pro.api_key)
    for _ in range(2):
        clock.advance(30)
        await run_cycle(sessions, keyring, http, settings, clock)
    return row


async def add_pool(sessions, instance_id: int, at) -> int:
    async with sessions() as session, session.begin():
        inst = await session.get(Instance, instance_id)
        pool = NodePool(workspace_id=inst.workspace_id, user_id=inst.user_id, name="p", gpu="rtx4090",
                        gpus_per_node=1, target_nodes=1, max_nodes=1, max_price_per_gpu_hour=Decimal("9"),
                        created_at=at, updated_at=at)
        session.add(pool)
        await session.flush()
        session.add(PoolNode(pool_id=pool.id, instance_id=instance_id, price_per_gpu_hour=Decimal("1"), created_at=at))
        session.add(PoolNode(pool_id=pool.id, instance_id=None, state="ended", price_per_gpu_hour=Decimal("1"),
                             created_at=at, ended_at=at))
        return pool.id


async def test_uptime_from_recorded_events_and_checks(sessions, keyring, http, cloud, clock, settings, pro):
    assert settings.repair.check_interval_seconds == CHECK_EVERY.total_seconds()
    t0 = clock()
    row = await recorded_incident(sessions, keyring, http, cloud, clock, settings, pro)
    end = clock() + timedelta(seconds=30)  # t0+201

    async with sessions() as session:
        history = await load_instance(session, row.id, t0, end, CHECK_EVERY)
        failed_detail = (await session.execute(select(HealthCheck.detail).where(
            HealthCheck.instance_id == row.id, HealthCheck.healthy.is_(False)).order_by(HealthCheck.at))).scalars().first()
    assert [(round((c.at - t0).total_seconds()), c.ok) for c in history.checks] == [
        (21, True), (51, False), (81, False), (111, False), (141, True), (171, True)]
    result = uptime(history.states, history.checks, history.maintenance, CHECK_EVERY, t0, end)
    # Excluded: 0 -> 21 (launching/provisioning) + 111 -> 141 (the reboot) = 51 s.
    # Up: 21 -> 51 + 141 -> 201 = 90 s. Down: 51 -> 111 = 60 s (the reboot ends the incident). 90/150 = 3/5.
    sec = timedelta(seconds=1)
    assert (result.up, result.down, result.unknown, result.excluded) == (90 * sec, 60 * sec, 0 * sec, 51 * sec)
    assert result.fraction == Fraction(3, 5)
    assert result.percent(1) == Decimal("60.0")
    [incident] = result.incidents
    assert (incident.start - t0, incident.end - t0) == (51 * sec, 111 * sec)
    assert incident.cause == failed_detail and "does not answer" in incident.cause

    # A window that starts mid-incident reads the state and the check in force at its start.
    async with sessions() as session:
        later = await load_instance(session, row.id, t0 + 60 * sec, end, CHECK_EVERY)
    part = uptime(later.states, later.checks, later.maintenance, CHECK_EVERY, t0 + 60 * sec, end)
    # Down 60 -> 111 = 51 s, excluded 111 -> 141 = 30 s, up 141 -> 201 = 60 s.
    assert (part.down, part.excluded, part.up) == (51 * sec, 30 * sec, 60 * sec)

    # The same instance as the one node of a pool: the pool's figure is that node's.
    pool_id = await add_pool(sessions, row.id, t0)
    async with sessions() as session:
        nodes = await load_pool(session, pool_id, t0, end, CHECK_EVERY)
    assert [n.instance_id for n in nodes] == [row.id]
    figure = combine([uptime(n.states, n.checks, n.maintenance, CHECK_EVERY, t0, end) for n in nodes], t0, end)
    assert figure.fraction == Fraction(3, 5)


async def test_the_deployment_page_shows_the_rolling_uptime(sessions, keyring, http, cloud, clock, settings, pro,
                                                            as_pro, monkeypatch):
    """(The pool page, an organization's, renders the same macro: tests/browser/test_pools_page.py.)"""
    row = await recorded_incident(sessions, keyring, http, cloud, clock, settings, pro)
    monkeypatch.setattr(figures, "utcnow", lambda: clock() + timedelta(seconds=30))  # the pages' "now": t0+201
    # All three windows reach back before t0: each is the whole recorded life, 90 s up of 150 measured = 60 %.
    for path in (f"/console/instances/{row.id}",):
        response = await as_pro.get(path)
        assert response.status_code == 200, response.text[:300]
        text = " ".join(response.text.split())
        for window, label in (("24h", "24 h"), ("7d", "7 d"), ("30d", "30 d")):
            assert f'<span data-window="{window}"><strong>{label}</strong> 60.00 %</span>' in text
        assert "Last 24 h: 1 incident, down 1.0 min" in text
        assert "does not answer" in text  # the incident's cause
        assert figures.RULES in text and figures.POOL_RULES not in text
