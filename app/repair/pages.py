"""``POST /console/instances/{id}/auto-repair``: the form of the instance page's "Auto-repair" section."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.response import Redirect, Template
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.scope import Scope
from app.billing.entitlements import require_feature
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_text
from app.console.pages.deployments import detail_page
from app.db.models import User
from app.repair.configure import FEATURE, RepairFormError, configure
from app.repair.views import RepairForm


class AutoRepairController(Controller):
    path = "/console/instances"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @post("/{instance_id:int}/auto-repair", permission="operate", guards=[require_feature(FEATURE)])
    async def save(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], instance_id: int,
                   data: Form) -> Template | Redirect:
        enabled = form_text(data, "auto_repair") == "on"
        url = form_text(data, "health_check_url").strip()
        try:
            await configure(request.app.state.sessions, request.app.state.settings, workspace, instance_id,
                            enabled=enabled, health_check_url=url)
        except RepairFormError as exc:
            return await detail_page(db, workspace, instance_id, status=400,
                                     repair_form=RepairForm(enabled, url, str(exc)))
        return Redirect(f"/console/instances/{instance_id}?done=auto_repair#auto-repair")
