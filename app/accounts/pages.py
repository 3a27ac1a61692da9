"""``/settings/profile``: change your name and time zone. ``/settings/account``: change the
password or the e-mail address, delete the account; ``/account/email/<token>``: the link that
confirms a new address."""

from __future__ import annotations

import logging

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.accounts import deletion, email_change, password
from app.accounts.demo import is_shared_demo
from app.accounts.profile import ProfileError, time_zones, update_profile
from app.auth.service import AccountError
from app.auth.session import start_session
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_text, page
from app.db.models import User
from app.db.types import utcnow
from app.notifications.mail import send_after_commit
from app.settings import Settings

log = logging.getLogger(__name__)


class ProfileController(Controller):
    path = "/settings/profile"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="profile", permission="login")
    async def show(self, user: NamedDependency[User], saved: bool = False) -> Template:
        return _form(user, {"name": user.name, "timezone": user.timezone}, notice="Saved." if saved else None)

    @post("/", permission="login")
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


# ---- /settings/account: password, e-mail address, deleting the account -------------------------

ACCOUNT_PATH = "/settings/account"
DONE_MESSAGES = {
    "password": "Your password was changed. Every other session of your account was logged out.",
    "email-sent": "We sent a confirmation link to the new address. Your address changes once you open it "
                  "(within 24 hours).",
    "email": "Your e-mail address was changed.",
}
DEMO_REFUSAL = ("The shared demo account cannot change its password or e-mail address, nor be deleted. "
                "Create your own account to try this.")


class AccountController(Controller):
    path = ACCOUNT_PATH
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="account", permission="login")
    async def show(self, request: Request, user: NamedDependency[User], done: str | None = None) -> Template:
        return _account_page(request, user, notice=DONE_MESSAGES.get(done or ""))

    @post("/password", permission="login")
    async def change_password(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                              data: Form) -> Template | Redirect:
        if is_shared_demo(user, request.app.state.settings):
            return _account_page(request, user, error=DEMO_REFUSAL, status=400)
        new = form_text(data, "password")
        try:
            if new != form_text(data, "password_confirm"):
                raise AccountError("the two new passwords differ")
            await password.change_password(db, user, form_text(data, "current_password"), new)
            await audit.record(db, audit.personal(user.id), "auth.password_changed", audit.Actor.user(user))
            await db.commit()
        except AccountError as exc:
            return _account_page(request, user, error=str(exc), status=400)
        start_session(request, user)  # this browser stays in, under the new epoch and a new session id
        return Redirect(f"{ACCOUNT_PATH}?done=password")

    @post("/email", permission="login")
    async def change_email(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                           data: Form) -> Template | Redirect:
        settings: Settings = request.app.state.settings
        typed = {"new_email": form_text(data, "new_email")}
        if is_shared_demo(user, settings):
            return _account_page(request, user, error=DEMO_REFUSAL, status=400, form=typed)
        try:
            new_email, token = await email_change.request_email_change(
                db, user, typed["new_email"], form_text(data, "current_password"))
            await db.commit()
        except AccountError as exc:
            return _account_page(request, user, error=str(exc), status=400, form=typed)
        link = f"{settings.web.base_url.rstrip('/')}{CONFIRM_PATH}/{token}"
        sent = await _mail(settings, new_email, "Confirm your new ComputeHub e-mail address",
                           f"Hello {user.name},\n\nTo use this address for your ComputeHub account, open this link "
                           f"within 24 hours:\n\n{link}\n\nIf you did not ask for this, ignore this message: "
                           "nothing changes.\n")
        if not sent:
            return _account_page(request, user, status=503, form=typed,
                                 error="The confirmation mail could not be sent. Try again in a few minutes.")
        return Redirect(f"{ACCOUNT_PATH}?done=email-sent")

    @get("/delete", permission="login")
    async def confirm_delete(self, request: Request, user: NamedDependency[User]) -> Template:
        return _delete_page(request, user)

    @post("/delete", permission="login")
    async def delete(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     data: Form) -> Template | Redirect:
        typed = {"confirmation": form_text(data, "confirmation")}
        if is_shared_demo(user, request.app.state.settings):
            return _delete_page(request, user, error=DEMO_REFUSAL, status=400, form=typed)
        try:
            await deletion.delete_account(db, user, form_text(data, "password"), typed["confirmation"])
            await db.commit()
        except AccountError as exc:  # not committed: the request's session rolls back whatever was begun
            return _delete_page(request, user, error=str(exc), status=400, form=typed,
                                in_use=isinstance(exc, deletion.AccountInUse))
        request.clear_session()
        return Redirect(DELETED_PATH)


def _account_page(request: Request, user: User, *, notice: str | None = None, error: str | None = None,
                  status: int = 200, form: dict[str, str] | None = None) -> Template:
    return page("account/account.html", status, user=user, notice=notice, error=error, form=form or {},
                demo=is_shared_demo(user, request.app.state.settings))


def _delete_page(request: Request, user: User, *, error: str | None = None, status: int = 200,
                 form: dict[str, str] | None = None, in_use: bool = False) -> Template:
    return page("account/delete.html", status, user=user, error=error, form=form or {}, in_use=in_use,
                confirm_word=deletion.CONFIRM_WORD, demo=is_shared_demo(user, request.app.state.settings))


async def _mail(settings: Settings, to: str, subject: str, text: str) -> bool:
    """Sent after the commit; a failure is logged and reported to the caller, never raised."""
    return await send_after_commit(settings.mail, to, subject, text)


# ---- pages without login: the link mailed to the new address, the farewell --------------------

CONFIRM_PATH = "/account/email"
DELETED_PATH = "/account/deleted"


class PublicAccountController(Controller):
    """The e-mail link works logged in or not. Its ``GET`` shows what it does and a button; only the
    ``POST`` changes the address (mail scanners open links in e-mails: a GET must not use it up)."""

    path = "/account"
    dependencies = CONSOLE_DEPENDENCIES

    @get("/deleted", permission="public")
    async def deleted(self) -> Template:
        return page("account/deleted.html")

    @get("/email/{token:str}", permission="public")
    async def show(self, db: NamedDependency[AsyncSession], user: NamedDependency[User | None], token: str) -> Template:
        try:
            pending = await email_change.pending_link(db, token)
        except AccountError as exc:
            return page("account/email_confirm.html", 400, user=user, token=token, new_email=None, error=str(exc))
        return page("account/email_confirm.html", user=user, token=token, new_email=pending.new_email, error=None)

    @post("/email/{token:str}", permission="public")
    async def confirm(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User | None],
                      token: str) -> Template | Redirect:
        settings: Settings = request.app.state.settings
        try:
            changed = await email_change.confirm_email_change(db, token, logged_in_as=user.id if user else None)
            await audit.record(db, audit.personal(changed.user.id), "account.email_changed", audit.Actor.user(changed.user),
                               before={"email": changed.old_email}, after={"email": changed.user.email})
            await db.commit()
        except AccountError as exc:
            return page("account/email_confirm.html", 400, user=user, token=token, new_email=None, error=str(exc))
        account = changed.user
        await _mail(settings, changed.old_email, "Your ComputeHub e-mail address was changed",
                    f"Hello {account.name},\n\nThe e-mail address of your ComputeHub account was changed from "
                    f"{changed.old_email} to {account.email}. From now on, log in with the new address.\n\n"
                    "If you did not do this, someone else may have your password: reply to this message at once.\n")
        if user is not None:
            return Redirect(f"{ACCOUNT_PATH}?done=email")
        return page("account/email_confirm.html", user=None, token=None, new_email=account.email, error=None,
                    done=True)
