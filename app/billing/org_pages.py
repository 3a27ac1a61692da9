"""``/workspaces/<id>/billing``: the organization's own plan, bought by its owner or a billing
member (``manage_billing``); everyone else in it gets the role's 403, outsiders a 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.client import BillingError, billing_client
from app.billing.entitlements import FEATURE_LABELS
from app.billing.org_billing import OrganizationBilling
from app.billing.service import _intent, new_intent
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_text, page
from app.db.models import User, Workspace
from app.workspaces.scope import Scope, membership

DONE = {
    "subscribed": "Subscribed: the organization's plan is in force now for every member.",
    "canceled": "Canceled: the plan stays in force until the end of the period, then the organization moves to Basic.",
    "resumed": "Resumed: the organization's plan renews as before.",
}
RETURNS = {
    "success": "Payment received. The organization's plan changes as soon as Stripe confirms it (a few seconds): "
               "reload this page if it has not yet.",
    "canceled": "Checkout canceled: nothing was charged.",
}


@asynccontextmanager
async def org_billing(request: Request) -> AsyncIterator[OrganizationBilling]:
    settings = request.app.state.settings
    client = billing_client(settings)
    try:
        yield OrganizationBilling(request.app.state.sessions, settings, client)
    finally:
        await client.close()


class OrganizationBillingController(Controller):
    path = "/workspaces/{workspace_id:int}/billing"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    async def _page(self, request: Request, db: AsyncSession, me: Scope, *, notice: str | None = None,
                    error: str | None = None, status: int = 200) -> Template:
        async with org_billing(request) as service:
            view = await service.overview(me)
        return page("billing/organization.html", status, org=await db.get(Workspace, me.workspace_id), me=me,
                    view=view, notice=notice, error=error, intent=new_intent(), feature_labels=FEATURE_LABELS)

    async def _act(self, request: Request, db: AsyncSession, user: User, workspace_id: int, action) -> Template | Redirect:
        me = await membership(db, user.id, workspace_id)
        try:
            async with org_billing(request) as service:
                target = await action(service, me)
        except BillingError as exc:
            return await self._page(request, db, me, error=str(exc), status=400)
        return Redirect(target, status_code=303)

    @get("/", name="organization_billing", permission="manage_billing")
    async def index(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                    workspace_id: int, done: str | None = None, checkout: str | None = None) -> Template:
        me = await membership(db, user.id, workspace_id)
        return await self._page(request, db, me, notice=DONE.get(done or "") or RETURNS.get(checkout or ""))

    @post("/subscribe", permission="manage_billing")
    async def subscribe(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                        workspace_id: int, data: Form) -> Template | Redirect:
        intent = _intent(form_text(data, "intent"))
        return await self._act(request, db, user, workspace_id, lambda s, me: s.subscribe(me, user, intent))

    @post("/cancel", permission="manage_billing")
    async def cancel(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     workspace_id: int, data: Form) -> Template | Redirect:
        intent = _intent(form_text(data, "intent"))
        return await self._act(request, db, user, workspace_id, lambda s, me: s.set_cancel(me, user, True, intent))

    @post("/resume", permission="manage_billing")
    async def resume(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     workspace_id: int, data: Form) -> Template | Redirect:
        intent = _intent(form_text(data, "intent"))
        return await self._act(request, db, user, workspace_id, lambda s, me: s.set_cancel(me, user, False, intent))

    @post("/payment-methods", permission="manage_billing")
    async def payment_methods(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                              workspace_id: int, data: Form) -> Template | Redirect:
        intent = _intent(form_text(data, "intent"))
        return await self._act(request, db, user, workspace_id, lambda s, me: s.payment_portal(me, intent))
