"""The answer to a feature the account's plan does not include: 403 naming the plan to upgrade to,
as JSON in the API and as a page with an upgrade link elsewhere (wired in app/web/errors.py)."""

from __future__ import annotations

from litestar import Request, Response
from litestar.response import Template

from app.billing.entitlements import FEATURE_LABELS, RESOURCE_LABELS, FeatureLocked

UPGRADE_URL = "/settings/subscription"


def feature_label(feature: str) -> str:
    if feature in RESOURCE_LABELS:
        return "More " + RESOURCE_LABELS[feature].replace("(s)", "s")
    label = FEATURE_LABELS.get(feature, feature)
    return label[:1].upper() + label[1:]


def locked_response(request: Request, exc: FeatureLocked, *, as_json: bool) -> Response:
    if as_json:
        return Response({"status_code": 403, "detail": exc.detail, "feature": exc.feature,
                         "plan": exc.plan_name, "upgrade_url": UPGRADE_URL}, status_code=403)
    label = feature_label(exc.feature)
    return Template("billing/locked.html", status_code=403, context={
        "feature": exc.feature, "feature_label": label, "plan_name": exc.plan_name, "message": exc.detail,
        "title": f"{label} needs {exc.plan_name} · ComputeHub",
    })
