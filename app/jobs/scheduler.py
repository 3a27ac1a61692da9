"""APScheduler wiring: each price source on its own interval, plus the daily history job.

Jobs are thin: they call services. ``max_instances=1`` and ``coalesce`` keep a stalled
worker from stacking runs; the DB lease in ``poll_source`` keeps several workers from
polling the same source at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.types import utcnow
from app.services import leases
from app.services.history import refresh_recent_days
from app.services.polling import poll_source
from app.settings import Settings
from providers.http import new_client
from providers.registry import enabled_source_names, get_source_class

log = logging.getLogger(__name__)
HISTORY_JOB_MINUTES = 10
INSTANCE_SYNC_SECONDS = 30
COST_ACCRUAL_SECONDS = 60


class PriceJobs:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.http: httpx.AsyncClient | None = None
        self.senders = None
        self.state_changes = None

    def _notify_state_changes(self) -> None:
        """What the sync job and auto-repair see queues notifications, from their first run to ``close``."""
        if self.state_changes is None:
            from app.notifications.deployments import install

            self.state_changes = install(self.settings)

    async def poll(self, name: str) -> None:
        if self.http is None:
            self.http = new_client(timeout=self.settings.polling.timeout_seconds)
        outcome = await poll_source(name, self.settings, self.sessions, self.http)
        log.info("poll %s: %s (%d offers, %d ms) %s", name, outcome.status, outcome.offers,
                 outcome.duration_ms, outcome.error)

    async def refresh_history(self) -> None:
        if not await leases.acquire(self.sessions, "history:daily", timedelta(minutes=5)):
            return
        try:
            async with self.sessions() as session, session.begin():
                await refresh_recent_days(session, utcnow())
        finally:
            await leases.release(self.sessions, "history:daily")

    async def sync_instances(self) -> None:
        from app.console.sync import sync_all
        from app.security.keyring import keyring_from_settings

        self._notify_state_changes()
        if self.http is None:
            self.http = new_client(timeout=self.settings.polling.timeout_seconds)
        for report in await sync_all(self.sessions, keyring_from_settings(self.settings), self.http):
            if report.error or report.adopted or report.discovered or report.failed_launches:
                log.info("sync binding %s: %s", report.binding_id, report)

    async def deliver_notifications(self) -> None:
        from app.notifications.dispatch import deliver_due
        from app.notifications.senders import senders_from_settings

        if self.senders is None:
            self.senders = senders_from_settings(self.settings)
        report = await deliver_due(self.sessions, self.senders)
        if report.sent or report.dead or report.retried:
            log.info("outbox: %s", report)

    async def accrue_costs(self) -> None:
        from app.costs.accrual import accrue_costs

        written = await accrue_costs(self.sessions)
        log.debug("costs: %d records written", written)
        await self.check_budgets()  # right after accrual, so the warnings count this minute's costs

    async def check_budgets(self) -> None:
        from app.notifications.budgets import check_budgets

        warned = await check_budgets(self.sessions, base_url=self.settings.web.base_url,
                                     telegram_enabled=self.settings.telegram.enabled)
        if warned:
            log.info("budgets: %d cost warnings queued", warned)

    async def enforce_billing_lapses(self) -> None:
        from app.billing.lapses import enforce_lapsed

        lapsed = await enforce_lapsed(self.sessions, self.settings.billing.grace_days)
        if lapsed:
            log.info("billing: %d accounts moved to Basic limits (trial, period or grace ended)", lapsed)

    async def repair_instances(self) -> None:
        """Auto-repair: check every watched instance; the lease inside keeps it to one worker at a time."""
        from app.repair.jobs import run_repair_cycle
        from app.security.keyring import keyring_from_settings

        self._notify_state_changes()
        if self.http is None:
            self.http = new_client(timeout=self.settings.polling.timeout_seconds)
        report = await run_repair_cycle(self.sessions, keyring_from_settings(self.settings), self.http, self.settings)
        for outcome in report.repairs:
            log.info("auto-repair: %s", outcome)

    async def close(self) -> None:
        from app.console.signals import disconnect

        if self.state_changes is not None:
            disconnect(self.state_changes)
            self.state_changes = None
        if self.http is not None:
            await self.http.aclose()


def build_scheduler(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> tuple[AsyncIOScheduler, PriceJobs]:
    jobs = PriceJobs(settings, sessions)
    scheduler = AsyncIOScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1,
                                                               "misfire_grace_time": 300})
    if settings.polling.enabled:
        for name in enabled_source_names(settings.sandbox.enabled):
            try:
                interval = get_source_class(name).POLL_INTERVAL_SECONDS
            except Exception:  # one adapter that cannot load must not stop the worker polling the rest
                log.exception("source %s cannot be loaded; not scheduling it", name)
                continue
            scheduler.add_job(jobs.poll, "interval", args=[name], id=f"poll:{name}", seconds=interval,
                              jitter=min(60, interval // 10), next_run_time=utcnow() + timedelta(seconds=2))
    scheduler.add_job(jobs.refresh_history, "interval", id="history:daily", minutes=HISTORY_JOB_MINUTES,
                      next_run_time=utcnow() + timedelta(seconds=30))
    scheduler.add_job(jobs.sync_instances, "interval", id="console:sync", seconds=INSTANCE_SYNC_SECONDS,
                      jitter=5, next_run_time=utcnow() + timedelta(seconds=5))
    scheduler.add_job(jobs.deliver_notifications, "interval", id="notifications:deliver", seconds=15,
                      next_run_time=utcnow() + timedelta(seconds=10))
    scheduler.add_job(jobs.accrue_costs, "interval", id="costs:accrue", seconds=COST_ACCRUAL_SECONDS,
                      max_instances=1, coalesce=True, next_run_time=utcnow() + timedelta(seconds=20))
    scheduler.add_job(jobs.enforce_billing_lapses, "interval", id="billing:lapses", minutes=10,
                      next_run_time=utcnow() + timedelta(seconds=40))
    scheduler.add_job(jobs.repair_instances, "interval", id="repair:check",
                      seconds=settings.repair.check_interval_seconds, max_instances=1, coalesce=True,
                      next_run_time=utcnow() + timedelta(seconds=15))
    return scheduler, jobs
