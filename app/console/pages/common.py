"""What the console's page handlers share: the guard, the current user, forms, the key ring,
an HTTP client for provider calls, and the template context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from litestar import Request
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from app.auth.session import provide_current_user, requires_login
from app.billing.locked import load_locked_features
from app.console.overview import since_label
from app.security.keyring import Keyring, keyring_from_settings
from app.web.formatting import HELPERS
from app.workspaces.access import require_permission
from app.workspaces.current import load_workspaces, provide_scope
from providers.http import new_client

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
# require_permission last: each handler's declared permission (app/workspaces/access.py), in the
# workspace the request acts in, before the handler runs.
CONSOLE_GUARDS = [requires_login, load_locked_features, load_workspaces, require_permission]
CONSOLE_DEPENDENCIES = {"user": Provide(provide_current_user), "workspace": Provide(provide_scope)}


def keyring(request: Request) -> Keyring:
    return keyring_from_settings(request.app.state.settings)


@asynccontextmanager
async def provider_http(request: Request) -> AsyncIterator[httpx.AsyncClient]:
    """A client for provider calls, open only for this request (calls are rare and short)."""
    async with new_client(timeout=request.app.state.settings.polling.timeout_seconds) as http:
        yield http


def form_list(form: dict[str, Any], key: str) -> list[str]:
    """A repeated form field (checkboxes) as a list, whether one or several were sent."""
    value = form.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def form_text(form: dict[str, Any], key: str) -> str:
    value = form.get(key, "")
    if isinstance(value, list):  # a field sent twice: keep the last, like a browser form would
        value = value[-1] if value else ""
    return str(value)


def page(template: str, status: int = 200, **context: Any) -> Template:
    return Template(template, status_code=status, context={**HELPERS, "since": since_label, **context})
