"""Provider key bindings: add, verify, rename, remove; decrypt only to build a provider client.

A key is encrypted before it touches the database (AES-256-GCM, associated data = user and
provider) and decrypted only in memory right before a provider call. It never appears in
logs, error messages or pages: the UI gets the masked hint only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.billing.limits import release_binding_slot, take_binding_slot
from app.billing.organization_plan import require_room_for_key
from app.console.errors import ConsoleError, NotFoundForUser
from app.db.models import Instance, ProviderBinding, Workspace
from app.db.models.workspaces import ORGANIZATION
from app.db.types import utcnow
from app.security.keyring import (  # noqa: F401 - RotationReport: what rotate_all returns
    DecryptionFailed, Keyring, RotationReport, binding_aad, workspace_binding_aad,
)
from app.workspaces import projects
from app.workspaces.scope import Owner, Scope, resolve
from providers import errors
from providers.base import Provider
from providers.registry import UnknownSource, get_source_class

MAX_SECRET_LENGTH = 1024
ACTIVE_BINDING_STATES = ("unverified", "verified", "invalid")


@dataclass(frozen=True)
class BindingView:
    id: int
    provider: str
    provider_name: str
    label: str
    masked_key: str
    status: str
    status_message: str | None
    verified_at: datetime | None
    created_at: datetime
    needs_attention: bool = False
    """The stored key no longer decrypts (master key gone, tampered row): it must be added again."""
    project_id: int | None = None


def provider_class(name: str) -> type[Provider]:
    cls = get_source_class(name)
    if not issubclass(cls, Provider):
        raise ConsoleError(f"{cls.DISPLAY_NAME} has no instance API in ComputeHub yet")
    return cls


def mask(hint: str) -> str:
    return f"••••{hint}"


def to_view(row: ProviderBinding, keyring: Keyring | None = None) -> BindingView:
    """With ``keyring``, also check that the key still decrypts (the plaintext is dropped at once)."""
    return BindingView(
        id=row.id, provider=row.provider, provider_name=get_source_class(row.provider).DISPLAY_NAME,
        label=row.label, masked_key=mask(row.key_hint), status=row.status, status_message=row.status_message,
        verified_at=row.verified_at, created_at=row.created_at,
        needs_attention=keyring is not None and not _decrypts(row, keyring), project_id=row.project_id,
    )


def _decrypts(row: ProviderBinding, keyring: Keyring) -> bool:
    try:
        decrypt_credentials(row, keyring)
    except DecryptionFailed:
        return False
    return True


def _clean_credentials(cls: type[Provider], values: dict[str, str]) -> dict[str, str]:
    credentials = {}
    for name in cls.CREDENTIAL_FIELDS:
        label = name.replace("_", " ")
        value = (values.get(name) or "").strip()
        if not value:
            raise ConsoleError(f"enter the {label} for {cls.DISPLAY_NAME}")
        # Keys travel in HTTP headers: printable ASCII only (an emoji could never be a key, and
        # httpx could not even send it).
        if len(value) > MAX_SECRET_LENGTH or any(ch.isspace() for ch in value) or not (
                value.isascii() and value.isprintable()):
            raise ConsoleError(f"that {label} does not look like a {cls.DISPLAY_NAME} key")
        credentials[name] = value
    return credentials


async def list_bindings(session: AsyncSession, owner: Owner, keyring: Keyring | None = None) -> list[BindingView]:
    scope = await resolve(session, owner)
    rows = await session.execute(
        select(ProviderBinding).where(scope.visible(ProviderBinding))
        .order_by(ProviderBinding.created_at, ProviderBinding.id)
    )
    return [to_view(r, keyring) for r in rows.scalars()]


async def get_owned(session: AsyncSession, owner: Owner, binding_id: int) -> ProviderBinding:
    scope = await resolve(session, owner)
    row = await session.get(ProviderBinding, binding_id)
    if row is None or not scope.sees(row):  # another workspace's, or another project's for a limited member
        raise NotFoundForUser("no such provider binding")
    return row


class KeyNotSaved(ConsoleError):
    """The provider did not confirm the key, so nothing was stored and no binding slot was taken."""


def key_check_message(display_name: str, exc: errors.ProviderError) -> str:
    """What failed, in the user's words; the type decides, never the provider's message text."""
    if isinstance(exc, errors.InvalidCredentials):
        return f"Not saved: {display_name} refused this key (wrong, expired or revoked). Copy the whole key and try again."
    if isinstance(exc, errors.RateLimited):
        wait = f" in {int(exc.retry_after)} s" if exc.retry_after else ""
        return f"Not saved: could not check the key: {display_name} is limiting requests right now; try again{wait}."
    if isinstance(exc, errors.ProviderUnavailable):  # 5xx, refused connection, timeout
        return f"Not saved: could not check the key: {display_name} did not answer; try again."
    return f"Not saved: could not check the key: {display_name} gave an answer ComputeHub could not use; try again."


async def _take_slot(session: AsyncSession, scope: Scope) -> None:
    # The per-person binding quota covers personal keys. An organization's keys take no one's
    # slot: its own plan decides (unlimited on Enterprise, Basic's one key once it lapsed).
    if scope.is_org:
        await require_room_for_key(session, scope)
    else:
        await take_binding_slot(session, scope.user_id)


async def _refuse_taken_label(session: AsyncSession, scope: Scope, label: str) -> None:
    taken = await session.execute(
        select(func.count()).select_from(ProviderBinding)
        .where(ProviderBinding.workspace_id == scope.workspace_id, ProviderBinding.label == label)
    )
    if taken.scalar_one():
        raise ConsoleError(f"you already have a binding named {label!r}")


def _validated(provider: str, label: str, secret_fields: dict[str, str]) -> tuple[type[Provider], str, dict[str, str]]:
    try:
        # Not provider_names(): that imports every adapter, and one being written must not break this.
        cls = provider_class(provider)
    except UnknownSource:
        raise ConsoleError("choose a provider from the list") from None
    credentials = _clean_credentials(cls, secret_fields)
    label = (label or "").strip() or cls.DISPLAY_NAME
    if len(label) > 120:
        raise ConsoleError("the name may have at most 120 characters")
    return cls, label, credentials


async def add_checked_binding(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring, http: httpx.AsyncClient, owner: Owner,
    provider: str, label: str, secret_fields: dict[str, str], project_id: int | None = None,
) -> ProviderBinding:
    """Validate, check the key with the provider, and only then store it (encrypted, verified).

    A key the provider does not confirm (refused, or the provider did not answer) raises
    ``KeyNotSaved``: nothing is stored and the plan's binding slot stays free. The provider call
    runs with no transaction open; the slot is taken atomically in the transaction that inserts.
    """
    cls, label, credentials = _validated(provider, label, secret_fields)
    async with sessions() as session:
        scope = await resolve(session, owner)
        await session.commit()  # a personal workspace made on first use stays
        scope.require("manage_keys")
        # Only a look (rolled back): an account at its limit gets the upgrade message (QuotaExhausted)
        # before its key is sent anywhere. The slot itself is taken below, once the key works.
        await _take_slot(session, scope)
        await _refuse_taken_label(session, scope, label)
        await projects.assignable(session, scope, project_id)  # a foreign project: 404 before the key is sent
        await session.rollback()
    try:
        await cls(http, credentials).verify_credentials()
    except errors.ProviderError as exc:
        raise KeyNotSaved(key_check_message(cls.DISPLAY_NAME, exc)) from None
    async with sessions() as session, session.begin():
        # Atomic with the insert: a concurrent add may have taken the last slot meanwhile.
        return await add_binding(session, keyring, scope, provider, label, secret_fields, verified_at=utcnow(),
                                 project_id=project_id)


async def add_binding(
    session: AsyncSession, keyring: Keyring, owner: Owner, provider: str, label: str, secret_fields: dict[str, str],
    *, verified_at: datetime | None = None, project_id: int | None = None,
) -> ProviderBinding:
    """Store a key (encrypted) and take its binding slot, in the caller's transaction.

    The pages go through ``add_checked_binding``: a key is stored only once the provider accepted
    it (``verified_at``). Without ``verified_at`` the row is "unverified" (set-ups and tests).
    """
    cls, label, credentials = _validated(provider, label, secret_fields)
    scope = await resolve(session, owner)
    scope.require("manage_keys")
    # The plan's binding quota, taken atomically in the caller's transaction (QuotaExhausted names the plan).
    await _take_slot(session, scope)
    await _refuse_taken_label(session, scope, label)
    project_id = await projects.assignable(session, scope, project_id)
    row = ProviderBinding(
        workspace=await session.get(Workspace, scope.workspace_id), user_id=scope.user_id, provider=provider, label=label,
        key_ciphertext=keyring.encrypt(json.dumps(credentials), _aad(scope.is_org, scope.workspace_id, scope.user_id, provider)),
        key_hint=credentials[cls.CREDENTIAL_FIELDS[-1]][-4:], status="verified" if verified_at else "unverified",
        verified_at=verified_at, created_at=utcnow(), project_id=project_id,
    )
    session.add(row)
    await session.flush()
    await audit.record(session, scope.audit_key, "key.added", await audit.actor_for(session, scope.user_id),
                       target_type="key", target_id=row.id, project=project_id, after={"provider": provider, "label": label,
                                                                   "status": row.status, "project": project_id})
    return row


def _aad(is_org: bool, workspace_id: int, user_id: int, provider: str) -> str:
    # A personal key keeps the user-bound associated data it had before workspaces (old
    # ciphertexts still decrypt); an organization's key is bound to the workspace instead.
    return workspace_binding_aad(workspace_id, provider) if is_org else binding_aad(user_id, provider)


def row_aad(row: ProviderBinding) -> str:
    return _aad(row.workspace.kind == ORGANIZATION, row.workspace_id, row.user_id, row.provider)


def decrypt_credentials(row: ProviderBinding, keyring: Keyring) -> dict[str, str]:
    return json.loads(keyring.decrypt(row.key_ciphertext, row_aad(row)))


def build_provider(row: ProviderBinding, keyring: Keyring, http: httpx.AsyncClient) -> Provider:
    if row.status == "disabled":
        raise ConsoleError("this provider binding is disabled")
    try:
        credentials = decrypt_credentials(row, keyring)
    except DecryptionFailed:
        raise ConsoleError("this binding's key cannot be decrypted any more; remove it and add the key again") from None
    return provider_class(row.provider)(http, credentials)


async def verify_binding(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring, http: httpx.AsyncClient, owner: Owner, binding_id: int
) -> BindingView:
    """A cheap authenticated call, made with no transaction open; then the result is stored."""
    async with sessions() as session:
        scope = await resolve(session, owner)
        await session.commit()
        row = await get_owned(session, scope, binding_id)
        scope.require("view")
        provider = build_provider(row, keyring, http)
    status, message = "verified", None
    try:
        await provider.verify_credentials()
    except errors.InvalidCredentials:
        status, message = "invalid", "the provider refused this key"
    except errors.ProviderError as exc:
        status, message = "unverified", f"could not check the key right now ({exc.kind}); try again later"
    async with sessions() as session, session.begin():
        row = await get_owned(session, scope, binding_id)
        row.status = status
        row.status_message = message
        if status == "verified":
            row.verified_at = utcnow()
        return to_view(row)


async def rename_binding(session: AsyncSession, owner: Owner, binding_id: int, label: str) -> None:
    scope = await resolve(session, owner)
    row = await get_owned(session, scope, binding_id)
    scope.require("manage_keys")
    label = (label or "").strip()
    if not 1 <= len(label) <= 120:
        raise ConsoleError("enter a name of up to 120 characters")
    clash = await session.execute(
        select(func.count()).select_from(ProviderBinding).where(
            ProviderBinding.workspace_id == scope.workspace_id, ProviderBinding.label == label,
            ProviderBinding.id != binding_id)
    )
    if clash.scalar_one():
        raise ConsoleError(f"you already have a binding named {label!r}")
    if label != row.label:
        await audit.record(session, scope.audit_key, "key.renamed", await audit.actor_for(session, scope.user_id),
                           target_type="key", target_id=row.id, before={"label": row.label}, after={"label": label})
    row.label = label


async def set_binding_project(session: AsyncSession, owner: Owner, binding_id: int, project_id: int | None) -> None:
    """Put a key in a project (or none): who may launch with it follows. The caller commits."""
    scope = await resolve(session, owner)
    row = await get_owned(session, scope, binding_id)
    scope.require("manage_keys")
    project_id = await projects.assignable(session, scope, project_id)
    if project_id != row.project_id:
        await audit.record(session, scope.audit_key, "key.project_changed", await audit.actor_for(session, scope.user_id),
                           target_type="key", target_id=row.id, project=project_id, before={"project": row.project_id},
                           after={"project": project_id})
        row.project_id = project_id


async def instances_left_unmanaged(session: AsyncSession, owner: Owner, binding_id: int) -> list[Instance]:
    """What removing this binding leaves without a key: the instances still alive at the provider."""
    await get_owned(session, owner, binding_id)
    rows = await session.execute(
        select(Instance).where(Instance.binding_id == binding_id, Instance.status.not_in(("terminated", "failed")))
        .order_by(Instance.created_at, Instance.id)
    )
    return list(rows.scalars())


async def remove_binding(session: AsyncSession, owner: Owner, binding_id: int) -> int:
    """Remove the key. Instances stay listed (unmanaged) so nothing running is forgotten."""
    scope = await resolve(session, owner)
    row = await get_owned(session, scope, binding_id)
    scope.require("manage_keys")
    active = await session.execute(
        select(func.count()).select_from(Instance).where(
            Instance.binding_id == binding_id, Instance.status.not_in(("terminated", "failed")))
    )
    count = active.scalar_one()
    await audit.record(session, scope.audit_key, "key.removed", await audit.actor_for(session, scope.user_id),
                       target_type="key", target_id=row.id, project=row.project_id,
                       before={"provider": row.provider, "label": row.label}, after={"deployments_left_without_key": count})
    if row.workspace.kind != ORGANIZATION:
        await release_binding_slot(session, row)
    await session.delete(row)
    return count


async def rotate_all(sessions: async_sessionmaker[AsyncSession], keyring: Keyring) -> RotationReport:
    """Re-encrypt every binding (and TOTP secret) not yet under the current master key.

    One unreadable row does not stop the rotation: it is reported, and the rest move on.
    """
    from app.db.models import User
    from app.security.keyring import totp_aad

    report = RotationReport()
    rotate = partial(report.rotate, keyring)

    async with sessions() as session, session.begin():
        for row in (await session.execute(select(ProviderBinding).order_by(ProviderBinding.id))).scalars():
            row.key_ciphertext = rotate(row.key_ciphertext, row_aad(row),
                                        f"provider binding {row.id} (user {row.user_id}, {row.provider})")
        users = select(User).where(User.totp_secret.is_not(None)).order_by(User.id)
        for user in (await session.execute(users)).scalars():
            user.totp_secret = rotate(user.totp_secret, totp_aad(user.id), f"two-factor secret of user {user.id}")
    return report
