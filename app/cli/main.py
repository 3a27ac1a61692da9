"""The ``computehub`` command: run the app, run the worker, migrate, poll, query prices."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from app.db import migrate
from app.db.engine import get_engine, session_factory
from app.settings import get_settings

console = Console()


def _sessions():
    return session_factory(get_engine(get_settings().database.url))


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug output.")
def cli(verbose: bool) -> None:
    """ComputeHub: GPU prices from many clouds, and one console for all of them."""
    from app.logging_setup import configure_logging

    try:  # once per process, for every command: text lines, or JSON with COMPUTEHUB_LOG_FORMAT=json
        configure_logging(get_settings().web.log_format, logging.DEBUG if verbose else logging.INFO)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


# --- database -------------------------------------------------------------------------------------
@cli.group()
def db() -> None:
    """Database schema (Alembic migrations are the only source of the schema)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    url = get_settings().database.url
    migrate.upgrade(url, revision)
    console.print(f"[green]database at {revision}[/green]: {_safe_url(url)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (e.g. base)."""
    migrate.downgrade(get_settings().database.url, revision)
    console.print(f"database at {revision}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- serving --------------------------------------------------------------------------------------
@cli.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
@click.option("--no-worker", is_flag=True, help="Do not run a job worker.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Web processes. With more than one, the job worker runs as a process of its own and "
                   "sessions are kept in the database unless COMPUTEHUB_SESSION_STORE=redis.")
def run(host: str | None, port: int | None, no_worker: bool, workers: int) -> None:
    """Migrate, load the price snapshot, and serve the web app with a job worker."""
    import os
    import subprocess
    import sys

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from app.web.http_server import server_config

    # --host/--port act like COMPUTEHUB_HOST/PORT, so links derived from them (no BASE_URL) match.
    if host:
        os.environ["COMPUTEHUB_HOST"] = host
    if port:
        os.environ["COMPUTEHUB_PORT"] = str(port)
    # One process: the worker runs inside it. Several: web processes are stateless, one worker apart.
    os.environ["COMPUTEHUB_EMBEDDED_WORKER"] = "true" if workers == 1 and not no_worker else "false"
    if workers > 1 and os.environ.get("COMPUTEHUB_SESSION_STORE", "memory") == "memory":
        os.environ["COMPUTEHUB_SESSION_STORE"] = "database"  # a login must be seen by every process
    get_settings.cache_clear()
    settings = get_settings()
    migrate.upgrade(settings.database.url)
    host, port = settings.web.host, settings.web.port
    console.print(f"ComputeHub on [bold]http://{host}:{port}[/bold]"
                  + (f" ({workers} web processes)" if workers > 1 else ""))
    # log_config=None: uvicorn's own lines go through the handler configure_logging() set up.
    config = server_config("app.asgi:app", settings.web, host=host, port=port, log_level="info", log_config=None,
                           workers=workers)
    if workers == 1:
        uvicorn.Server(config).run()
        return
    worker = None
    if not no_worker:
        worker = subprocess.Popen([sys.executable, "-m", "app.cli.main", "worker"], env=dict(os.environ))
    try:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)


@cli.command()
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Tasks this worker runs at once.")
def worker(concurrency: int) -> None:
    """Run a job worker (polling, syncs, auto-repair, notifications, costs), for production.

    Start as many as you like: on PostgreSQL they share one queue and never run the same unit twice.
    """
    from app.jobs.runner import run_worker
    from app.services.snapshot import load_snapshot

    settings = get_settings()
    migrate.upgrade(settings.database.url)

    async def main() -> None:
        sessions = _sessions()
        if settings.polling.load_snapshot:
            await load_snapshot(sessions)
        console.print(f"worker started (concurrency {concurrency}); Ctrl-C to stop")
        await run_worker(settings, sessions, concurrency=concurrency)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


@cli.command()
@click.option("--mode", type=click.Choice(["polling", "webhook"]), default=None,
              help="Default: COMPUTEHUB_TELEGRAM_MODE (polling).")
def bot(mode: str | None) -> None:
    """Telegram bot: run it by long polling (local runs), or point Telegram at the webhook."""
    from app.notifications.bot import run_polling, set_webhook

    settings = get_settings()
    if not settings.telegram.enabled:
        raise click.UsageError("set COMPUTEHUB_TELEGRAM_BOT_TOKEN (from @BotFather) first")
    mode = mode or settings.telegram.mode
    if mode == "webhook":
        if not settings.telegram.webhook_secret:
            raise click.UsageError("set COMPUTEHUB_TELEGRAM_WEBHOOK_SECRET: Telegram sends it with every update")
        if not settings.web.base_url.startswith("https://"):
            raise click.UsageError("Telegram only calls HTTPS webhooks: set COMPUTEHUB_BASE_URL to the public https URL")
        url = asyncio.run(set_webhook(settings, _sessions()))
        console.print(f"webhook set: Telegram now sends updates to [bold]{url}[/bold]")
        return
    migrate.upgrade(settings.database.url)
    console.print(f"@{settings.telegram.bot_username.lstrip('@')} is polling for updates; Ctrl-C to stop")
    try:
        asyncio.run(run_polling(settings, _sessions()))
    except KeyboardInterrupt:
        pass


# --- prices ---------------------------------------------------------------------------------------
@cli.command()
@click.option("--source", "sources", multiple=True, help="Only these sources (repeatable).")
def poll(sources: tuple[str, ...]) -> None:
    """Poll every price source once, with progress and a per-source summary."""
    from app.services.history import refresh_recent_days
    from app.services.polling import poll_all
    from app.db.types import utcnow
    from providers.registry import enabled_source_names

    settings = get_settings()
    migrate.upgrade(settings.database.url)
    known = enabled_source_names(settings.sandbox.enabled)
    names = list(sources) or known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise click.BadParameter(f"unknown source {unknown[0]!r}; known: {', '.join(known)}")

    async def main():
        sessions = _sessions()
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      console=console, transient=True) as progress:
            task = progress.add_task("polling sources", total=len(names))

            def done(outcome):
                progress.advance(task)
                progress.console.print(f"  {outcome.source}: {outcome.status}")

            outcomes = await poll_all(settings, sessions, names, on_done=done)
        async with sessions() as session, session.begin():
            await refresh_recent_days(session, utcnow())
        await get_engine(settings.database.url).dispose()
        return outcomes

    outcomes = asyncio.run(main())
    table = Table(title="Poll summary")
    for col in ("source", "status", "offers", "skipped", "time", "error"):
        table.add_column(col)
    colors = {"ok": "green", "failed": "red", "not_configured": "yellow", "skipped": "yellow"}
    for o in sorted(outcomes, key=lambda o: o.source):
        table.add_row(o.source, f"[{colors.get(o.status, 'white')}]{o.status}[/]", str(o.offers),
                      str(o.skipped_items), f"{o.duration_ms} ms", o.error[:80])
    console.print(table)


