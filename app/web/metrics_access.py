"""Who may read /metrics: a bearer token (COMPUTEHUB_METRICS_TOKEN) or an allow-listed client
network (COMPUTEHUB_METRICS_ALLOW). With neither configured /metrics answers 404 to everyone:
behind a reverse proxy every request comes from the proxy's address, so "loopback only" would
quietly mean "everyone".
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from litestar import Request, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusController

from app.settings import Settings
from app.web.client_address import client_address

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"COMPUTEHUB_METRICS_ALLOW: {entry!r} is not an IP address or CIDR network") from None
    return tuple(networks)


class MetricsAccess:
    def __init__(self, token: str, allow: Iterable[str]) -> None:
        self.token = token
        self.networks = parse_networks(allow)

    @classmethod
    def from_settings(cls, settings: Settings) -> MetricsAccess:
        return cls(settings.web.metrics_token, settings.web.metrics_allow)

    @property
    def configured(self) -> bool:
        return bool(self.token or self.networks)

    def _token_matches(self, authorization: str | None) -> bool:
        scheme, _, presented = (authorization or "").partition(" ")
        return (bool(self.token) and scheme.lower() == "bearer"
                and hmac.compare_digest(presented.strip().encode(), self.token.encode()))

    def _address_allowed(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def allows(self, authorization: str | None, address: str | None) -> bool:
        return self._token_matches(authorization) or self._address_allowed(address)


def metrics_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    access: MetricsAccess = connection.app.state.metrics_access
    if not access.configured:
        raise NotFoundException()
    if not access.allows(connection.headers.get("authorization"), client_address(connection)):
        raise PermissionDeniedException("a valid metrics token or an allow-listed address is required")


class MetricsController(PrometheusController):
    guards = [metrics_guard]
    opt = {"permission": "public"}  # no login: metrics_guard checks its own token and addresses
    include_in_schema = False

    @get()
    async def get(self, request: Request) -> Response:
        # The queue's depth is read now, from the queue: every web process reports the same numbers.
        from app.jobs.metrics import refresh_queue_depth

        state = request.app.state
        await refresh_queue_depth(state.sessions, state.engine.dialect.name == "postgresql")
        return await super().get.fn(self)
