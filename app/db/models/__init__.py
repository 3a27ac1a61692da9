"""All ORM models. Import from here so Alembic and the app see the same metadata."""

from app.db.models.api_tokens import ApiToken
from app.db.models.audit import AuditChainHead, AuditEvent
from app.db.models.accounts import EmailChangeToken, PasswordResetToken, RecoveryCode, StoreEntry, User
from app.db.models.billing import Invoice, Plan, QuotaUsage, StripeEvent, Subscription
from app.db.models.costs import CostRecord
from app.db.models.console import DeploymentTemplate, Instance, InstanceEvent, ProviderBinding
from app.db.models.jobs import JobLease
from app.db.models.migrations import Migration, MigrationBucket, MigrationStep, WorkspaceSshKey
from app.db.models.notifications import (
    Budget,
    BudgetAlert,
    BudgetEnforcement,
    HealthCheck,
    NotificationPreference,
    OutboxMessage,
    PriceAlert,
    RepairAction,
    TelegramChat,
    TelegramLinkToken,
)
from app.db.models.pools import NodePool, PoolBlock, PoolEvent, PoolNode
from app.db.models.projects import Project, ProjectMember
from app.db.models.project_budgets import ProjectBudget, ProjectBudgetAlert, ProjectBudgetEnforcement, ProjectQuota
from app.db.models.workspaces import Workspace, WorkspaceInvitation, WorkspaceMember, WorkspaceQuota
from app.db.models.prices import (
    OFFER_ORIGIN_LIVE,
    OFFER_ORIGIN_SNAPSHOT,
    GpuDailyPrice,
    Offer,
    PriceHistory,
    PriceSource,
)

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "EmailChangeToken",
    "RecoveryCode",
    "StoreEntry",
    "Budget",
    "ProjectBudget",
    "ProjectBudgetAlert",
    "ProjectBudgetEnforcement",
    "ProjectQuota",
    "BudgetAlert",
    "BudgetEnforcement",
    "HealthCheck",
    "NotificationPreference",
    "OutboxMessage",
    "PriceAlert",
    "RepairAction",
    "TelegramChat",
    "TelegramLinkToken",
    "Invoice",
    "Plan",
    "QuotaUsage",
    "StripeEvent",
    "Subscription",
    "CostRecord",
    "DeploymentTemplate",
    "Instance",
    "InstanceEvent",
    "PasswordResetToken",
    "ProviderBinding",
    "User",
    "OFFER_ORIGIN_LIVE",
    "OFFER_ORIGIN_SNAPSHOT",
    "GpuDailyPrice",
    "JobLease",
    "Migration",
    "MigrationBucket",
    "MigrationStep",
    "WorkspaceSshKey",
    "Offer",
    "PriceHistory",
    "PriceSource",
    "NodePool",
    "PoolBlock",
    "PoolEvent",
    "PoolNode",
    "Project",
    "ProjectMember",
    "Workspace",
    "WorkspaceInvitation",
    "WorkspaceMember",
    "WorkspaceQuota",
]
