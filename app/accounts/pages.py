"""``/settings/profile``: change your name and time zone."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.response import Redirect, Template
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.profile import ProfileError, time_zones, update_profile
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_text, page
from app.db.models import User
from app.db.types import utcnow


class ProfileController(Controller):
    path = "/settings/profile"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="profile")
    async def show(self, user: NamedDependency[User], saved: bool = False) -> Template:
        return _form(user, {"name": user.name, "timezone": user.timezone}, notice="Saved." if saved else None)

    @post("/")
    async def save(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], data: Form) -> Template | Redirect:
        typed = {"name": form_text(data, "name"), "timezone": form_text(data, "timezone")}
        try:
            update_profile(user, typed["name"], typed["timezone"])
        except ProfileError as exc:  # nothing was changed: update_profile validates before it assigns
            return _form(user, typed, error=str(exc), status=400)
        await db.commit()
        return Redirect("/settings/profile?saved=true")


def _form(user: NamedDependency[User], form: dict[str, str], *, notice: str | None = None, error: str | None = None,
          status: int = 200) -> Template:
    return page("account/profile.html", status, user=user, form=form, zones=time_zones(), now=utcnow(),
                notice=notice, error=error)
