"""Who calls the console API: an ``Authorization: Bearer chk_…`` token, never a browser session
(the API takes no CSRF token, so a session cookie must not be enough to change anything)."""

from __future__ import annotations

from dataclasses import replace

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.origin import Origin, current_origin
from app.billing.entitlements import ensure_feature
from app.auth import api_tokens
from app.db.models import User
from app.workspaces.current import scope_for
from app.workspaces.scope import NotAMember, Scope, membership

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="computehub console API"'}
TOKEN_KEY = "computehub_api_token"
SAFE = ("GET", "HEAD", "OPTIONS")


async def provide_api_user(request: Request, db: AsyncSession) -> User:
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise NotAuthorizedException("send an API token: Authorization: Bearer chk_… (make one at /settings/api-tokens)",
                                     headers=CHALLENGE)
    found = await api_tokens.authenticate(db, presented.strip())
    if found is None:
        raise NotAuthorizedException("this API token is unknown, revoked or expired", headers=CHALLENGE)
    await db.commit()  # last_used_at; and no transaction stays open into a provider call
    if request.method not in SAFE and not found.token.can_write:
        raise PermissionDeniedException("this API token is read-only: make one that may also change deployments")
    request.scope[TOKEN_KEY] = found.token.id
    # What the handler records in the audit log says it came through this token.
    current_origin.set(replace(current_origin.get() or Origin(), via=f"api token {found.token.prefix}"))
    return found.user


async def require_feature_for(request: Request, db: AsyncSession, user: User, feature: str) -> None:
    """The plan check the page's ``require_feature`` guard makes, for the token's owner: 403 naming the plan."""
    await ensure_feature(db, user.id, feature, request.app.state.settings.billing.grace_days)


WORKSPACE_HEADER = "x-computehub-workspace"


async def provide_api_scope(request: Request, db: AsyncSession, api_user: User) -> Scope:
    """A token is its user's: it acts in their personal workspace, or in the organization the
    ``X-ComputeHub-Workspace`` header names, with the role they hold there (a workspace they are
    not in: 404, like any other id)."""
    chosen = request.headers.get(WORKSPACE_HEADER)
    if chosen:
        try:
            return await membership(db, api_user.id, int(chosen))
        except ValueError:
            raise NotAMember() from None
    return await scope_for(db, api_user.id, None)
