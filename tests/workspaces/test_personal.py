"""A personal workspace for every new account (sign-up and the demo account), owned by them and
the one every request falls back to."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from app.auth import service as accounts
from app.console.demo import ensure_demo_account
from app.db.models import ProviderBinding, User, Workspace, WorkspaceMember
from tests.console.conftest import PASSWORD


async def homes(sessions, user_id: int) -> list[tuple]:
    async with sessions() as session:
        return [tuple(r) for r in (await session.execute(
            select(Workspace.kind, Workspace.name, WorkspaceMember.role)
            .join(WorkspaceMember, WorkspaceMember.workspace_id == Workspace.id)
            .where(WorkspaceMember.user_id == user_id, Workspace.personal_user_id == user_id))).all()]


async def test_sign_up_makes_a_personal_workspace(sessions, cloud):
    async with sessions() as session, session.begin():
        user = await accounts.signup(session, "new@example.com", "Newcomer", PASSWORD)
    assert await homes(sessions, user.id) == [("personal", "Newcomer", "owner")]


async def test_the_demo_account_has_one_too_and_its_key_lives_there(sessions, settings, keyring, cloud):
    settings = replace(settings, sandbox=replace(settings.sandbox, demo_account=True))
    user_id = await ensure_demo_account(sessions, settings, keyring)
    assert [kind for kind, _, role in await homes(sessions, user_id)] == ["personal"]
    async with sessions() as session:
        home = (await session.execute(select(Workspace.id).where(Workspace.personal_user_id == user_id))).scalar_one()
        keys = (await session.execute(select(ProviderBinding.workspace_id).where(
            ProviderBinding.user_id == user_id))).scalars().all()
        assert keys == [home]
        assert (await session.get(User, user_id)).email == settings.sandbox.demo_email


async def test_the_switcher_refuses_a_workspace_you_are_not_in(sessions, keyring, cloud, login):
    from tests.console.conftest import make_account

    ada = await make_account(sessions, keyring, "ada@example.com")
    bob = await make_account(sessions, keyring, "bob@example.com")
    async with sessions() as session:
        bobs = (await session.execute(select(Workspace.id).where(Workspace.personal_user_id == bob.user_id))).scalar_one()
    browser = await login(ada.email)
    assert (await browser.post("/workspaces/switch", {"workspace_id": bobs})).status_code == 404
    page = await browser.get("/console")
    assert "bob" not in page.text.lower().split("log out")[0]  # the header lists only Ada's workspaces
