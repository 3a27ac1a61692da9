"""Deleting an account: the keys and personal data go, the cost records stay (anonymized).

Cost records hang off the user row (and its instances) with ON DELETE CASCADE, so the row is
kept as an anonymous shell: a placeholder address nobody can receive mail at (which frees the
real address for a new sign-up), no name, a password hash nothing verifies against, and
``deleted_at`` set, which ends its sessions (``app.auth.session_validity``) and hides it from
logins and resets.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.password import check_current_password
from app.auth.service import AccountError, end_all_sessions
from app.billing.records import LIVE_STATUSES, subscription_of
from app.console.instances import FINAL_STATES
from app.audit import personal
from app.db.models import (
    ApiToken,
    AuditChainHead,
    AuditEvent,
    Budget,
    BudgetAlert,
    BudgetEnforcement,
    DeploymentTemplate,
    EmailChangeToken,
    Instance,
    NotificationPreference,
    OutboxMessage,
    PasswordResetToken,
    PriceAlert,
    ProviderBinding,
    QuotaUsage,
    RecoveryCode,
    TelegramLinkToken,
    User,
    Workspace,
    WorkspaceQuota,
)
from app.db.types import utcnow
from app.notifications.linking import unlink
from app.workspaces.organizations import OrganizationError, release_for_account_deletion

CONFIRM_WORD = "DELETE"
DELETED_NAME = "Deleted user"
UNUSABLE_PASSWORD_HASH = "!deleted"
"""Not an argon2 hash: ``verify_password`` answers False for every password."""
_PERSONAL_ROWS = (ApiToken, DeploymentTemplate, PriceAlert, TelegramLinkToken, NotificationPreference,
                  OutboxMessage, QuotaUsage, RecoveryCode, PasswordResetToken, EmailChangeToken)
"""Every table of the account's own data besides its provider keys (deleted first), cost records
(kept) and instances (they own the cost records: kept, with their personal fields cleared)."""


class AccountInUse(AccountError):
    """Something still runs for the account at a provider: deleting its keys would orphan it."""


def placeholder_email(user_id: int) -> str:
    """Unique per account, and undeliverable: ``.invalid`` is reserved (RFC 2606)."""
    return f"deleted-{user_id}@deleted.invalid"


async def _live_instances(session: AsyncSession, user_id: int) -> int:
    """Not yet terminated or failed: launching, provisioning, running, stopping, stopped, unknown..."""
    found = await session.execute(select(func.count()).select_from(Instance).where(
        Instance.user_id == user_id, Instance.status.not_in(FINAL_STATES)))
    return found.scalar_one()


class SubscriptionStillBilled(AccountError):
    """A Stripe subscription that would renew: deleting the account must not leave it charging."""


async def _refuse_renewing_stripe_subscription(session: AsyncSession, user_id: int) -> None:
    row = await subscription_of(session, user_id)
    if row is not None and row.stripe_subscription_id and row.status in LIVE_STATUSES and not row.cancel_at_period_end:
        raise SubscriptionStillBilled("your paid subscription would keep renewing: cancel it on the Subscription "
                                      "page first (it stays active until the end of the period), then delete the account")


async def _end_local_subscription(session: AsyncSession, user_id: int, now: datetime) -> None:
    """A local (non-Stripe) subscription ends now. One billed by Stripe is left as it is: ending it
    is Stripe's to do, and its webhooks keep updating the row."""
    row = await subscription_of(session, user_id, lock=True)
    if row is None or row.stripe_subscription_id or row.status not in LIVE_STATUSES:
        return
    row.status, row.cancel_at_period_end, row.current_period_end, row.updated_at = "canceled", False, now, now


async def delete_account(session: AsyncSession, user: User, password: str, confirmation: str,
                         now: datetime | None = None) -> None:
    """Check the password and the typed confirmation, refuse while instances live, then erase.
    One transaction, all or nothing: the caller commits, or (on an error) rolls back."""
    check_current_password(user, password)
    if (confirmation or "").strip() != CONFIRM_WORD:
        raise AccountError(f"type {CONFIRM_WORD} to confirm")
    await _refuse_renewing_stripe_subscription(session, user.id)
    try:  # an organization others are in keeps its owner; one only this account is in goes with it
        await release_for_account_deletion(session, user.id)
    except OrganizationError as exc:
        raise AccountInUse(str(exc)) from None
    # The keys go first: a launch still under way then either committed its instance (counted
    # next) or waits on the key rows and fails once they are gone. Nothing runs unseen.
    await session.execute(delete(ProviderBinding).where(ProviderBinding.user_id == user.id)
                          .execution_options(synchronize_session=False))
    live = await _live_instances(session, user.id)
    if live:
        raise AccountInUse(f"{live} of your deployments {'is' if live == 1 else 'are'} not terminated yet: "
                           "terminate them on the Deployments page first, then delete the account")
    now = now or utcnow()
    await _end_local_subscription(session, user.id, now)
    await unlink(session, user.id)  # the Telegram chat stays the bot's, no longer this account's
    for table in _PERSONAL_ROWS:
        await session.execute(delete(table).where(table.user_id == user.id).execution_options(synchronize_session=False))
    # The personal workspace's budget is the account's own data too (its cost records stay).
    personal_workspace = select(Workspace.id).where(Workspace.personal_user_id == user.id).scalar_subquery()
    for table in (Budget, BudgetAlert, BudgetEnforcement, WorkspaceQuota):
        await session.execute(delete(table).where(table.workspace_id == personal_workspace)
                              .execution_options(synchronize_session=False))
    # A personal workspace's log (addresses, browsers) is personal data and goes with it.
    for table in (AuditEvent, AuditChainHead):
        await session.execute(delete(table).where(table.workspace == personal(user.id))
                              .execution_options(synchronize_session=False))
    await session.execute(update(Instance).where(Instance.user_id == user.id).values(
        ssh_public_key="", public_ip=None, health_check_url=None, auto_repair=False,
    ).execution_options(synchronize_session=False))
    user.email, user.name = placeholder_email(user.id), DELETED_NAME
    user.password_hash, user.is_admin = UNUSABLE_PASSWORD_HASH, False
    user.totp_secret, user.totp_enabled, user.totp_last_step = None, False, None
    user.last_login_at, user.deleted_at = None, now
    await end_all_sessions(session, user)
