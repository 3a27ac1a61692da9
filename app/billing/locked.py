"""The answer to a feature the account's plan does not include: 403 naming the plan to upgrade to,
as JSON in the API and as a page with an upgrade link elsewhere (wired in app/web/errors.py);
and, before that, the console's controls for such a feature shown locked rather than live."""

from __future__ import annotations

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from litestar.exceptions import NotFoundException

from app.billing.entitlements import (
    BUILT_FEATURES,
    FEATURE_LABELS,
    RESOURCE_LABELS,
    FeatureLocked,
    entitlements,
    request_scope,
    workspace_entitlements,
)
from app.billing.plans import all_plans
from app.workspaces.scope import Scope, TwoFactorRequired

UPGRADE_URL = "/settings/subscription"


def feature_label(feature: str) -> str:
    if feature in RESOURCE_LABELS:
        return "More " + RESOURCE_LABELS[feature].replace("(s)", "s")
    label = FEATURE_LABELS.get(feature, feature)
    return label[:1].upper() + label[1:]


def locked_response(request: Request, exc: FeatureLocked, *, as_json: bool) -> Response:
    upgrade_url = getattr(exc, "upgrade_url", UPGRADE_URL)
    if as_json:
        return Response({"status_code": 403, "detail": exc.detail, "feature": exc.feature,
                         "plan": exc.plan_name, "upgrade_url": upgrade_url}, status_code=403)
    label = feature_label(exc.feature)
    return Template("billing/locked.html", status_code=403, context={
        "feature": exc.feature, "feature_label": label, "plan_name": exc.plan_name, "message": exc.detail,
        "upgrade_url": upgrade_url, "for_organization": upgrade_url != UPGRADE_URL,
        "title": f"{label} needs {exc.plan_name} · ComputeHub",
    })


async def locked_features(session: AsyncSession, scope: Scope | int, grace_days: int = 7) -> dict[str, str]:
    """Each built feature the plan in force in the workspace lacks (a bare user id: their personal
    one), with the name of the cheapest plan that has it."""
    if isinstance(scope, Scope):
        ents = await workspace_entitlements(session, scope, grace_days=grace_days)
    else:
        ents = await entitlements(session, scope, grace_days=grace_days)
    plans = [p for p in (await all_plans(session)).values()
             if ents.workspace_id is None or p.for_organizations]  # an organization buys its own plan only
    return {feature: next((p.name for p in plans if feature in p.features), "a higher")
            for feature in BUILT_FEATURES if not ents.has(feature)}


async def load_locked_features(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Console guard, after the login check: what the account's plan lacks goes on
    ``request.state.locked_features``, the one source the console templates read to show a
    gated control locked (naming the plan, linking to the upgrade) instead of live. The
    handlers' own gates still refuse the request itself."""
    user_id = connection.session.get("uid")
    if not user_id:
        return
    async with connection.app.state.sessions() as session:
        try:
            scope: Scope | int = await request_scope(connection, session)
        except (NotFoundException, TwoFactorRequired):
            # Not a member of the path's workspace, or kept out by its two-factor policy: the route's
            # own guard answers (404, or the policy page, except on the ways out it leaves open).
            scope = int(user_id)
        connection.state.locked_features = await locked_features(
            session, scope, connection.app.state.settings.billing.grace_days)