def _parse_price(_ctx, _param, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a price") from None
    if not price.is_finite() or price < 0:
        raise click.BadParameter("the price must be a positive number")
    return price


@cli.command()
@click.option("--gpu", help="GPU family or model, e.g. H100, h100-sxm, 'A100 80GB'.")
@click.option("--max-price", callback=_parse_price, help="Highest $/GPU-hour.")
@click.option("--spot", is_flag=True, help="Spot/interruptible offers only.")
@click.option("--provider", "providers", multiple=True, help="Only these providers (repeatable).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--price-basis", "bases", multiple=True, type=click.Choice(["gpu_only", "smallest_vm", "instance"]),
              help="Only prices that pay for this (repeatable): GPU rate, smallest VM, whole instance.")
def prices(gpu: str | None, max_price: Decimal | None, spot: bool, providers: tuple[str, ...], limit: int,
           bases: tuple[str, ...]) -> None:
    """Print the cheapest offers as a table (★: the best of its price basis)."""
    from app.services.prices import InvalidQuery, PriceQuery, list_offers
    from providers.gpus import find_by_name

    gpu_slug = None
    if gpu:
        found = find_by_name(gpu)
        if not found:
            raise click.BadParameter(f"no GPU in the catalog matches {gpu!r}", param_hint="--gpu")
        families = {g.family for g in found}
        gpu_slug = found[0].slug if len(found) == 1 else next(iter(families))

    async def main():
        async with _sessions()() as session:
            page = await list_offers(session, PriceQuery(gpu=gpu_slug, max_price=max_price, spot=True if spot else None,
                                                         providers=providers, per_page=limit, price_basis=bases,
                                                         include_simulated=get_settings().sandbox.enabled))
        await get_engine(get_settings().database.url).dispose()
        return page

    try:
        page = asyncio.run(main())
    except InvalidQuery as exc:
        raise click.UsageError(str(exc)) from None
    table = Table(title=f"Cheapest offers ({page.total} match)")
    for col, justify in (("GPU", "left"), ("#", "right"), ("$/GPU-h", "right"), ("$/h", "right"),
                         ("provider", "left"), ("region", "left"), ("market", "left"), ("as of", "left"),
                         ("pays for", "left")):
        table.add_column(col, justify=justify)
    for o in page.items:
        best = " ★" if page.is_best_value(o) else ""
        table.add_row(o.gpu_name, f"{o.gpu_count.normalize()}", f"{o.price_per_gpu_hour:.2f}{best}",
                      f"{o.price_per_hour:.2f}", o.provider_name, o.region, "spot" if o.spot else "on-demand",
                      f"{o.age_label}{' (stale)' if o.freshness.state == 'stale' else ''}", o.price_basis_label)
    console.print(table)
    if not page.items:
        console.print("no offers match; try without --max-price or run `computehub poll`")


@cli.command("unknown-gpus")
def unknown_gpus() -> None:
    """List provider GPU names the catalog cannot place (kept, never dropped)."""
    from app.services.prices import unknown_gpu_names

    async def main():
        async with _sessions()() as session:
            return await unknown_gpu_names(session)

    rows = asyncio.run(main())
    table = Table(title="GPU names not in the catalog")
    for col in ("source", "raw name", "offers"):
        table.add_column(col)
    for source, name, count in rows:
        table.add_row(source, name, str(count))
    console.print(table if rows else "every offer's GPU is in the catalog")


@cli.group()
def snapshot() -> None:
    """The bundled price snapshot."""


@snapshot.command("load")
def snapshot_load() -> None:
    """Load the bundled snapshot for sources that have no prices yet."""
    from app.services.snapshot import load_snapshot

    migrate.upgrade(get_settings().database.url)
    loaded = asyncio.run(load_snapshot(_sessions()))
    console.print(f"loaded: {', '.join(loaded) or 'nothing (every source already has prices)'}")


@snapshot.command("export")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--note", default="exported from a live ComputeHub database")
def snapshot_export(path: Path, note: str) -> None:
    """Write the current live offers to PATH as a snapshot file."""
    from app.services.snapshot import export_snapshot

    count = asyncio.run(export_snapshot(_sessions(), path, note))
    console.print(f"wrote {count} offers to {path}")


from app.cli.audit import audit  # noqa: E402
from app.cli.keys import keys  # noqa: E402
from app.cli.pools import pool  # noqa: E402
from app.cli.remote import costs, instances, templates  # noqa: E402
from app.cli.remote import migrate as migrate_command  # noqa: E402 - app.db.migrate is `migrate` here
from app.cli.tokens import tokens  # noqa: E402

cli.add_command(audit)
cli.add_command(keys)
cli.add_command(tokens)
cli.add_command(instances)
cli.add_command(costs)
cli.add_command(templates)
cli.add_command(migrate_command)
cli.add_command(pool)


if __name__ == "__main__":
    cli()
