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
from app.billing.entitlements import ensure_feature_in
from app.auth import api_tokens
from app.db.models import User
from app.services.inputs import BadInput, parse_row_id
from app.workspaces import access
from app.workspaces.current import scope_for
from app.workspaces.scope import NotAMember, Scope, membership

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="computehub console API"'}
TOKEN_KEY = "computehub_api_token"
TOKEN_PREFIX_KEY = "computehub_api_token_prefix"
SAFE = ("GET", "HEAD", "OPTIONS")


API_USER_KEY = "computehub_api_user"
"""The token's user id, once ``api_access`` (or ``provide_api_user``) has checked the token."""


async def _authenticated_user_id(connection: ASGIConnection, db: AsyncSession) -> int:
    """The bearer token's user (401 without a valid one; 403 for a read-only token that writes),
    checked once per request: the guard and the dependency share the answer."""
    known = connection.scope.get(API_USER_KEY)
    if known is not None:
        return known
    scheme, _, presented = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise NotAuthorizedException("send an API token: Authorization: Bearer chk_… (make one at /settings/api-tokens)",
                                     headers=CHALLENGE)
    found = await api_tokens.authenticate(db, presented.strip())
    if found is None:
        raise NotAuthorizedException("this API token is unknown, revoked or expired", headers=CHALLENGE)
    await db.commit()  # last_used_at; and no transaction stays open into a provider call
    if connection.scope["method"] not in SAFE and not found.token.can_write:
        raise PermissionDeniedException("this API token is read-only: make one that may also change deployments")
    connection.scope[TOKEN_KEY] = found.token.id
    connection.scope[TOKEN_PREFIX_KEY] = found.token.prefix
    connection.scope[API_USER_KEY] = found.user.id
    return found.user.id


async def provide_api_user(request: Request, db: AsyncSession) -> User:
    user = await db.get(User, await _authenticated_user_id(request, db))
    if user is None:  # deleted between the guard and here
        raise NotAuthorizedException("this API token is unknown, revoked or expired", headers=CHALLENGE)
    # What the handler records in the audit log says it came through this token.
    current_origin.set(replace(current_origin.get() or Origin(), via=f"api token {request.scope[TOKEN_PREFIX_KEY]}"))
    return user


async def require_feature_for(request: Request, db: AsyncSession, workspace: Scope, feature: str) -> None:
    """The plan check the page's ``require_feature`` guard makes, in the workspace the token names
    (an organization's own plan there, not the token owner's): 403 naming the plan."""
    await ensure_feature_in(db, workspace, feature, request.app.state.settings.billing.grace_days)


WORKSPACE_HEADER = "x-computehub-workspace"


async def _scope_of(connection: ASGIConnection, db: AsyncSession, user_id: int) -> Scope:
    chosen = connection.headers.get(WORKSPACE_HEADER)
    if chosen:
        try:
            workspace_id = parse_row_id(chosen, WORKSPACE_HEADER)
        except BadInput:  # not an id (or past what one can be): no such workspace
            raise NotAMember() from None
        return await membership(db, user_id, workspace_id)
    return await scope_for(db, user_id, None)


async def provide_api_scope(request: Request, db: AsyncSession, api_user: User) -> Scope:
    """A token is its user's: it acts in their personal workspace, or in the organization the
    ``X-ComputeHub-Workspace`` header names, with the role they hold there (a workspace they are
    not in: 404, like any other id)."""
    return await _scope_of(request, db, api_user.id)


async def api_access(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The console API's guard: the token (401), then the route's declared permission in the
    workspace the request names (404 outside it, 403 for a role without it), before the handler
    runs. The page counterpart is ``access.require_permission``."""
    permission = access.workspace_permission(handler)
    async with connection.app.state.sessions() as db:
        user_id = await _authenticated_user_id(connection, db)
        if permission is not None:
            (await _scope_of(connection, db, user_id)).require(permission)
