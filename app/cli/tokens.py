"""``computehub tokens``: operators mint, list and revoke a user's console API tokens from the shell.

The same service as ``/settings/api-tokens`` (``app.auth.api_tokens``): the token is shown once and
stored hashed, the plan of names and expiries is the page's, and the audit log records the change
in the user's workspace, marked as made from the shell."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.origin import Origin, current_origin
from app.auth import api_tokens
from app.auth.service import AccountError, find_account, normalize_email
from app.db.engine import make_engine, session_factory
from app.db.models import User
from app.settings import get_settings

console = Console()
SHELL = Origin(via="shell: computehub tokens")
T = TypeVar("T")


class NoSuchAccount(click.ClickException):
    exit_code = 2


def _run(work: Callable[[AsyncSession, User], Awaitable[T]], email: str) -> T:
    """``work`` in one transaction with the account of ``email``; the audit log says "from the shell"."""
    async def main() -> T:
        engine = make_engine(get_settings().database.url)
        token = current_origin.set(SHELL)
        try:
            async with session_factory(engine)() as session, session.begin():
                try:
                    user = await find_account(session, normalize_email(email))
                except AccountError as exc:
                    raise NoSuchAccount(str(exc)) from None
                if user is None:
                    raise NoSuchAccount(f"no account with the e-mail address {email!r}")
                return await work(session, user)
        finally:
            current_origin.reset(token)
            await engine.dispose()

    return asyncio.run(main())


@click.group()
def tokens() -> None:
    """Console API tokens of an account (create, list, revoke)."""


@tokens.command("create")
@click.option("--email", required=True, help="The account the token acts as.")
@click.option("--scope", type=click.Choice(["read", "write"]), required=True,
              help="read: list and look; write: also launch, stop, delete and change.")
@click.option("--name", default="computehub tokens create", show_default=True, help="What uses it (shown on the page).")
@click.option("--expires-days", type=click.Choice([str(d) for d in api_tokens.EXPIRY_CHOICES]), default=None,
              help="Days until it stops working (default: never).")
def create(email: str, scope: str, name: str, expires_days: str | None) -> None:
    """Make a token and print it: this is the only time it is shown."""
    async def work(session: AsyncSession, user: User) -> tuple[str, str]:
        row, token = await api_tokens.create_token(session, user, name, can_write=scope == "write",
                                                   expires_in_days=int(expires_days) if expires_days else None)
        expiry = f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else "never expires"
        return token, f"token #{row.id} ({row.prefix}…, {scope}, {expiry}) for {user.email}"

    try:
        token, description = _run(work, email)
    except api_tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(token)  # alone on stdout, so `TOKEN=$(computehub tokens create ...)` works
    click.echo(f"{description}: copy it now, it is not shown again", err=True)


@tokens.command("list")
@click.option("--email", required=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(email: str, as_json: bool) -> None:
    """The account's tokens that still work or have expired (not the revoked ones); never the tokens themselves."""
    async def work(session: AsyncSession, user: User) -> list[dict]:
        return [{"id": r.id, "name": r.name, "prefix": r.prefix, "scope": "write" if r.can_write else "read",
                 "created_at": r.created_at.isoformat(), "expires_at": r.expires_at.isoformat() if r.expires_at else None,
                 "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None}
                for r in await api_tokens.list_tokens(session, user.id)]

    rows = _run(work, email)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "name", "token", "scope", "created", "expires", "last used")
    for r in rows:
        table.add_row(str(r["id"]), r["name"], f"{r['prefix']}…", r["scope"], r["created_at"][:16],
                      (r["expires_at"] or "never")[:16], (r["last_used_at"] or "never")[:16])
    console.print(table if rows else f"{email} has no API tokens")


@tokens.command("revoke")
@click.option("--email", required=True)
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
def revoke(email: str, token_id: int) -> None:
    """Revoke one of the account's tokens (by the id `tokens list` shows): it stops working at once."""
    async def work(session: AsyncSession, user: User) -> None:
        await api_tokens.revoke_token(session, user, token_id)

    try:
        _run(work, email)
    except api_tokens.NoSuchToken:
        raise NoSuchAccount(f"{email} has no token #{token_id} that still works") from None
    click.echo(f"token #{token_id} revoked")
