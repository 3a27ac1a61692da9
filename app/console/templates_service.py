"""Deployment templates: a saved launch (provider, shape, region, image, disk, SSH key), owned
by one user, created from a form or from an existing deployment, and launched again by name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.console.bindings import get_owned as get_owned_binding, provider_class
from app.console.errors import ConsoleError, NotFoundForUser
from app.console.instances import LaunchSpec, ensure_name_free, get_owned as get_owned_instance, same_name
from app.console.overview import provider_display_name
from app.workspaces import projects
from app.workspaces.scope import Owner, Scope, resolve
from app.db.models import DeploymentTemplate, Offer
from app.db.types import utcnow
from providers.registry import UnknownSource

MAX_NAME = 120


@dataclass(frozen=True)
class TemplateView:
    id: int
    name: str
    provider: str
    provider_name: str
    instance_type: str
    region: str
    gpu_slug: str | None
    image: str
    disk_gb: int | None
    has_ssh_key: bool
    spot: bool
    created_at: datetime
    project_id: int | None = None


def to_view(row: DeploymentTemplate) -> TemplateView:
    return TemplateView(
        id=row.id, name=row.name, provider=row.provider, provider_name=provider_display_name(row.provider),
        instance_type=row.instance_type, region=row.region, gpu_slug=row.gpu_slug, image=row.image,
        disk_gb=row.disk_gb, has_ssh_key=bool(row.ssh_public_key), spot=row.spot, created_at=row.created_at,
        project_id=row.project_id,
    )


def parse_disk_gb(value: str | int | None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConsoleError("disk size must be a whole number of GB") from None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "on", "yes")


async def _find_offer(session: AsyncSession, provider: str, instance_type: str, region: str, spot: bool) -> Offer | None:
    rows = await session.execute(select(Offer).where(
        Offer.source == provider, Offer.instance_type == instance_type, Offer.region == region, Offer.spot == spot))
    return rows.scalars().first()


async def _check_name(session: AsyncSession, scope: Scope, name: str, renaming: int | None = None) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise ConsoleError(f"give the template a name of up to {MAX_NAME} characters")
    taken = await session.execute(select(func.count()).select_from(DeploymentTemplate).where(
        DeploymentTemplate.workspace_id == scope.workspace_id, same_name(DeploymentTemplate.name, name),
        DeploymentTemplate.id != (renaming or 0)))
    if taken.scalar_one():
        raise ConsoleError(f"you already have a template named {name!r}")
    return name


def _check_launch_fields(instance_type: str, region: str, image: str, disk_gb: int | None, ssh_key: str) -> None:
    # The same rules as a launch, so a saved template can always be launched.
    LaunchSpec(binding_id=0, name="template", instance_type=instance_type, region=region, image=image,
               disk_gb=disk_gb, ssh_public_key=ssh_key).validate()


async def _audit_template(session: AsyncSession, scope: Scope, action: str, row: DeploymentTemplate,
                          **values) -> None:
    await audit.record(session, scope.audit_key, action, await audit.actor_for(session, scope.user_id),
                       target_type="template", target_id=row.id, **values)


def _template_fields(row: DeploymentTemplate) -> dict:
    return {"name": row.name, "provider": row.provider, "instance_type": row.instance_type, "region": row.region,
            "image": row.image, "disk_gb": row.disk_gb, "spot": row.spot, "project": row.project_id}


async def create_template(session: AsyncSession, owner: Owner, form: Mapping[str, str]) -> DeploymentTemplate:
    """From the form: the shape must be one the provider currently offers."""
    scope = await resolve(session, owner)
    scope.require("manage_templates")
    provider = (form.get("provider") or "").strip()
    try:
        cls = provider_class(provider)
    except UnknownSource:
        raise ConsoleError("choose a provider from the list") from None
    instance_type = (form.get("instance_type") or "").strip()
    region = (form.get("region") or "").strip()
    image = (form.get("image") or "").strip()
    ssh_key = (form.get("ssh_public_key") or "").strip()
    spot = _truthy(form.get("spot"))
    disk_gb = parse_disk_gb(form.get("disk_gb"))
    _check_launch_fields(instance_type, region, image, disk_gb, ssh_key)
    project_id = await projects.assignable(session, scope, projects.parse_project_id(form.get("project_id")))
    offer = await _find_offer(session, provider, instance_type, region, spot)
    if offer is None:
        market = "spot" if spot else "on-demand"
        raise ConsoleError(f"{cls.DISPLAY_NAME} has no {market} offer {instance_type!r} in {region!r}")
    row = DeploymentTemplate(
        workspace_id=scope.workspace_id, user_id=scope.user_id,
        name=await _check_name(session, scope, form.get("name", "")), provider=provider,
        instance_type=instance_type, region=region, gpu_slug=offer.gpu_slug, image=image, disk_gb=disk_gb,
        ssh_public_key=ssh_key, spot=spot, project_id=project_id, created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    await _audit_template(session, scope, "template.created", row, after=_template_fields(row))
    return row


async def save_from_instance(session: AsyncSession, owner: Owner, instance_id: int, name: str) -> DeploymentTemplate:
    scope = await resolve(session, owner)
    instance = await get_owned_instance(session, scope, instance_id)
    scope.require("manage_templates")
    if not instance.instance_type or not instance.region:
        raise ConsoleError("the provider did not report this deployment's shape and region; create the template by hand")
    row = DeploymentTemplate(
        workspace_id=scope.workspace_id, user_id=scope.user_id, name=await _check_name(session, scope, name),
        provider=instance.provider,
        instance_type=instance.instance_type, region=instance.region, gpu_slug=instance.gpu_slug,
        image=instance.image, disk_gb=instance.disk_gb, ssh_public_key=instance.ssh_public_key, spot=instance.spot,
        project_id=instance.project_id, created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    await _audit_template(session, scope, "template.created", row, after=_template_fields(row))
    return row


async def list_templates(session: AsyncSession, owner: Owner) -> list[TemplateView]:
    scope = await resolve(session, owner)
    rows = await session.execute(select(DeploymentTemplate).where(scope.visible(DeploymentTemplate))
                                 .order_by(DeploymentTemplate.name))
    return [to_view(r) for r in rows.scalars()]


async def get_owned(session: AsyncSession, owner: Owner, template_id: int) -> DeploymentTemplate:
    scope = await resolve(session, owner)
    row = await session.get(DeploymentTemplate, template_id)
    if row is None or not scope.sees(row):  # another workspace's, or another project's for a limited member
        raise NotFoundForUser("no such template")
    return row


UPDATABLE = ("name", "image", "disk_gb", "ssh_public_key", "project_id")


async def update_template(session: AsyncSession, owner: Owner, template_id: int, changes: Mapping) -> DeploymentTemplate:
    """Change what a launch from it sets up (name, image, disk, SSH key); its shape stays, as it was
    checked against the provider's offers. Checked by the same rules as a launch; the caller commits."""
    scope = await resolve(session, owner)
    row = await get_owned(session, scope, template_id)
    scope.require("manage_templates")
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ConsoleError(f"a template's {sorted(unknown)[0]} cannot be changed: make a new template")
    before = _template_fields(row)
    name = await _check_name(session, scope, changes["name"], renaming=row.id) if "name" in changes else row.name
    image = (changes.get("image", row.image) or "").strip()
    disk_gb = parse_disk_gb(changes["disk_gb"]) if "disk_gb" in changes else row.disk_gb
    ssh_key = (changes.get("ssh_public_key", row.ssh_public_key) or "").strip()
    _check_launch_fields(row.instance_type, row.region, image, disk_gb, ssh_key)
    project_id = await projects.assignable(session, scope, changes["project_id"]) if "project_id" in changes \
        else row.project_id
    old_key = row.ssh_public_key or ""
    row.name, row.image, row.disk_gb, row.ssh_public_key = name, image, disk_gb, ssh_key
    row.project_id = project_id
    await session.flush()
    # The SSH key itself stays out of the audit log: whether there is one, and that it changed, is what matters.
    if _template_fields(row) != before or ssh_key != old_key:  # nothing changed: nothing to record
        await _audit_template(session, scope, "template.updated", row, before={**before, "has_ssh_key": bool(old_key)},
                              after={**_template_fields(row), "has_ssh_key": bool(ssh_key),
                                     "ssh_key_changed": ssh_key != old_key})
    return row


