"""What each route needs, declared on the route itself, and the guard that enforces it first.

Every route handler says who may call it with ``opt={"permission": ...}`` (Litestar also takes it
as the decorator's keyword: ``@post("/x", permission="operate")``):

- a permission of ``roles.PERMISSIONS``: a workspace route; the caller's role in the workspace the
  request acts in must hold it (403 ``roles.Forbidden``; a workspace they are not in: 404);
- ``LOGIN``: any logged-in user, acting on their own account only (profile, tokens, alerts, plan);
- ``PUBLIC``: no login (price pages, the login form, webhooks and health checks, which check
  their own secrets);
- ``SITE_ADMIN``: the site's operators (``requires_admin``), never a workspace role.

The guards (``require_permission`` for pages here, ``api_access`` for the console API) read the
declaration before the handler runs; services keep their own ``Scope.require`` calls as a second
line. ``tests/workspaces/test_role_matrix.py`` reads the same declarations and calls every
workspace route as every role."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import ImproperlyConfiguredException, NotAuthorizedException
from litestar.handlers import BaseRouteHandler

from app.workspaces import roles
from app.workspaces.current import SESSION_WORKSPACE, scope_for
from app.workspaces.scope import membership

OPT = "permission"
PUBLIC = "public"
LOGIN = "login"
SITE_ADMIN = "site_admin"
NOT_WORKSPACE = (PUBLIC, LOGIN, SITE_ADMIN)
"""Declarations that name no workspace permission: the guard lets them through (other guards decide)."""
EXEMPT_FROM_TWO_FACTOR = "two_factor_exempt"
"""``opt`` flag of the one route an organization's two-factor policy must not close: leaving it."""
PATH_WORKSPACE = "workspace_id"
"""A route whose path names the workspace (``/workspaces/{workspace_id:int}``) acts in that one."""


def declared(handler: BaseRouteHandler) -> str | None:
    return handler.opt.get(OPT)


def workspace_permission(handler: BaseRouteHandler) -> str | None:
    """The roles.PERMISSIONS key the route needs, or None for a public / login / admin route. A
    route that declares nothing is a programming error: refused (500), never let through."""
    permission = declared(handler)
    if permission is None:
        raise ImproperlyConfiguredException(
            f"{handler.handler_name} ({', '.join(sorted(handler.paths))}) declares no permission: add "
            f"opt={{'permission': ...}} (a roles.PERMISSIONS key, or access.LOGIN / PUBLIC / SITE_ADMIN)")
    if permission in NOT_WORKSPACE:
        return None
    if permission not in roles.PERMISSIONS:  # a typo must never mean "allowed"
        raise ImproperlyConfiguredException(f"{handler.handler_name} declares unknown permission {permission!r}")
    return permission


async def require_permission(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Page guard (after ``requires_login`` and ``load_workspaces``): the declared permission in
    the workspace of the path, else the one chosen in the header switcher (the rules of
    ``current.provide_scope``, so the guard and the handler judge the same workspace)."""
    permission = workspace_permission(handler)
    if permission is None:
        return
    user_id = connection.session.get("uid") if connection.scope.get("session") is not None else None
    if not user_id:
        raise NotAuthorizedException("log in to continue")
    async with connection.app.state.sessions() as db:
        in_path = connection.path_params.get(PATH_WORKSPACE)
        if in_path is not None:
            scope = await membership(db, int(user_id), int(in_path),  # not a member: 404
                                     enforce_two_factor=not handler.opt.get(EXEMPT_FROM_TWO_FACTOR, False))
        else:
            scope = await scope_for(db, int(user_id), connection.session.get(SESSION_WORKSPACE))
    scope.require(permission)
