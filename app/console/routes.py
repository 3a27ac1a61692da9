"""Console pages (login required). Each module appends its controllers here."""

CONSOLE_HANDLERS: list = []

# Deployments, batch actions, launch from an offer, deployment templates.
from app.console.pages.batch import BatchController  # noqa: E402
from app.console.pages.deployments import DeploymentsController  # noqa: E402
from app.console.pages.history import HistoryController  # noqa: E402
from app.console.pages.launch import LaunchController  # noqa: E402
from app.console.pages.templates import TemplatesController  # noqa: E402

CONSOLE_HANDLERS += [DeploymentsController, BatchController, LaunchController, TemplatesController]
CONSOLE_HANDLERS += [HistoryController]  # deployment history (/console/history)

# Node pools (/console/pools; Enterprise organizations).
from app.pools.pages import PoolsPageController  # noqa: E402

CONSOLE_HANDLERS += [PoolsPageController]

# Provider keys (/settings/providers).
from app.console.pages.bindings import ProviderKeysController  # noqa: E402

CONSOLE_HANDLERS += [ProviderKeysController]

# Subscription (/settings/subscription), Stripe webhooks, billing admin.
from app.billing.org_pages import OrganizationBillingController  # noqa: E402
from app.billing.pages import AdminBillingController, SubscriptionController, stripe_webhook  # noqa: E402

CONSOLE_HANDLERS += [SubscriptionController, OrganizationBillingController, stripe_webhook, AdminBillingController]

# The simulated cloud's accounts and fault switches (admins).
from app.console.pages.sandbox_admin import AdminSandboxController  # noqa: E402

CONSOLE_HANDLERS += [AdminSandboxController]

# Costs (/costs), the overview (/console/overview) and the profile with the time zone (/settings/profile).
from app.accounts.pages import ProfileController  # noqa: E402
from app.costs.pages import CostsController, OverviewController  # noqa: E402
from app.costs.statement_pages import StatementsController  # noqa: E402

CONSOLE_HANDLERS += [CostsController, StatementsController, OverviewController, ProfileController]

# The account itself: password, e-mail address (confirmed by a mailed link), deletion.
from app.accounts.pages import AccountController, PublicAccountController  # noqa: E402

CONSOLE_HANDLERS += [AccountController, PublicAccountController]

# Auto-repair (the form of the instance page's "Auto-repair" section).
from app.repair.pages import AutoRepairController  # noqa: E402

CONSOLE_HANDLERS += [AutoRepairController]

# Notifications (/settings/notifications): switches, the Telegram link, price alerts, the budget.
from app.notifications.pages import NotificationSettingsController  # noqa: E402

CONSOLE_HANDLERS += [NotificationSettingsController]

# The workspace's budget and quotas (/console/budget).
from app.notifications.budget_pages import BudgetController  # noqa: E402

CONSOLE_HANDLERS += [BudgetController]

# The audit log of the workspace (/settings/activity, CSV export).
from app.audit.pages import ActivityController  # noqa: E402

CONSOLE_HANDLERS += [ActivityController]

# Tokens of the console API (/settings/api-tokens); the API itself is under /api/v1/console.
from app.auth.api_token_pages import ApiTokensController  # noqa: E402

CONSOLE_HANDLERS += [ApiTokensController]

# Workspaces: the header switcher, organizations and their members (/workspaces).
from app.workspaces.pages import InvitationController, WorkspacesController  # noqa: E402

CONSOLE_HANDLERS += [WorkspacesController, InvitationController]

# Migrations (Pro): the wizard, "move my deployment here", live progress, rollback (/console/migrations).
from app.migration.pages import MigrationPagesController  # noqa: E402

CONSOLE_HANDLERS += [MigrationPagesController]
