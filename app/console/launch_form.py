"""Launch from an offer on the price pages: which keys can launch it, and the form -> LaunchSpec."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces import projects
from app.workspaces.scope import Owner, resolve
from app.console.bindings import BindingView, get_owned as get_owned_binding, to_view as binding_view
from app.console.errors import ConsoleError, NotFoundForUser
from app.console.instances import LaunchSpec, ensure_name_free, spec_from_offer
from app.console.templates_service import parse_disk_gb
from app.db.models import Offer, ProviderBinding
from app.services.inputs import parse_row_id
from providers.base import Provider
from providers.gpus import GPUS
from providers.registry import get_source_class

FIELDS = ("binding_id", "name", "image", "disk_gb", "ssh_public_key", "project_id")


def can_launch(source: str) -> bool:
    """Whether ComputeHub can launch this source's offers (its adapter runs instances)."""
    try:
        return issubclass(get_source_class(source), Provider)
    except Exception:  # noqa: BLE001 - an adapter that cannot load simply cannot launch
        return False


@dataclass(frozen=True)
class LaunchChoices:
    offer: Offer
    provider_name: str
    bindings: list[BindingView]
    """The user's keys for the offer's provider (the only ones that can launch it)."""
    projects: list[projects.ProjectView] = ()
    """The organization's projects the user may launch into (none in a personal workspace)."""
    project_required: bool = False
    """A member limited to projects must choose one of theirs."""

    @property
    def gpu_name(self) -> str:
        gpu = GPUS.get(self.offer.gpu_slug) if self.offer.gpu_slug else None
        return gpu.name if gpu else self.offer.gpu_raw_name


async def get_launchable_offer(session: AsyncSession, offer_id: int) -> Offer:
    offer = await session.get(Offer, offer_id)
    if offer is None or not can_launch(offer.source):
        raise NotFoundForUser("no such offer, or it cannot be launched from ComputeHub")
    return offer


async def launch_choices(session: AsyncSession, owner: Owner, offer_id: int) -> LaunchChoices:
    offer = await get_launchable_offer(session, offer_id)
    scope = await resolve(session, owner)
    rows = await session.execute(select(ProviderBinding).where(
        scope.visible(ProviderBinding), ProviderBinding.provider == offer.source,
        ProviderBinding.status != "disabled").order_by(ProviderBinding.created_at))
    return LaunchChoices(offer, get_source_class(offer.source).DISPLAY_NAME, [binding_view(r) for r in rows.scalars()],
                         await projects.list_projects(session, scope), scope.is_limited)


def default_name(offer: Offer) -> str:
    return f"{offer.gpu_slug or 'gpu'}-{secrets.token_hex(2)}"


def default_values(choices: LaunchChoices) -> dict[str, str]:
    first = choices.bindings[0] if len(choices.bindings) == 1 else None
    # The key's own project, else the only one there is to choose.
    project = first.project_id if first and first.project_id else (
        choices.projects[0].id if len(choices.projects) == 1 and choices.project_required else "")
    return {"binding_id": str(first.id if first else ""), "name": default_name(choices.offer), "image": "",
            "disk_gb": "", "ssh_public_key": "", "project_id": str(project or "")}


def kept_values(form: Mapping[str, str]) -> dict[str, str]:
    """What the user typed, to re-render the form after an error."""
    return {key: str(form.get(key, "") or "") for key in FIELDS}


async def spec_from_form(session: AsyncSession, owner: Owner, offer: Offer, form: Mapping[str, str]) -> LaunchSpec:
    binding_id = parse_row_id(form.get("binding_id"), "binding_id")
    if binding_id is None:
        raise ConsoleError("choose which of your keys launches it")
    binding = await get_owned_binding(session, owner, binding_id)  # another workspace's key: 404
    if binding.provider != offer.source:
        raise ConsoleError(f"choose a key for {get_source_class(offer.source).DISPLAY_NAME}")
    spec = spec_from_offer(
        offer, binding.id, (form.get("name") or "").strip(), image=(form.get("image") or "").strip(),
        disk_gb=parse_disk_gb(form.get("disk_gb")), ssh_public_key=(form.get("ssh_public_key") or "").strip(),
    ).validate()
    # A project from another workspace (or not one of a limited member's): 404 before anything runs.
    spec = replace(spec, project_id=await projects.assignable(session, await resolve(session, owner),
                                                              projects.parse_project_id(form.get("project_id"))))
    await ensure_name_free(session, owner, spec.name)
    return spec