async def delete_template(session: AsyncSession, owner: Owner, template_id: int) -> None:
    scope = await resolve(session, owner)
    row = await get_owned(session, scope, template_id)
    scope.require("manage_templates")
    await _audit_template(session, scope, "template.deleted", row, before=_template_fields(row))
    await session.delete(row)


async def launch_spec(session: AsyncSession, owner: Owner, template_id: int, binding_id: int, name: str,
                      project_id: int | None = None) -> LaunchSpec:
    """The launch a template describes, on one of the workspace's keys for its provider, in
    ``project_id`` or else the template's own project."""
    scope = await resolve(session, owner)
    template = await get_owned(session, scope, template_id)
    binding = await get_owned_binding(session, scope, binding_id)
    if binding.provider != template.provider:
        raise ConsoleError(f"choose a key for {provider_display_name(template.provider)}")
    offer = await _find_offer(session, template.provider, template.instance_type, template.region, template.spot)
    spec = LaunchSpec(
        binding_id=binding.id, name=(name or "").strip(), instance_type=template.instance_type,
        region=template.region, image=template.image, disk_gb=template.disk_gb,
        ssh_public_key=template.ssh_public_key, spot=template.spot, gpu_slug=template.gpu_slug,
        gpu_raw_name=offer.gpu_raw_name if offer else "", gpu_count=offer.gpu_count if offer else Decimal(0),
        offer_price_per_hour=offer.price_per_hour if offer else None, template_id=template.id,
        project_id=await projects.assignable(session, scope, project_id or template.project_id),
    ).validate()
    await ensure_name_free(session, scope, spec.name)
    return spec
