"""``/admin/sandbox``: every sandbox account bound here, its instances by state, and its fault
switches (the same faults as the sandbox API's ``PUT /v1/faults``), for demos and trials.

The simulated cloud is this process's ``get_cloud()``: with the database store (the default) that
is the state every web and worker process shares.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.session import requires_admin
from app.console.bindings import decrypt_credentials
from app.console.pages.common import Form, form_text, keyring, page
from app.db.models import ProviderBinding, User
from providers.sandbox import Faults, get_cloud

SWITCHES = ("fail_boot", "health_failing", "rate_limited", "sync_fails_halfway", "checksum_mismatch")
NUMBERS = {"crash_after_seconds": float, "preempt_spot_after_seconds": float, "latency_seconds": float,
           "latency_after_create_seconds": float, "api_error_rate": float, "quota": int}


class FaultsFormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class SandboxAccount:
    binding_id: int
    owner: str
    label: str
    instances: dict[str, int]
    faults: Faults | None
    error: str | None = None


def faults_from_form(data: dict[str, Any], current: Faults) -> Faults:
    """The form's switches and numbers over the account's other faults; a bad number names its field."""
    values = current.to_json()
    for name in SWITCHES:
        values[name] = form_text(data, name) == "on"
    for name, kind in NUMBERS.items():
        raw = form_text(data, name).strip()
        if not raw:
            values[name] = 0.0 if name in ("latency_seconds", "latency_after_create_seconds", "api_error_rate") else None
            continue
        try:
            values[name] = kind(raw)
        except ValueError:
            raise FaultsFormError(name, f"{name}: {'a whole number' if kind is int else 'a number'} or empty") from None
    try:
        return Faults.from_json(values)
    except (TypeError, ValueError) as exc:
        field = next((n for n in NUMBERS if n in str(exc)), "faults")
        raise FaultsFormError(field, str(exc)) from None


async def sandbox_accounts(db: AsyncSession, request: Request) -> list[SandboxAccount]:
    rows = (await db.execute(select(ProviderBinding, User.email).join(User, User.id == ProviderBinding.user_id)
                             .where(ProviderBinding.provider == "sandbox").order_by(ProviderBinding.id))).all()
    cloud, ring = get_cloud(), keyring(request)
    accounts = []
    for binding, email in rows:
        try:
            api_key = decrypt_credentials(binding, ring).get("api_key", "")
            summary = await asyncio.to_thread(cloud.summary, api_key)
            accounts.append(SandboxAccount(binding.id, email, binding.label, summary["instances"], summary["faults"]))
        except Exception as exc:  # noqa: BLE001 - one unreadable key must not hide the others
            accounts.append(SandboxAccount(binding.id, email, binding.label, {}, None, error=type(exc).__name__))
    return accounts


class AdminSandboxController(Controller):
    path = "/admin/sandbox"
    guards = [requires_admin]

    @get("/", name="admin-sandbox", permission="site_admin")
    async def index(self, request: Request, db: NamedDependency[AsyncSession], done: str | None = None) -> Template:
        return page("admin/sandbox.html", accounts=await sandbox_accounts(db, request), done=done,
                    numbers=NUMBERS, switches=SWITCHES)

    @post("/{binding_id:int}/faults", permission="site_admin")
    async def set_faults(self, request: Request, db: NamedDependency[AsyncSession], binding_id: int,
                         data: Form) -> Template | Redirect:
        binding = await db.get(ProviderBinding, binding_id)
        if binding is None or binding.provider != "sandbox":
            from litestar.exceptions import NotFoundException

            raise NotFoundException()
        cloud = get_cloud()
        api_key = decrypt_credentials(binding, keyring(request)).get("api_key", "")
        try:
            faults = faults_from_form(data, await asyncio.to_thread(cloud.faults, api_key))
        except FaultsFormError as exc:
            return page("admin/sandbox.html", 400, accounts=await sandbox_accounts(db, request), numbers=NUMBERS,
                        switches=SWITCHES, error={"binding_id": binding_id, "field": exc.field, "message": str(exc)},
                        typed={k: form_text(data, k) for k in (*SWITCHES, *NUMBERS)})
        await asyncio.to_thread(cloud.set_faults, api_key, faults)
        return Redirect(f"/admin/sandbox?done={binding_id}#sandbox-{binding_id}")
