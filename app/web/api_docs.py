"""The API docs page at /schema: rendered on the server from the OpenAPI document, like every other
page (no Redoc or Swagger bundle from a CDN, no script at all). The machine-readable document stays at
/schema/openapi.json."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from app.auth.csrf import CSRF_FIELD

METHODS = ("get", "post", "put", "patch", "delete")
DOCUMENTED_PREFIXES = ("/api/",)
"""The JSON API: the only routes in the document (app/api/routes.py), checked here once more."""


def _type_of(schema: dict[str, Any]) -> str:
    """A short, readable type: ``integer``, ``string (date)``, ``one of spot, on-demand``."""
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if "oneOf" in schema or "anyOf" in schema:
        kinds = [_type_of(s) for s in schema.get("oneOf", schema.get("anyOf", [])) if s.get("type") != "null"]
        return " or ".join(dict.fromkeys(kinds)) or "any"
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    bounds = [f"≥ {schema['minimum']}" if "minimum" in schema else "", f"≤ {schema['maximum']}" if "maximum" in schema else ""]
    extra = ", ".join(b for b in [schema.get("format", ""), *bounds] if b)
    return f"{kind} ({extra})" if extra else str(kind)


def operations(openapi_schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The documented operations in path order, shaped for the template."""
    found = []
    for path, item in sorted(openapi_schema.get("paths", {}).items()):
        if not path.startswith(DOCUMENTED_PREFIXES):
            continue
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            found.append({
                "method": method.upper(), "path": path, "id": operation.get("operationId", f"{method}-{path}"),
                "summary": operation.get("summary") or "", "description": operation.get("description") or "",
                "parameters": [{"name": p["name"], "in": p.get("in", ""), "required": p.get("required", False),
                                "type": _type_of(p.get("schema", {})), "description": p.get("description") or ""}
                               for p in operation.get("parameters", [])],
                "responses": sorted(operation.get("responses", {})),
            })
    return found


class ApiDocsPlugin(OpenAPIRenderPlugin):
    def __init__(self) -> None:
        super().__init__(path="/")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        template = request.app.template_engine.get_template("api_docs.html")
        # The page shares the site's header (log-out form included), rendered here rather than by a
        # Template response: so the form field is built the way Litestar builds ``csrf_input``.
        token = ScopeState.from_scope(request.scope).csrf_token or ""
        csrf_input = Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)
        return template.render(
            request=request, csrf_input=csrf_input, info=openapi_schema.get("info", {}), operations=operations(openapi_schema),
            spec_url=f"{request.app.openapi_config.path}/openapi.json",
        ).encode()
