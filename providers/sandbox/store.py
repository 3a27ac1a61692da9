"""Where the simulated cloud keeps its accounts and instances.

``MemoryStore``: one process, gone with it (tests that build their own cloud).
``DatabaseStore``: the sandbox's own tables in the app's database, so the cloud survives restarts
and every web and worker process sees the same instances. Each cloud call is one short
transaction that locks its account's row (PostgreSQL ``FOR UPDATE``; SQLite writes one at a time),
so two processes acting on one account never interleave.

The cloud works on ``AccountState`` / ``InstanceState`` values inside ``store.account(digest)``;
what it changed is written back when the block ends without an error.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from providers.sandbox import tables


@dataclass
class InstanceState:
    id: str
    name: str
    instance_type: str
    region: str
    image: str
    disk_gb: int
    spot: bool
    client_token: str
    price_per_hour: Decimal
    public_ip: str
    created_at: datetime
    status: str
    since: datetime
    """When it entered ``status``: transitions are due relative to this, not to 'now'."""
    boot_fails: bool = False


@dataclass
class AccountState:
    faults_json: dict[str, Any] | None = None
    rng_draws: int = 0


class AccountView(Protocol):
    """One account inside one transaction."""

    state: AccountState

    def instances(self) -> list[InstanceState]: ...
    def instance(self, instance_id: str) -> InstanceState | None: ...
    def by_token(self, client_token: str) -> InstanceState | None: ...
    def live_count(self, ended: tuple[str, ...]) -> int: ...
    def add(self, instance: InstanceState) -> None: ...
    def changed(self, instance: InstanceState) -> None: ...
    def remove(self, instance: InstanceState) -> None: ...


class SandboxStore(Protocol):
    def account(self, digest: str, now: datetime) -> contextlib.AbstractContextManager[AccountView]: ...


# -- in memory --------------------------------------------------------------------------------

@dataclass
class _MemoryAccount:
    state: AccountState = field(default_factory=AccountState)
    by_id: dict[str, InstanceState] = field(default_factory=dict)

    def instances(self) -> list[InstanceState]:
        return list(self.by_id.values())

    def instance(self, instance_id: str) -> InstanceState | None:
        return self.by_id.get(instance_id)

    def by_token(self, client_token: str) -> InstanceState | None:
        return next((i for i in self.by_id.values() if i.client_token == client_token), None)

    def live_count(self, ended: tuple[str, ...]) -> int:
        return sum(1 for i in self.by_id.values() if i.status not in ended)

    def add(self, instance: InstanceState) -> None:
        self.by_id[instance.id] = instance

    def changed(self, instance: InstanceState) -> None:
        pass  # the object is the state

    def remove(self, instance: InstanceState) -> None:
        self.by_id.pop(instance.id, None)


class MemoryStore:
    def __init__(self) -> None:
        self._accounts: dict[str, _MemoryAccount] = {}
        self._lock = threading.RLock()  # the web process and an embedded worker may share one cloud

    @contextlib.contextmanager
    def account(self, digest: str, now: datetime) -> Iterator[_MemoryAccount]:
        with self._lock:
            yield self._accounts.setdefault(digest, _MemoryAccount())


# -- in the database --------------------------------------------------------------------------

def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # SQLite drops the zone


def _from_row(row: Any) -> InstanceState:
    return InstanceState(
        id=row.id, name=row.name, instance_type=row.instance_type, region=row.region, image=row.image,
        disk_gb=row.disk_gb, spot=row.spot, client_token=row.client_token, price_per_hour=Decimal(row.price_per_hour),
        public_ip=row.public_ip, created_at=_utc(row.created_at), status=row.status, since=_utc(row.since),
        boot_fails=row.boot_fails,
    )


def _to_row(instance: InstanceState) -> dict[str, Any]:
    return {
        "id": instance.id, "name": instance.name, "instance_type": instance.instance_type, "region": instance.region,
        "image": instance.image, "disk_gb": instance.disk_gb, "spot": instance.spot,
        "client_token": instance.client_token, "price_per_hour": str(instance.price_per_hour),
        "public_ip": instance.public_ip, "created_at": instance.created_at, "status": instance.status,
        "since": instance.since, "boot_fails": instance.boot_fails,
    }


class _DatabaseAccount:
    """Reads go to the database as asked; writes are collected and flushed at the end."""

    def __init__(self, connection, digest: str, state: AccountState) -> None:
        self.connection, self.digest, self.state = connection, digest, state
        self._loaded: dict[str, InstanceState] = {}
        self._new: dict[str, InstanceState] = {}
        self._changed: dict[str, InstanceState] = {}
        self._removed: set[str] = set()

    def _keep(self, rows) -> list[InstanceState]:
        out = []
        for row in rows:
            if row.id in self._removed:
                continue
            out.append(self._loaded.setdefault(row.id, _from_row(row)))
        return out

    def instances(self) -> list[InstanceState]:
        rows = self.connection.execute(select(tables.instances).where(
            tables.instances.c.key_digest == self.digest).order_by(tables.instances.c.created_at, tables.instances.c.id))
        return self._keep(rows) + list(self._new.values())

    def instance(self, instance_id: str) -> InstanceState | None:
        if instance_id in self._new:
            return self._new[instance_id]
        if instance_id in self._removed:
            return None
        if instance_id in self._loaded:
            return self._loaded[instance_id]
        rows = self.connection.execute(select(tables.instances).where(
            tables.instances.c.key_digest == self.digest, tables.instances.c.id == instance_id))
        found = self._keep(rows)
        return found[0] if found else None

    def by_token(self, client_token: str) -> InstanceState | None:
        rows = self.connection.execute(select(tables.instances).where(
            tables.instances.c.key_digest == self.digest, tables.instances.c.client_token == client_token).limit(1))
        found = self._keep(rows)
        return found[0] if found else next((i for i in self._new.values() if i.client_token == client_token), None)

    def live_count(self, ended: tuple[str, ...]) -> int:
        # Instances changed in this block are counted by their new status, not their stored one.
        c = tables.instances.c
        stored = self.connection.execute(select(func.count()).select_from(tables.instances).where(
            c.key_digest == self.digest, c.status.not_in(ended),
            c.id.not_in(set(self._changed) | self._removed))).scalar_one()
        return stored + sum(1 for i in [*self._new.values(), *self._changed.values()] if i.status not in ended)

    def add(self, instance: InstanceState) -> None:
        self._new[instance.id] = instance

    def changed(self, instance: InstanceState) -> None:
        if instance.id not in self._new:
            self._changed[instance.id] = instance

    def remove(self, instance: InstanceState) -> None:
        self._new.pop(instance.id, None)
        self._changed.pop(instance.id, None)
        self._removed.add(instance.id)

    def flush(self) -> None:
        c = tables.instances.c
        for instance in self._changed.values():
            row = _to_row(instance)
            self.connection.execute(update(tables.instances).where(c.id == instance.id).values(
                status=row["status"], since=row["since"], boot_fails=row["boot_fails"]))
        if self._new:
            self.connection.execute(insert(tables.instances), [
                {**_to_row(i), "key_digest": self.digest} for i in self._new.values()])
        if self._removed:
            self.connection.execute(delete(tables.instances).where(c.id.in_(self._removed)))


class DatabaseStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def account(self, digest: str, now: datetime) -> Iterator[_DatabaseAccount]:
        with self.engine.connect() as connection:
            if self._sqlite:
                # Take SQLite's write lock now, not at the first write: two processes reading the
                # same account and then both writing would otherwise interleave.
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.begin()
            try:
                state = self._lock_account(connection, digest, now)
                before = (json.dumps(state.faults_json), state.rng_draws)
                view = _DatabaseAccount(connection, digest, state)
                yield view
                view.flush()
                after = (json.dumps(view.state.faults_json), view.state.rng_draws)
                if after != before:  # most calls only read the account: no write, no new row version
                    a = tables.accounts.c
                    connection.execute(update(tables.accounts).where(a.key_digest == digest).values(
                        faults=after[0], rng_draws=after[1]))
            except BaseException:
                connection.rollback()
                raise
            connection.commit()

    def _lock_account(self, connection, digest: str, now: datetime) -> AccountState:
        a = tables.accounts.c
        query = select(a.faults, a.rng_draws).where(a.key_digest == digest)
        if not self._sqlite:
            query = query.with_for_update()
        row = connection.execute(query).first()
        if row is None:
            values = dict(key_digest=digest, faults=json.dumps(None), rng_draws=0, created_at=now)
            if self._sqlite:  # BEGIN IMMEDIATE: no other writer can be racing us
                connection.execute(insert(tables.accounts).values(**values))
                return AccountState(None, 0)
            # Another process's first call may insert it at the same moment: whichever row wins, lock it.
            connection.execute(pg_insert(tables.accounts).values(**values).on_conflict_do_nothing())
            row = connection.execute(query).one()
        return AccountState(json.loads(row.faults), row.rng_draws)


__all__ = ["AccountState", "DatabaseStore", "InstanceState", "MemoryStore", "SandboxStore", "replace"]
