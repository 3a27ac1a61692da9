"""``/console/launch?offer=<id>``: launch an offer from the price pages on one of the user's keys."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from litestar.di import NamedDependency
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.scope import Scope
from app.console import launch_form
from app.console.errors import ConsoleError
from app.workspaces.projects import ProjectError
from app.console.instances import launch
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_text, keyring, page, provider_http
from app.db.models import User
from app.services.inputs import DB_ID_MAX, parse_row_id


def _form_page(choices: launch_form.LaunchChoices, values: dict[str, str], error: str | None = None,
               status: int = 200) -> Template:
    return page("console/launch.html", status, choices=choices, offer=choices.offer, values=values, error=error)


class LaunchController(Controller):
    path = "/console/launch"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", permission="operate")
    async def form(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope],
                   offer: int = Parameter(ge=1, le=DB_ID_MAX)) -> Template:
        choices = await launch_form.launch_choices(db, workspace, offer)
        return _form_page(choices, launch_form.default_values(choices))

    @post("/", permission="operate")
    async def submit(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], data: Form) -> Template | Redirect:
        fields = {key: form_text(data, key) for key in (*launch_form.FIELDS, "offer")}
        offer_id = parse_row_id(fields["offer"], "offer")
        if offer_id is None:
            raise ConsoleError("choose an offer on the price pages first")
        choices = await launch_form.launch_choices(db, workspace, offer_id)
        values = launch_form.kept_values(fields)
        try:
            spec = await launch_form.spec_from_form(db, workspace, choices.offer, fields)
            await db.commit()  # end the read: nothing stays open while the provider is called
            async with provider_http(request) as http:
                row = await launch(request.app.state.sessions, keyring(request), http, workspace, spec)
        except (ConsoleError, ProjectError) as exc:
            return _form_page(choices, values, str(exc), 400)
        return Redirect(f"/console/instances/{row.id}?done=launched")
