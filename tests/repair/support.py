"""Helpers: a running sandbox instance with auto-repair on, the job run at the sandbox clock's time."""

from __future__ import annotations

from sqlalchemy import func, select

from app.console.instances import LaunchSpec, launch
from app.console.sync import sync_binding
from app.db.models import AuditEvent, HealthCheck, Instance, OutboxMessage, RepairAction
from app.repair.configure import configure
from app.repair.jobs import run_repair_cycle
from app.workspaces import personal_workspace_id

BOOT = 20  # the sandbox's boot time (Timings().boot)


async def running_instance(sessions, keyring, http, clock, account, *, name: str = "gpu-1") -> Instance:
    row = await launch(sessions, keyring, http, account.user_id, LaunchSpec(
        binding_id=account.binding_id, name=name, instance_type="sbx.rtx4090.1x", region="sandbox-eu-1"))
    clock.advance(BOOT + 1)
    await sync_binding(sessions, keyring, http, account.binding_id, now=clock())
    row = await reload(sessions, row.id)
    assert row.status == "running"
    return row


async def watched_instance(sessions, keyring, http, clock, settings, account, *, url: str = "",
                           name: str = "gpu-1") -> Instance:
    """A running instance with auto-repair switched on through the same service as the page."""
    row = await running_instance(sessions, keyring, http, clock, account, name=name)
    await configure(sessions, settings, account.user_id, row.id, enabled=True, health_check_url=url)
    return await reload(sessions, row.id)


async def crash(cloud, clock, account, row: Instance) -> None:
    """The instance crashes at the provider (one crash: the fault is lifted once it happened)."""
    cloud.set_faults(account.api_key, crash_after_seconds=0)
    assert cloud.get_instance(account.api_key, row.provider_instance_id)["status"] == "crashed"
    cloud.set_faults(account.api_key)


async def run_cycle(sessions, keyring, http, settings, clock):
    return await run_repair_cycle(sessions, keyring, http, settings, now=clock())


async def reload(sessions, instance_id: int) -> Instance:
    async with sessions() as session:
        return await session.get(Instance, instance_id)


async def actions(sessions, instance_id: int) -> list[RepairAction]:
    async with sessions() as session:
        return list((await session.execute(select(RepairAction).where(RepairAction.instance_id == instance_id)
                                           .order_by(RepairAction.at, RepairAction.id))).scalars())


async def checks(sessions, instance_id: int) -> list[HealthCheck]:
    async with sessions() as session:
        return list((await session.execute(select(HealthCheck).where(HealthCheck.instance_id == instance_id)
                                           .order_by(HealthCheck.at, HealthCheck.id))).scalars())


async def messages(sessions, event_type: str) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.execute(select(OutboxMessage).where(OutboxMessage.event_type == event_type)
                                           .order_by(OutboxMessage.id))).scalars())


async def count(sessions, model) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


# ---- an instance at a real (non-simulated) provider: Lambda, its API mocked with respx ---------

LAMBDA_INSTANCE_ID = "7d3b1c0e9a2f4e61b8c5d4a3f2e1d0c9"


def lambda_api(router, status: str = "active"):
    """Lambda's ``GET /instances/{id}`` in its recorded shape (tests/fixtures/lambdalabs), with ``status``."""
    import json

    from tests.support.recorded import FIXTURES

    recorded = json.loads((FIXTURES / "lambdalabs" / "lifecycle.json").read_text())["scenarios"]["get"]["routes"][0]
    body = json.loads(json.dumps(recorded["json"]))
    body["data"]["status"] = status
    return router.get(recorded["url"]).respond(200, json=body)


async def lambda_instance(sessions, keyring, account, *, url: str | None = None, auto_repair: bool = False,
                          name: str = "lambda-1") -> Instance:
    """A running Lambda instance of ``account``'s, bound with its own (fake) Lambda key."""
    from app.console import bindings
    from app.db.types import utcnow

    now = utcnow()
    async with sessions() as session, session.begin():
        binding = await bindings.add_binding(session, keyring, account.user_id, "lambdalabs", "",
                                             {"api_key": "secret_ch-recorded-key-not-real.0001"})
        binding.status, binding.verified_at = "verified", now
        await session.flush()
        row = Instance(workspace_id=binding.workspace_id, user_id=account.user_id, binding_id=binding.id, provider="lambdalabs",
                       provider_instance_id=LAMBDA_INSTANCE_ID, client_token=f"lambda-{name}", name=name,
                       instance_type="gpu_1x_h100_sxm5", region="us-south-1", status="running", raw_status="active",
                       created_at=now, updated_at=now, auto_repair=auto_repair, health_check_url=url)
        session.add(row)
    return await reload(sessions, row.id)


def let_loopback_through(monkeypatch, resolve_to: str = "127.0.0.1") -> None:
    """For tests of the probe against a server on this machine only: vet as usual, but let
    loopback through and resolve every name to ``resolve_to``. Product code has no such switch."""
    from app.repair import addresses, endpoint

    real = addresses.refusal
    monkeypatch.setattr(endpoint, "refusal", lambda ip: None if ip.is_loopback else real(ip))

    async def resolve(host: str, port: int) -> list[str]:
        return [resolve_to]

    monkeypatch.setattr(endpoint, "resolve_host", resolve)


async def repair_audit(sessions) -> list[tuple[str, str, str, str]]:
    """(action, target, status before, status after) of what auto-repair itself recorded."""
    async with sessions() as session:
        events = (await session.execute(select(AuditEvent).where(AuditEvent.actor == "auto-repair")
                                        .order_by(AuditEvent.seq))).scalars().all()
    return [(e.action, e.target_id, (e.before or {}).get("status"), (e.after or {}).get("status")) for e in events]
