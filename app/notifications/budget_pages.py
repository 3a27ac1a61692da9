"""``/console/budget``: the workspace's monthly budget (spend this month, thresholds, the hard
limit's state) and its quotas. Everyone who may see costs reads it; the budget form needs
``manage_budgets`` and the quota form ``manage_quotas`` (``Scope.require``, so a post from a role
without them is a 403 whatever the page showed). A personal budget stays a plan feature (Pro).

``?project=ID`` (an organization's): the same page and forms for that project's own budget and
quotas (another workspace's project: 404); the page lists every project's spending this month."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.entitlements import ensure_feature_in, workspace_entitlements
from app.console import quotas
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_text, page
from app.db.models import User
from app.db.types import utcnow
from app.notifications import budgets
from app.notifications.budget_view import budget_state, gpus_text
from app.notifications.events import NOTIFICATIONS_FEATURE
from app.workspaces.projects import parse_project_id
from app.workspaces.scope import Scope

PATH = "/console/budget"
NOTICES = {
    "budget-saved": "Monthly budget saved.",
    "budget-removed": "Monthly budget removed: no more cost warnings.",
    "quotas-saved": "Quotas saved. They apply to the next launch or start.",
}


def _back(project_id: int | None, done: str) -> Redirect:
    return Redirect(f"{PATH}?{f'project={project_id}&' if project_id else ''}done={done}")


async def _page(request: Request, db: AsyncSession, user: User, scope: Scope, *, status: int = 200,
                notice: str | None = None, error: str | None = None, typed: dict[str, str] | None = None,
                project_id: int | None = None) -> Template:
    state = await budget_state(db, scope, utcnow(), project_id)
    ents = await workspace_entitlements(db, scope, grace_days=request.app.state.settings.billing.grace_days)
    locked = not ents.has(NOTIFICATIONS_FEATURE)
    return page("console/budget.html", status, user=user, state=state, notice=notice, error=error, typed=typed or {},
                locked=locked, plan_name=ents.plan_name, gpus_text=gpus_text)


async def _plan_check(request: Request, db: AsyncSession, user: User, scope: Scope) -> None:
    await ensure_feature_in(db, scope, NOTIFICATIONS_FEATURE, request.app.state.settings.billing.grace_days)


class BudgetController(Controller):
    path = PATH
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="console_budget", permission="view_costs")
    async def index(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                    workspace: NamedDependency[Scope], done: str | None = None,
                    project: str | None = None) -> Template:
        return await _page(request, db, user, workspace, notice=NOTICES.get(done or ""),
                           project_id=parse_project_id(project))

    @post("/", permission="manage_budgets")
    async def save_budget(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                          workspace: NamedDependency[Scope], data: Form, project: str | None = None) -> Template | Redirect:
        workspace.require("manage_budgets")
        project_id = parse_project_id(project)
        await _plan_check(request, db, user, workspace)
        raw = form_text(data, "monthly_budget")
        try:
            amount = budgets.parse_budget(raw)
            grace = budgets.parse_grace(form_text(data, "grace_minutes"))
        except budgets.BudgetError as exc:
            return await _page(request, db, user, workspace, status=400, error=f"Budget not saved: {exc}.",
                               typed={"monthly_budget": raw}, project_id=project_id)
        await budgets.set_budget(db, workspace, amount, hard_limit=form_text(data, "hard_limit") == "on",
                                 grace_minutes=grace, project_id=project_id)
        await db.commit()
        return _back(project_id, "budget-saved" if amount is not None else "budget-removed")

    @post("/quotas", permission="manage_quotas")
    async def save_quotas(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                          workspace: NamedDependency[Scope], data: Form, project: str | None = None) -> Template | Redirect:
        workspace.require("manage_quotas")
        project_id = parse_project_id(project)
        typed = {k: form_text(data, k) for k in ("max_running_instances", "max_gpus", "max_hourly_spend")}
        try:
            limits = quotas.Limits(quotas.parse_count(typed["max_running_instances"], "max_running_instances"),
                                   quotas.parse_count(typed["max_gpus"], "max_gpus"),
                                   quotas.parse_hourly(typed["max_hourly_spend"]))
        except quotas.QuotaError as exc:
            return await _page(request, db, user, workspace, status=400, error=f"Quotas not saved: {exc}.", typed=typed,
                               project_id=project_id)
        await quotas.set_limits(db, workspace, limits, project_id)
        await db.commit()
        return _back(project_id, "quotas-saved")
