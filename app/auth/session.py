"""Server-side sessions, CSRF, the current user, and the login guard.

Sessions live in a Litestar store: memory by default, Redis when ``COMPUTEHUB_SESSION_STORE=redis``
(docker-compose). Only the user id and login time are kept in the session.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.types import Empty
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.auth.csrf import CSRFTokens, SessionBoundCSRFMiddleware
from app.auth.throttle import throttle_store
from app.db.models import User
from app.settings import Settings

SESSION_USER = "uid"
SESSION_PENDING_2FA = "pending_2fa_uid"
SESSION_EPOCH = "epoch"
"""The account's ``session_epoch`` when the session was opened; see ``app.auth.session_validity``."""
SESSION_COOKIE = "computehub_session"


def build_stores(settings: Settings, engine: AsyncEngine) -> dict[str, Store]:
    # Login throttle counters: in Redis when configured, else in the database (never in memory:
    # they must be shared by every process and survive a restart).
    if settings.security.session_store == "redis":
        from litestar.stores.redis import RedisStore

        root = RedisStore.with_client(url=settings.security.redis_url)
        return {"sessions": root.with_namespace("sessions"), "throttle": throttle_store(settings, engine)}
    if settings.security.session_store == "database":
        # Shared by every process on the database (``computehub run --workers N`` without Redis).
        from app.db.store import DatabaseStore

        return {"sessions": DatabaseStore(engine, "sessions"), "throttle": throttle_store(settings, engine)}
    if settings.security.session_store != "memory":
        raise ValueError("COMPUTEHUB_SESSION_STORE must be memory, database or redis")
    return {"sessions": MemoryStore(), "throttle": throttle_store(settings, engine)}


_NEW_SESSION_ID = "computehub.new_session_id"


def renew_session_id(connection: ASGIConnection) -> None:
    """At login: store the session under a fresh id and drop the old one (no session fixation)."""
    connection.scope[_NEW_SESSION_ID] = True  # type: ignore[literal-required]


class _SessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions, plus: a new id on login, and nothing stored for visitors
    who have no session (crawlers would otherwise fill the store with empty sessions)."""

    def get_session_id(self, connection: ASGIConnection) -> str:
        renewed = connection.scope.get(_NEW_SESSION_ID)
        return renewed if isinstance(renewed, str) else super().get_session_id(connection)

    async def store_in_message(self, scope_session: Any, message: Any, connection: ASGIConnection) -> None:
        old_id = connection.cookies.get(self.config.key)
        if not old_id and (scope_session is Empty or not scope_session):
            return
        if scope_session is Empty:  # logged out: gone from the store, and the cookie expired at once
            await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
            MutableScopeHeaders.from_message(message).add("Set-Cookie", self._expired_cookie())
            return
        if connection.scope.get(_NEW_SESSION_ID) is True:
            if old_id:
                await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
            connection.scope[_NEW_SESSION_ID] = self.generate_session_id()  # type: ignore[literal-required]
        await super().store_in_message(scope_session, message, connection)

    def _expired_cookie(self) -> str:
        # Litestar's own deletion keeps the configured Max-Age (two weeks) next to an expiry of now.
        secure = "; Secure" if self.config.secure else ""
        return (f"{self.config.key}=; Path={self.config.path}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
                f"HttpOnly; SameSite={str(self.config.samesite).capitalize()}{secure}")


class _SessionConfig(ServerSideSessionConfig):
    _backend_class = _SessionBackend


def session_config(settings: Settings) -> ServerSideSessionConfig:
    return _SessionConfig(
        store="sessions",
        key=SESSION_COOKIE,
        max_age=settings.security.session_max_age_seconds,
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def csrf_middleware(settings: Settings) -> DefineMiddleware:
    """Goes right before the session middleware (outside it): see app/auth/csrf.py."""
    # The JSON API only reads (no cookie-authenticated writes); webhooks carry their own signatures;
    # static files, health and metrics only answer GET and render no form.
    secret = settings.security.session_secret or _local_secret(settings)
    return DefineMiddleware(SessionBoundCSRFMiddleware, tokens=CSRFTokens(secret), session_cookie=SESSION_COOKIE,
                            secure=settings.secure_cookies,
                            exclude_prefixes=("/api/", "/webhooks/", "/schema/openapi", "/static/", "/healthz", "/readyz", "/metrics"))


def _local_secret(settings: Settings) -> str:
    """Local runs: a secret kept in var/, shared by every process on this machine (the web app and a
    worker, or several uvicorn workers); production sets COMPUTEHUB_SESSION_SECRET."""
    path = settings.security.var_dir / "session.secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


def start_session(request: Request, user: User) -> None:
    """Log ``user`` in: a fresh session under a new id (no fixation), tied to the account's epoch."""
    request.clear_session()
    renew_session_id(request)
    request.set_session({SESSION_USER: user.id, SESSION_EPOCH: user.session_epoch, "is_admin": user.is_admin,
                         "enroll_2fa": user.is_admin and not user.totp_enabled})


async def provide_current_user(request: Request, db: NamedDependency[AsyncSession]) -> User | None:
    user_id = request.session.get(SESSION_USER) if request.scope.get("session") is not None else None
    if not user_id:
        return None
    return await db.get(User, int(user_id))


class TwoFactorEnrollmentRequired(PermissionDeniedException):
    """An administrator without two-factor authentication: sent to set it up first."""


def requires_login(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    if not connection.session.get(SESSION_USER):
        raise NotAuthorizedException("log in to continue")
    if connection.session.get("enroll_2fa") and not handler.opt.get("allow_unenrolled"):
        raise TwoFactorEnrollmentRequired("administrators must turn on two-factor authentication first")


def requires_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    requires_login(connection, _)
    if not connection.session.get("is_admin"):
        raise PermissionDeniedException("administrators only")
