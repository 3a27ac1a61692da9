"""A cloud call that only reads its account writes nothing to the account's row (no new row
version, no write to wait on): the auto-repair check of a key lists its instances every interval."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from providers.sandbox.store import DatabaseStore


@pytest.fixture
def account_writes(store):
    if not isinstance(store, DatabaseStore):
        pytest.skip("the database store's writes")
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("UPDATE SANDBOX_ACCOUNTS", "INSERT INTO SANDBOX_ACCOUNTS")):
            statements.append(statement.split()[0].upper())

    event.listen(store.engine, "before_cursor_execute", seen)
    yield statements
    event.remove(store.engine, "before_cursor_execute", seen)


async def test_reading_an_account_does_not_write_its_row(cloud, api_key, launch, clock, account_writes):
    await launch()
    cloud.set_faults(api_key)  # a write: stored
    account_writes.clear()

    cloud.check_call_faults(api_key)
    cloud.list_instances(api_key)
    cloud.faults(api_key)

    assert account_writes == []


async def test_a_changed_account_is_still_written(cloud, api_key, launch, clock, account_writes):
    await launch()
    account_writes.clear()

    cloud.set_faults(api_key, api_error_rate=1e-12, seed=1)
    cloud.check_call_faults(api_key)  # one draw of the replayable RNG: its count is stored

    assert account_writes == ["UPDATE", "UPDATE"]
    assert cloud.summary(api_key)["faults"].api_error_rate == 1e-12
