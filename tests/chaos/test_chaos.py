"""Chaos: 2 web and 3 worker processes on PostgreSQL and Redis; 200 sandbox instances launched,
stopped and deleted through the console by concurrent clients while worker processes are
SIGKILLed at random moments (seeded; the seed is printed) and started again.

Afterwards: the app and the sandbox agree on every instance, none leaked or duplicated; every
notification went out exactly once (a real SMTP server on loopback, counted by Message-ID); the
cost records are those a crash-free accrual of the same history writes; and no two workers ever
ran the same unit at once (sampled from the queue all along).

Run alone: ``CI=true .venv/bin/python -m pytest -m chaos -s tests/chaos``
(``COMPUTEHUB_CHAOS_SEED=<n>`` replays a run, ``COMPUTEHUB_CHAOS_LAUNCHES=<n>`` scales it).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import psycopg
import pytest
from sqlalchemy import select

from app.costs.accrual import ACCRUAL_LEASE_TTL, PERIOD, accrue_costs, cost_rows
from app.db.models import CostRecord, Instance, InstanceEvent, JobLease, OutboxMessage
from app.db.types import utcnow
from app.notifications.dispatch import CLAIM_TTL, deliver_due
from app.notifications.deployments import COALESCE_WINDOW
from app.notifications.senders import outbox_message_id
from tests.conftest import pg_dsn, require_redis
from tests.notifications.test_email import SmtpServer, email_sender
from tests.support.live import Browser, free_port, make_account, sandbox_cloud, sandbox_offer_ids

pytestmark = pytest.mark.chaos
SEED = int(os.environ.get("COMPUTEHUB_CHAOS_SEED") or random.SystemRandom().randrange(2**31))
LAUNCHES = int(os.environ.get("COMPUTEHUB_CHAOS_LAUNCHES", "200"))
USERS = 20
CLIENTS = 16
WORKERS = ("w1", "w2", "w3")
INSTANCE_TYPES = ("sbx.rtx4090.1x", "sbx.a100.1x", "sbx.h100.1x")
STEP_TIMEOUT = 90.0
"""A state the client waits for must come within this (the page's poll syncs every 3 s at most)."""


def page_error(html: str) -> str:
    import re

    found = re.search(r'class="[^"]*alert-error[^"]*"[^>]*>(.*?)</', html, re.S)
    return found.group(1).strip() if found else html[:300]


class Chaos:
    """Kills a random worker every few seconds and starts it again shortly after."""

    def __init__(self, stack, rng: random.Random) -> None:
        self.stack, self.rng, self.kills = stack, rng, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(self.rng.uniform(0.5, 4.0)):
            name = self.rng.choice(WORKERS)
            if name in self.stack.workers:
                self.stack.kill_worker(name)
                self.kills += 1
            if not self.stop.wait(self.rng.uniform(0.0, 2.0)):
                self.stack.start_worker(name)
        for name in WORKERS:
            if name not in self.stack.workers:
                self.stack.start_worker(name)


class LockSampler:
    """Reads the queue every 0.1 s: a lock held by two running jobs is two workers on one unit."""

    def __init__(self, database_url: str) -> None:
        self.dsn, self.samples, self.doubles = pg_dsn(database_url), 0, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.wait(0.1):
                # Jobs of workers that are alive (a dead worker's job stays 'doing' until recovered).
                rows = conn.execute(
                    "SELECT j.lock, count(*) FROM procrastinate_jobs j JOIN procrastinate_workers w "
                    "ON w.id = j.worker_id WHERE j.status = 'doing' AND j.lock IS NOT NULL "
                    "AND w.last_heartbeat > now() - interval '15 seconds' GROUP BY j.lock HAVING count(*) > 1"
                ).fetchall()
                self.samples += 1
                self.doubles.extend(rows)


class Clients:
    """Browser-like clients: one login per (user, web process), shared by the client threads."""

    def __init__(self, bases: list[str], accounts, database_url: str) -> None:
        self.bases, self.accounts, self.dsn = bases, accounts, pg_dsn(database_url)
        self.conn, self.reading = None, threading.Lock()
        self.browsers: dict[tuple[str, str], Browser] = {}
        self.logging_in = threading.Lock()

    def browser(self, account, base: str) -> Browser:
        with self.logging_in:
            if (account.email, base) not in self.browsers:
                self.browsers[(account.email, base)] = Browser(base, account.email)
            return self.browsers[(account.email, base)]

    def status(self, instance_id: int) -> str:
        with self.reading:  # one connection for every client thread: PostgreSQL's are counted
            if self.conn is None:
                self.conn = psycopg.connect(self.dsn, autocommit=True)
            return self.conn.execute("SELECT status FROM instances WHERE id = %s", (instance_id,)).fetchone()[0]

    def wait_for(self, browser: Browser, instance_id: int, wanted: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while (status := self.status(instance_id)) != wanted:
            assert status not in ("failed",) or wanted == "failed", f"instance {instance_id} failed"
            assert time.monotonic() < deadline, f"instance {instance_id} stuck in {status}, waiting for {wanted}"
            browser.post("/console/poll", {})  # what the open page does while a state changes
            time.sleep(1.5)

    def act(self, browser: Browser, instance_id: int, operation: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            response = browser.post(f"/console/instances/{instance_id}/actions/{operation}", {"confirm": "yes"})
            if response.status_code in (302, 303):
                return
            # A sync holding the row's claim at this moment: try again, as a person would.
            assert "another action on this instance" in response.text, page_error(response.text)
            assert time.monotonic() < deadline
            time.sleep(0.3)

    def lifecycle(self, number: int, offers: dict[str, int]) -> int:
        rng = random.Random(SEED * 1_000_003 + number)
        account = self.accounts[number % len(self.accounts)]
        browser = self.browser(account, rng.choice(self.bases))
        itype = rng.choice(INSTANCE_TYPES)
        response = browser.post("/console/launch", {"offer": offers[itype], "binding_id": account.binding_id,
                                                    "name": f"chaos-{number}"})
        assert response.status_code in (302, 303), page_error(response.text)
        instance_id = int(response.headers["location"].split("/console/instances/")[1].split("?")[0])
        self.wait_for(browser, instance_id, "running")
        browser = self.browser(account, rng.choice(self.bases))
        self.act(browser, instance_id, "stop")
        self.wait_for(browser, instance_id, "stopped")
        self.act(browser, instance_id, "delete")
        self.wait_for(browser, instance_id, "terminated")
        return instance_id


@pytest.fixture
def smtp():
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


async def test_chaos(stack, live_sessions, live_keyring, smtp, capsys):
    require_redis()
    with capsys.disabled():
        print(f"\nchaos seed {SEED} (COMPUTEHUB_CHAOS_SEED={SEED} replays it), {LAUNCHES} launches")
    rng = random.Random(SEED)
    stack.extra_env.update({
        "COMPUTEHUB_SANDBOX_TIME_SCALE": "0.05",  # boot 1 s, stop and terminate 0.25 s
        "COMPUTEHUB_SESSION_STORE": "redis", "COMPUTEHUB_REDIS_URL": "redis://127.0.0.1:6379/13",
        "COMPUTEHUB_LOGIN_ADDRESS_ATTEMPTS": "10000",
        # Every process mails through the test's SMTP server: a message a worker sends mid-run (its
        # 60 s coalescing window over) arrives there too, not in a local outbox directory.
        "COMPUTEHUB_MAIL_BACKEND": "smtp", "COMPUTEHUB_SMTP_HOST": "127.0.0.1",
        "COMPUTEHUB_SMTP_PORT": str(smtp.port), "COMPUTEHUB_SMTP_STARTTLS": "false",
        # Within a shared server's max_connections (100 by default): the workers' pools are small
        # (app, sandbox store and queue: 3 x 10 at most), the web processes keep the default.
    })
    stack.worker_env["COMPUTEHUB_DATABASE_POOL_SIZE"] = "2"
    accounts = [await make_account(live_sessions, live_keyring, f"user{i}@example.com") for i in range(USERS)]
    offers = await sandbox_offer_ids(live_sessions)
    bases = [stack.start_web(), stack.start_web()]
    for name in WORKERS:
        stack.start_worker(name)
    chaos, sampler = Chaos(stack, rng), LockSampler(stack.database_url)
    clients = Clients(bases, accounts, stack.database_url)
    started = time.monotonic()
    chaos.thread.start()
    sampler.thread.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            instance_ids = list(pool.map(lambda n: clients.lifecycle(n, offers), range(LAUNCHES)))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n-- the processes logged:\n{stack.errors()}") from None
    finally:
        chaos.stop.set()
        chaos.thread.join()
        sampler.stop.set()
        sampler.thread.join()
    with capsys.disabled():
        print(f"chaos: {LAUNCHES} lifecycles in {time.monotonic() - started:.0f} s, {chaos.kills} worker kills, "
              f"{sampler.samples} queue samples")

    # Quiet now: the workers finish what is queued; then they stop, and the outbox's last held
    # messages (coalescing, claims of killed workers) are delivered with the clock moved past them.
    time.sleep(3)
    stack.stop()
    await deliver_due(live_sessions, email_sender(smtp.port), now=utcnow() + COALESCE_WINDOW + CLAIM_TTL,
                      limit=10_000)

    await assert_app_and_sandbox_agree(live_sessions, stack, accounts, instance_ids)
    await assert_every_notification_sent_once(live_sessions, smtp, instance_ids)
    await assert_costs_as_without_crashes(live_sessions)
    assert sampler.doubles == [], f"two running jobs held one lock: {sampler.doubles[:5]}"


async def assert_app_and_sandbox_agree(sessions, stack, accounts, instance_ids) -> None:
    cloud = sandbox_cloud(stack.database_url)
    async with sessions() as session:
        rows = list((await session.execute(select(Instance))).scalars())
    assert sorted(r.id for r in rows) == sorted(instance_ids)  # nothing discovered: no duplicate, no stray
    assert Counter(r.status for r in rows) == {"terminated": len(instance_ids)}
    assert all(r.origin in ("computehub", "adopted") and r.provider_instance_id for r in rows)
    by_remote = Counter(r.provider_instance_id for r in rows)
    assert max(by_remote.values()) == 1
    remote = {}
    for account in accounts:
        for item in cloud.list_instances(account.api_key):
            remote[item["id"]] = item
    # Every instance the sandbox still shows (retention) is one of ours, and ended like ours.
    assert set(remote) <= set(by_remote), f"leaked at the sandbox: {set(remote) - set(by_remote)}"
    assert {item["status"] for item in remote.values()} <= {"terminated"}
    tokens = Counter(item["tags"].get("client_token") for item in remote.values())
    assert not tokens or max(tokens.values()) == 1  # one instance per launch intent


async def assert_every_notification_sent_once(sessions, smtp, instance_ids) -> None:
    async with sessions() as session:
        messages = list((await session.execute(select(OutboxMessage))).scalars())
        changes = list((await session.execute(select(InstanceEvent))).scalars())
    assert Counter(m.status for m in messages).keys() <= {"sent", "merged"}, Counter(m.status for m in messages)
    sent = {outbox_message_id(m): m for m in messages if m.status == "sent"}
    received = Counter(m["Message-ID"] for m in smtp.inbox.messages)
    missing = [(m.id, m.attempts, m.sent_at, m.last_error, m.subject) for key, m in sent.items() if key not in received]
    assert not missing, f"recorded as sent, never arrived: {missing[:5]}; arrived: {sorted(received)[:5]}"
    assert set(received) <= set(sent)  # nothing arrived that was not sent
    # Each state change is in exactly one delivered message (a burst carries several).
    delivered = Counter()
    for message in sent.values():
        data = json.loads(message.payload)
        for payload in (data if isinstance(data, list) else [data]):
            c = payload["context"]
            delivered[(c["instance_name"], c.get("old_status"), c.get("new_status"))] += 1
    assert max(delivered.values()) == 1, [k for k, n in delivered.items() if n > 1][:5]
    # ...and every lifecycle told its owner each step: out of launching, to running, stopping,
    # stopped, terminating, terminated (a sync may see two steps at once: it tells the pair).
    names = {f"chaos-{n}" for n in range(len(instance_ids))}
    told = defaultdict(list)
    for name, old, new in delivered:
        told[name].append((old, new))
    assert set(told) == names
    for name, steps in told.items():
        assert sum(1 for old, _ in steps if old == "launching") == 1, (name, steps)
        assert ("stopped" in {new for _, new in steps}) and ("terminated" in {new for _, new in steps}), steps
    duplicates = sum(n - 1 for n in received.values())
    print(f"notifications: {len(sent)} messages ({len(delivered)} changes), {duplicates} resent after a crash")


async def assert_costs_as_without_crashes(sessions) -> None:
    """The accrual the workers ran (killed at random, incrementally) equals one crash-free run over
    the same history from scratch, period by period."""
    end = utcnow() + PERIOD
    # A worker killed while accruing holds the accrual lease until it lapses (at most its TTL):
    # the catch-up run waits for it, as the next worker would.
    deadline = time.monotonic() + ACCRUAL_LEASE_TTL.total_seconds() + 30
    while True:
        async with sessions() as session:
            lease = await session.get(JobLease, "costs:accrue")
        if lease is None or lease.expires_at <= utcnow():
            break
        assert time.monotonic() < deadline, "the accrual lease never lapsed"
        await asyncio.sleep(1)
    await accrue_costs(sessions, now=end)
    async with sessions() as session:
        instances = list((await session.execute(select(Instance))).scalars())
        events = defaultdict(list)
        for event in (await session.execute(select(InstanceEvent))).scalars():
            events[event.instance_id].append(event)
        written = [(c.instance_id, c.period_start, c.price_per_hour, c.billable_seconds, c.amount)
                   for c in (await session.execute(select(CostRecord))).scalars()]
    expected = []
    for instance in instances:
        until = min(end, instance.terminated_at)
        for row in cost_rows(instance, events[instance.id], datetime(1970, 1, 1, tzinfo=end.tzinfo), until):
            expected.append((row["instance_id"], row["period_start"], row["price_per_hour"],
                             row["billable_seconds"], row["amount"]))
    assert sorted(written) == sorted(expected)
    assert expected, "no cost was accrued at all"
    assert all(events[i.id] for i in instances)
    _ = timedelta  # periods are 15 minutes: a run this short spans one or two
