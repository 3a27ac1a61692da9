"""One place that turns domain errors into HTTP answers: JSON under /api, HTML pages elsewhere."""

from __future__ import annotations

import logging
from urllib.parse import quote

from litestar import Request, Response

from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, ValidationException
from litestar.response import Redirect, Template

from app.auth.session import TwoFactorEnrollmentRequired
from app.billing.entitlements import FeatureLocked
from app.billing.locked import locked_response
from app.console.errors import ConsoleError, NotFoundForUser

from app.services.inputs import BadInput, BodyTooLarge, InvalidField
from app.services.prices import InvalidQuery
from app.web.body_timeout import RequestBodyTimeout
from app.web.request_id import request_id_of
from app.workspaces.scope import TwoFactorRequired

log = logging.getLogger(__name__)
INTERNAL_ERROR = "Something went wrong on our side. We have logged it"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/schema", "/healthz", "/readyz", "/metrics")


def _wants_text(request: Request) -> bool:
    """Downloads (``/costs/export.csv``): an error must not be saved as a .csv full of HTML."""
    return request.url.path.endswith(".csv")


def plain_text(status: int, message: str) -> Response:
    return Response(f"Error {status}: {message}\n", status_code=status, media_type="text/plain; charset=utf-8",
                    headers={"Cache-Control": "no-store"})


def plain_text_error(exc: InvalidField) -> Response:
    """A download's bad filter: 400 with what is wrong, as text."""
    return plain_text(400, str(exc))


def _error(request: Request, status: int, message: str, *, request_id: str | None = None) -> Response:
    if _wants_text(request):
        return plain_text(status, message + (f" (request id {request_id})" if request_id else ""))
    if _wants_json(request):
        body = {"status_code": status, "detail": message}
        if request_id:
            body["request_id"] = request_id
        return Response(body, status_code=status)
    return Template(
        "error.html",
        context={"status": status, "message": message, "title": f"{status} · ComputeHub", "request_id": request_id},
        status_code=status,
    )


def _server_error(request: Request, exc: Exception, status: int = 500) -> Response:
    """Logged once, with the traceback and the request id the answer shows: the id is what a user
    quotes and what finds the traceback. Method and path only: no query, headers or body (secrets)."""
    request_id = request_id_of(request.scope)
    log.error("unhandled %s on %s %s (request %s)", type(exc).__name__, request.method, request.url.path,
              request_id, exc_info=exc, extra={"request_id": request_id})
    return _error(request, status, INTERNAL_ERROR, request_id=request_id)


def exception_handlers() -> dict:
    def invalid_query(request: Request, exc: InvalidField) -> Response:
        # 400 for bad input; a refusal that names a state (a quota, a spent budget) says so with 409.
        return _error(request, getattr(exc, "status_code", 400), str(exc))

    def bad_input(request: Request, exc: BadInput) -> Response:
        return _error(request, 413 if isinstance(exc, BodyTooLarge) else 400, str(exc))

    def http_exception(request: Request, exc: HTTPException) -> Response:
        if exc.status_code >= 500:
            return _server_error(request, exc, exc.status_code)
        detail = exc.detail
        if isinstance(exc, ValidationException) and exc.extra:
            parts = [f"{e.get('key', '')}: {e.get('message', '')}".strip(": ") for e in exc.extra if isinstance(e, dict)]
            detail = "; ".join(p for p in parts if p) or detail
        return _error(request, exc.status_code, detail)

    def not_found(request: Request, exc: NotFoundException) -> Response:
        return _error(request, 404, exc.detail if exc.detail != "Not Found" else "Page not found")

    def not_authorized(request: Request, exc: NotAuthorizedException) -> Response:
        if _wants_json(request):
            response = _error(request, 401, exc.detail)
            response.headers.update(exc.headers or {})  # the API token's WWW-Authenticate challenge
            return response
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/login?next={quote(target, safe='')}")

    def console_error(request: Request, exc: ConsoleError) -> Response:
        # 400 for bad input; a refusal that names a state (a quota, a spent budget) says so with 409.
        return _error(request, getattr(exc, "status_code", 400), str(exc))

    def not_found_for_user(request: Request, exc: NotFoundForUser) -> Response:
        # Another user's id answers exactly like a missing one.
        return _error(request, 404, str(exc) or "Page not found")

    def enroll_2fa(request: Request, exc: TwoFactorEnrollmentRequired) -> Response:
        if _wants_json(request):
            return _error(request, 403, exc.detail)
        return Redirect("/settings/security")

    def org_two_factor(request: Request, exc: TwoFactorRequired) -> Response:
        # An organization's policy: the page says why and links to the two-factor set-up.
        if _wants_json(request) or _wants_text(request):
            return _error(request, 403, exc.detail)
        return Template("workspaces/two_factor_required.html", status_code=403,
                        context={"organization": exc.name, "workspace_id": exc.workspace_id, "message": exc.detail})

    def feature_locked(request: Request, exc: FeatureLocked) -> Response:
        # A plan without the feature: 403 naming the plan, with the way to upgrade.
        return locked_response(request, exc, as_json=_wants_json(request))

    def body_timeout(request: Request, exc: RequestBodyTimeout) -> Response:
        response = _error(request, 408, exc.detail)
        response.headers["Connection"] = "close"  # the rest of the body may still come: do not read it
        return response

    def unhandled(request: Request, exc: Exception) -> Response:
        return _server_error(request, exc)

    return {
        Exception: unhandled,
        RequestBodyTimeout: body_timeout,
        FeatureLocked: feature_locked,
        InvalidQuery: invalid_query,
        InvalidField: invalid_query,
        BadInput: bad_input,
        NotFoundException: not_found,
        NotAuthorizedException: not_authorized,
        TwoFactorEnrollmentRequired: enroll_2fa,
        TwoFactorRequired: org_two_factor,
        ConsoleError: console_error,
        NotFoundForUser: not_found_for_user,
        HTTPException: http_exception,
    }
