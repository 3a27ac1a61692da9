"""``computehub audit verify``: check that no audit event was changed, removed or reordered."""

from __future__ import annotations

import asyncio

import click
from rich.console import Console

from app.db.engine import get_engine, session_factory
from app.settings import get_settings

console = Console()


@click.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@click.option("--workspace", default=None, help="Only this workspace (e.g. user:42).")
def audit_verify(workspace: str | None) -> None:
    """Recompute every workspace's hash chain; exit 1 naming the first broken event of each."""
    from app.audit.verify import verify_all

    url = get_settings().database.url

    async def main():
        try:
            return await verify_all(session_factory(get_engine(url)), workspace)
        finally:
            await get_engine(url).dispose()

    result = asyncio.run(main())
    for broken in result.breaks:
        console.print(f"[red]broken:[/] {broken}")
    if not result.ok:
        raise SystemExit(1)
    console.print(f"audit log intact: {result.events} events in {result.workspaces} workspaces")
