"""Sign up, log in (with optional TOTP second step), log out, password reset, two-factor set-up."""

from __future__ import annotations

import logging

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.accounts.demo import is_shared_demo
from app.auth import recovery_codes, service
from app.auth.session import (
    SESSION_EPOCH,
    SESSION_PENDING_2FA,
    provide_current_user,
    renew_session_id,
    requires_login,
    start_session,
)
from app.auth.throttle import Budgets, LoginThrottle, locked_out_message
from app.auth import totp
from app.db.models import User
from app.notifications.mail import build_message, mailer_from_settings
from app.security.keyring import keyring_from_settings
from app.settings import Settings
from app.web.client_address import client_address

log = logging.getLogger(__name__)
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _safe_next(target: str | None) -> str:
    """Only local paths: an attacker's ?next= must not bounce users off-site."""
    if not target:
        return "/console"
    parts = urlsplit(target)
    # Browsers read "/\host" as "//host"; control characters can smuggle one in too.
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target)):
        return "/console"
    return target


def _throttle(request: Request) -> LoginThrottle:
    """The failure counts of this request's client address (behind trusted proxies: the real client)."""
    return LoginThrottle(request.app.stores.get("throttle"), client_address(request),
                         Budgets.from_settings(request.app.state.settings))


def _form(template: str, status: int = 200, **context: Any) -> Template:
    return Template(template, context=context, status_code=status)


class AuthController(Controller):
    opt = {"permission": "public"}  # sign-up, login, password reset: before any login
    dependencies = {"user": Provide(provide_current_user)}

    @get("/signup", name="signup")
    async def signup_page(self, user: NamedDependency[User | None]) -> Template | Redirect:
        if user is not None:
            return Redirect("/console")
        return _form("auth/signup.html", form={}, error=None)

    @post("/signup")
    async def signup(self, request: Request, db: NamedDependency[AsyncSession], data: Form) -> Template | Redirect:
        try:
            user = await service.signup(db, data.get("email", ""), data.get("name", ""), data.get("password", ""))
            await db.commit()
        except service.AccountError as exc:
            kept = {"email": data.get("email", ""), "name": data.get("name", "")}
            return _form("auth/signup.html", 400, form=kept, error=str(exc))
        start_session(request, user)
        return Redirect("/console")

    @get("/login", name="login")
    async def login_page(self, user: NamedDependency[User | None], next: str | None = None) -> Template | Redirect:
        if user is not None:
            return Redirect(_safe_next(next))
        return _form("auth/login.html", form={"next": next or ""}, error=None)

    @post("/login")
    async def login(self, request: Request, db: NamedDependency[AsyncSession], data: Form) -> Template | Redirect:
        email = data.get("email", "")
        kept = {"email": email, "next": data.get("next", "")}
        throttle = _throttle(request)
        wait = await throttle.retry_after(email)
        if wait is not None:
            return _form("auth/login.html", 429, form=kept, error=locked_out_message(wait))
        user = await service.authenticate(db, email, data.get("password", ""))
        if user is None and (account := await service.find_account(db, email)) is not None:
            await audit.record(db, audit.personal(account.id), "auth.sign_in_failed", audit.Actor.user(account),
                               after={"step": "password"})
        elif user is not None and not user.totp_enabled:
            await audit.record(db, audit.personal(user.id), "auth.sign_in", audit.Actor.user(user))
        await db.commit()
        if user is None:
            await throttle.record_failure(email)
            return _form("auth/login.html", 400, form=kept, error="Wrong e-mail address or password.")
        if user.totp_enabled:
            # The counters reset only once the code is right too: else each correct password
            # would buy the attacker a fresh round of code guesses.
            request.clear_session()
            renew_session_id(request)
            request.set_session({SESSION_PENDING_2FA: user.id, SESSION_EPOCH: user.session_epoch,
                                 "next": _safe_next(kept["next"])})
            return Redirect("/login/2fa")
        await throttle.reset(email)
        start_session(request, user)
        return Redirect("/settings/security" if user.is_admin else _safe_next(kept["next"]))

    @get("/login/2fa")
    async def second_factor_page(self, request: Request) -> Template | Redirect:
        if not request.session.get(SESSION_PENDING_2FA):
            return Redirect("/login")
        return _form("auth/login_2fa.html", error=None)

    @post("/login/2fa")
    async def second_factor(self, request: Request, db: NamedDependency[AsyncSession], data: Form) -> Template | Redirect:
        user_id = request.session.get(SESSION_PENDING_2FA)
        if not user_id:
            return Redirect("/login")
        user = await db.get(User, int(user_id))
        throttle = _throttle(request)
        if user is None:
            return _form("auth/login_2fa.html", 429, error="Too many attempts. Log in again later.")
        if (wait := await throttle.retry_after(user.email)) is not None:
            return _form("auth/login_2fa.html", 429, error=locked_out_message(wait))
        keyring = keyring_from_settings(request.app.state.settings)
        accepted = await service.check_second_factor(db, user, keyring, data.get("code", ""))
        await audit.record(db, audit.personal(user.id), "auth.sign_in" if accepted else "auth.sign_in_failed",
                           audit.Actor.user(user), after={"step": "two-factor code"})
        await db.commit()  # the code is spent before the session starts
        if not accepted:
            await throttle.record_failure(user.email)
            return _form("auth/login_2fa.html", 400, error="That code is not right.")
        target = request.session.get("next") or "/console"
        await throttle.reset(user.email)
        start_session(request, user)
        return Redirect(target)

    @post("/logout")
    async def logout(self, request: Request) -> Redirect:
        request.clear_session()
        return Redirect("/")

    @get("/forgot")
    async def forgot_page(self) -> Template:
        return _form("auth/forgot.html", form={}, sent=False, error=None)

    @post("/forgot")
    async def forgot(self, request: Request, db: NamedDependency[AsyncSession], data: Form) -> Template:
        settings: Settings = request.app.state.settings
        found = await service.create_reset_token(db, data.get("email", ""))
        await db.commit()
        if found is not None:  # sent after the commit, so the emailed token exists
            user, token = found
            link = f"{settings.web.base_url.rstrip('/')}/reset/{token}"
            text = (f"Hello {user.name},\n\nSomeone asked to reset your ComputeHub password. "
                    f"Open this link within an hour to choose a new one:\n\n{link}\n\n"
                    "If it was not you, ignore this message: your password stays as it is.\n")
            try:
                await mailer_from_settings(settings.mail).send(
                    build_message(settings.mail.sender, user.email, "Reset your ComputeHub password", text))
            except Exception:  # noqa: BLE001 - a mail failure must not reveal that the account exists
                log.exception("password reset mail for user %s could not be sent", user.id)
        # The same answer whether or not the address has an account: no account probing.
        return _form("auth/forgot.html", form={}, sent=True, error=None)

    @get("/reset/{token:str}")
    async def reset_page(self, token: str) -> Template:
        return _form("auth/reset.html", token=token, error=None)

    @post("/reset/{token:str}")
    async def reset(self, request: Request, db: NamedDependency[AsyncSession], token: str, data: Form) -> Template | Redirect:
        if data.get("password", "") != data.get("password_confirm", ""):
            return _form("auth/reset.html", 400, token=token, error="The two passwords differ.")
        try:
            account = await service.reset_password(db, token, data.get("password", ""))
            await audit.record(db, audit.personal(account.id), "auth.password_reset", audit.Actor.user(account))
            await db.commit()
        except service.AccountError as exc:
            return _form("auth/reset.html", 400, token=token, error=str(exc))
        request.clear_session()
        return Redirect("/login?reset=1")


