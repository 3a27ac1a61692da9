"""``computehub keys``: master keys that encrypt provider keys and TOTP secrets at rest.

Rotation, step by step:
1. ``computehub keys generate`` and put the new key *first* in COMPUTEHUB_MASTER_KEYS,
   keeping the old one after it (every process can still decrypt what the old key sealed);
2. ``computehub keys rotate`` re-encrypts everything under the new key;
3. drop the old key from COMPUTEHUB_MASTER_KEYS.
"""

from __future__ import annotations

import asyncio

import click

from app.db.engine import make_engine, session_factory
from app.security.keyring import Keyring, KeyringError, generate_key_spec
from app.settings import get_settings


@click.group()
def keys() -> None:
    """Master keys for secrets at rest (generate, rotate)."""


@keys.command("generate")
@click.option("--id", "key_id", default=None, help="Key id (letters, digits, - and _); random if omitted.")
def generate(key_id: str | None) -> None:
    """Print a new master key spec (<id>:<base64 32 bytes>) for COMPUTEHUB_MASTER_KEYS."""
    spec = generate_key_spec(key_id)
    try:
        Keyring.from_spec(spec)
    except KeyringError:
        raise click.BadParameter("use 1 to 32 letters, digits, - or _", param_hint="--id") from None
    click.echo(spec)


@keys.command("rotate")
def rotate() -> None:
    """Re-encrypt every provider key and TOTP secret under the first key of COMPUTEHUB_MASTER_KEYS."""
    from app.console.bindings import rotate_all

    settings = get_settings()
    if not settings.security.master_keys:
        raise click.UsageError("set COMPUTEHUB_MASTER_KEYS to '<new key>,<old key>' first "
                               "(`computehub keys generate` makes a new key)")
    try:
        keyring = Keyring.from_spec(settings.security.master_keys)
    except KeyringError as exc:
        raise click.UsageError(str(exc)) from None

    async def main():
        from app.migration.store import rotate_secrets

        engine = make_engine(settings.database.url)
        try:
            report = await rotate_all(session_factory(engine), keyring)
            report.add(await rotate_secrets(session_factory(engine), keyring))  # SSH keys, bucket credentials
            return report
        finally:
            await engine.dispose()

    report = asyncio.run(main())
    click.echo(f"re-encrypted {report.rotated} secret{'' if report.rotated == 1 else 's'} "
               f"under key {keyring.current.key_id!r}; {report.current} already used it")
    if report.unreadable:
        # Left untouched: their owners see "needs attention" and enter them again.
        click.echo(f"{len(report.unreadable)} could not be decrypted with any configured key:", err=True)
        for what in report.unreadable:
            click.echo(f"  {what}", err=True)
        raise SystemExit(1)
