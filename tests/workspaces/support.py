"""An organization with one member per role, each with their own personal sandbox key."""

from __future__ import annotations

from dataclasses import dataclass

from app.console import bindings
from app.db.models import User
from app.db.types import utcnow
from app.workspaces import organizations
from app.workspaces.roles import ROLES
from app.workspaces.scope import Scope, membership
from providers.sandbox import generate_api_key
from tests.console.conftest import Account, make_account


@dataclass
class Org:
    id: int
    people: dict[str, Account]
    """role -> the member holding it (owner included)."""
    binding_id: int
    """The organization's own sandbox key, added by its owner."""
    api_key: str
    invitation_id: int = 0
    """A pending invitation, when a test made one."""


async def scope_of(sessions, account: Account, workspace_id: int) -> Scope:
    async with sessions() as session:
        return await membership(session, account.user_id, workspace_id)


async def org_with_every_role(sessions, keyring, prefix: str = "") -> Org:
    owner = await make_account(sessions, keyring, f"{prefix}owner@example.com", plan="enterprise")
    people = {"owner": owner}
    for role in ROLES:
        if role != "owner":
            people[role] = await make_account(sessions, keyring, f"{prefix}{role}@example.com")
    api_key = generate_api_key()
    async with sessions() as session, session.begin():
        scope = await organizations.create(session, await session.get(User, owner.user_id), f"{prefix}Acme ML")
        for role, account in people.items():
            if role != "owner":
                await organizations.add_member(session, scope, account.email, role)
        row = await bindings.add_binding(session, keyring, scope, "sandbox", "Org key", {"api_key": api_key})
        row.status, row.verified_at = "verified", utcnow()
    return Org(scope.workspace_id, people, row.id, api_key)


async def switch_to(browser, workspace_id: int) -> None:
    response = await browser.post("/workspaces/switch", {"workspace_id": workspace_id}, follow_redirects=False)
    assert response.status_code in (302, 303), response.text[:300]
