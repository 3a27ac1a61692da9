"""The shape the REST provider adapters repeat, once: a raw-HTTP client built from the
credentials, list/get through one body parser, an idempotent delete, a cheap key check.

An adapter names its client and parser and writes only what is its own (create, the optional
start/stop/reboot). Its client must offer ``instances()`` (a list of bodies),
``instance(id)`` (one body) and ``delete_instance(id)``.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import replace
from typing import Any, Protocol

from providers.base import Instance, LaunchRequest, Provider, already_gone_is_success


class InstanceClient(Protocol):
    async def instances(self) -> list: ...
    async def instance(self, instance_id: str) -> Any: ...
    async def delete_instance(self, instance_id: str) -> None: ...


class RestProvider(Provider):
    @abstractmethod
    def make_client(self) -> InstanceClient:
        """The adapter's raw-HTTP client over ``self.http`` and ``self.credentials``."""

    @abstractmethod
    def parse_instance(self, body: Any) -> Instance:
        """One instance body as the provider documents it -> our Instance (``BadResponse`` if unusable)."""

    @property
    def client(self) -> Any:
        return self.make_client()

    async def list_instances(self) -> list[Instance]:
        return [self.parse_instance(body) for body in await self.client.instances()]

    async def get_instance(self, instance_id: str) -> Instance:
        return self.parse_instance(await self.client.instance(instance_id))

    async def terminate_instance(self, instance_id: str) -> None:
        await already_gone_is_success(self.client.delete_instance(instance_id))

    async def verify_credentials(self) -> None:
        await self.client.instances()  # the cheapest authenticated call; 401/403 -> InvalidCredentials


def as_launched(instance: Instance, request: LaunchRequest) -> Instance:
    """A create answer completed with what we asked for: a provider that tags the instance just
    after creating it may not list the token (or the name) in that first answer yet."""
    return replace(instance, name=instance.name or request.name,
                   client_token=instance.client_token or request.client_token)
