"""Rebuild the bundled price snapshot from the recorded provider responses.

There is no network where ComputeHub is built, so the bundled snapshot is made by running every
price source, through the real poller, over its recorded "normal" responses in tests/fixtures/.
Pages label these prices "snapshot of <date>"; the first live poll replaces them. On a machine
with a network, prefer `computehub poll` followed by `computehub snapshot export`.

    .venv/bin/python -m tests.support.build_snapshot [--taken-at 2026-11-23T00:00:00+00:00]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import respx

from app.db.engine import make_engine, session_factory
from app.db.migrate import upgrade
from app.services.polling import poll_all
from app.services.snapshot import SNAPSHOT_PATH, export_snapshot, read_snapshot
from app.settings import Settings
from providers.registry import SOURCES, get_source_class
from tests.support.recorded import load_scenarios, mount

NOTE = "compiled from recorded provider API responses (no network at build time)"




async def build(path: Path, taken_at: datetime) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/snapshot.sqlite3"
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        originals = {}
        for name in SOURCES:  # every source polls with its fake test credentials
            cls = get_source_class(name)
            originals[name] = cls.credentials_from_settings
            cls.credentials_from_settings = classmethod(lambda c, s: c.test_credentials())
        try:
            with respx.mock(assert_all_called=False) as router:
                for name in SOURCES:
                    mount(router, load_scenarios(name)["normal"])
                outcomes = await poll_all(Settings(), sessions, sorted(SOURCES))
        finally:
            for name, original in originals.items():
                get_source_class(name).credentials_from_settings = original
        failed = [o for o in outcomes if o.status != "ok"]
        if failed:
            raise SystemExit(f"sources failed: {failed}")
        from sqlalchemy import delete, update

        from app.db.models import Offer

        async with sessions() as session, session.begin():
            await session.execute(update(Offer).values(observed_at=taken_at))
            # Recordings keep a documentation example (Vast's "Imaginary RTX 9999") to test unknown
            # names; it is not a real offer, so it stays out of the product's snapshot.
            await session.execute(delete(Offer).where(Offer.gpu_raw_name.like("Imaginary%")))
        count = await export_snapshot(sessions, path, NOTE)
        await engine.dispose()
        return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taken-at", default=datetime.now(timezone.utc).replace(hour=0, minute=0, second=0,
                                                                                microsecond=0).isoformat())
    parser.add_argument("--output", type=Path, default=SNAPSHOT_PATH)
    args = parser.parse_args()
    count = asyncio.run(build(args.output, datetime.fromisoformat(args.taken_at)))
    taken_at, note, offers = read_snapshot(args.output)
    print(f"wrote {count} offers from {len(offers)} sources to {args.output} (taken at {taken_at:%Y-%m-%d})")


if __name__ == "__main__":
    main()
