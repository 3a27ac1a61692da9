"""Recorded provider responses: ``tests/fixtures/<source>/scenarios.json`` -> respx routes.

A scenario lists routes ``{method, url, file|json|text, status?, headers?}``; a query string in
``url`` is matched as a subset of the request's parameters. Routes are registered in the listed
order and respx takes the first that matches, so list the most specific first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import respx

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass
class Scenario:
    source: str
    name: str
    spec: dict[str, Any]

    @property
    def routes(self) -> list[dict[str, Any]]:
        return self.spec.get("routes", [])

    @property
    def expect(self) -> dict[str, Any]:
        return self.spec.get("expect", {})


def load_scenarios(source: str) -> dict[str, Scenario]:
    path = FIXTURES / source / "scenarios.json"
    data = json.loads(path.read_text())
    return {name: Scenario(source, name, spec) for name, spec in data.items()}


def fixture_bytes(source: str, filename: str) -> bytes:
    return (FIXTURES / source / filename).read_bytes()


def _pattern(router: respx.Router, method: str, url: str) -> respx.Route:
    parts = urlsplit(url)
    kw: dict[str, Any] = {"method": method, "scheme": parts.scheme, "host": parts.hostname, "path": parts.path}
    if parts.port:
        kw["port"] = parts.port
    if parts.query:
        kw["params__contains"] = dict(parse_qsl(parts.query, keep_blank_values=True))
    return router.route(**kw)


def response_for(source: str, route: dict[str, Any]) -> httpx.Response:
    headers = dict(route.get("headers", {}))
    status = route.get("status", 200)
    if "file" in route:
        content = fixture_bytes(source, route["file"])
        headers.setdefault("content-type", "application/json")
        return httpx.Response(status, content=content, headers=headers)
    if "json" in route:
        return httpx.Response(status, json=route["json"], headers=headers)
    return httpx.Response(status, text=route.get("text", ""), headers=headers)


def mount(router: respx.Router, scenario: Scenario) -> list[respx.Route]:
    mounted = []
    for spec in scenario.routes:
        route = _pattern(router, spec["method"], spec["url"])
        route.return_value = response_for(scenario.source, spec)
        mounted.append(route)
    return mounted


def mount_failure(router: respx.Router, scenario: Scenario, *, response=None, side_effect=None) -> None:
    """The normal scenario's routes, every one answering with the same failure."""
    for spec in scenario.routes:
        route = _pattern(router, spec["method"], spec["url"])
        if side_effect is not None:
            route.side_effect = side_effect
        else:
            route.return_value = response