class SecurityController(Controller):
    path = "/settings/security"
    guards = [requires_login]
    opt = {"allow_unenrolled": True, "permission": "login"}  # the user's own two-factor settings
    dependencies = {"user": Provide(provide_current_user)}

    @get("/")
    async def page(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User]) -> Template:
        return await self._render(request, db, user)

    async def _render(self, request: Request, db: AsyncSession, user: User, error: str | None = None,
                      status: int = 200, new_codes: list[str] | None = None) -> Template:
        keyring = keyring_from_settings(request.app.state.settings)
        secret = None if user.totp_enabled else service.pending_totp_secret(user, keyring)
        uri = totp.provisioning_uri(secret, user.email) if secret else None
        return Template("auth/security.html", status_code=status, context={
            "user": user, "secret": secret, "error": error, "uri": uri,
            "qr_svg": totp.provisioning_qr_svg(uri) if uri else None,
            "new_codes": new_codes,
            "codes_left": await recovery_codes.remaining(db, user.id) if user.totp_enabled else 0,
            "must_enroll": bool(request.session.get("enroll_2fa")),
        })

    async def _with_code(self, request: Request, db: AsyncSession, user: User,
                         change: Callable[[], Awaitable[Any]], action: str) -> Any:
        """Run ``change`` (a service call that checks a code) under the login throttle: a stolen
        session must not be a way to guess codes without limit. Returns the error page or the result."""
        throttle = _throttle(request)
        if (wait := await throttle.retry_after(user.email)) is not None:
            return await self._render(request, db, user, locked_out_message(wait), 429)
        try:
            result = await change()
            await audit.record(db, audit.personal(user.id), action, audit.Actor.user(user))
            await db.commit()
        except service.AccountError as exc:
            if isinstance(exc, service.WrongCode):
                await throttle.record_failure(user.email)
            return await self._render(request, db, user, str(exc), 400)
        return result

    @post("/totp/begin")
    async def begin(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User]) -> Template:
        settings: Settings = request.app.state.settings
        if is_shared_demo(user, settings):
            # Everyone shares the demo login: one visitor's second factor would lock out the rest.
            return await self._render(request, db, user, "The shared demo account cannot turn on two-factor "
                                                         "authentication. Create your own account to use it.", 400)
        try:
            service.begin_totp(user, keyring_from_settings(settings))
        except service.AccountError as exc:
            return await self._render(request, db, user, str(exc), 400)
        await db.commit()
        return await self._render(request, db, user)

    @post("/totp/confirm")
    async def confirm(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], data: Form) -> Template:
        keyring = keyring_from_settings(request.app.state.settings)
        codes = await self._with_code(request, db, user,
                                      lambda: service.confirm_totp(db, user, keyring, data.get("code", "")), "auth.2fa_enabled")
        if isinstance(codes, Template):
            return codes
        request.set_session({**request.session, "enroll_2fa": False})
        return await self._render(request, db, user, new_codes=codes)  # shown this once, never stored

    @post("/recovery-codes")
    async def regenerate_codes(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], data: Form) -> Template:
        keyring = keyring_from_settings(request.app.state.settings)
        codes = await self._with_code(request, db, user,
                                      lambda: service.regenerate_recovery_codes(db, user, keyring, data.get("code", "")), "auth.recovery_codes_renewed")
        if isinstance(codes, Template):
            return codes
        return await self._render(request, db, user, new_codes=codes)

    @post("/totp/disable")
    async def disable(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], data: Form) -> Template | Redirect:
        keyring = keyring_from_settings(request.app.state.settings)
        failed = await self._with_code(request, db, user,
                                       lambda: service.disable_totp(db, user, keyring, data.get("code", "")), "auth.2fa_disabled")
        if isinstance(failed, Template):
            return failed
        return Redirect("/settings/security")
