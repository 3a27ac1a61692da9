"""The console API's JSON shapes. Money is a string with 6 decimals; times are ISO 8601 UTC."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from app.console.batch import ItemResult
from app.console.bindings import BindingView
from app.console.overview import DeploymentView
from app.console.templates_service import TemplateView
from app.costs.breakdown import CostBreakdown
from app.db.models import PriceAlert

Money = Annotated[str, Meta(pattern=r"^\d+\.\d{6}$", description="USD, exact decimal as a string")]
Operation = Literal["start", "stop", "reboot", "delete"]


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.6f}"


class DeploymentOut(Struct):
    id: int
    name: str
    provider: str
    key_label: str | None
    gpu: str
    instance_type: str
    region: str
    spot: bool
    status: str
    """launching | provisioning | running | stopping | stopped | terminating | terminated | failed | unknown"""
    status_since: datetime
    price_per_hour: Money | None
    ssh_command: str | None
    last_error: str | None
    created_at: datetime
    available_actions: list[Operation]
    """What can be done now (the console's buttons); the others are refused with the reason."""
    project_id: int | None = None
    """The organization's project it is in (None: unassigned)."""

    @classmethod
    def of(cls, view: DeploymentView) -> "DeploymentOut":
        return cls(id=view.id, name=view.name, provider=view.provider, key_label=view.binding_label, gpu=view.gpu,
                   instance_type=view.instance_type, region=view.region, spot=view.spot, status=view.status,
                   status_since=view.status_since, price_per_hour=money(view.price_per_hour),
                   ssh_command=view.ssh_command, last_error=view.last_error, created_at=view.created_at,
                   available_actions=[op for op, reason in view.operations.items() if reason is None],
                   project_id=view.project_id)


class KeyOut(Struct):
    id: int
    provider: str
    label: str
    status: str
    masked_key: str
    """The key's last characters, masked: never the key."""
    needs_attention: bool
    status_message: str | None = None
    """Why the key is not verified (the last check's outcome), if it is not."""
    project_id: int | None = None

    @classmethod
    def of(cls, view: BindingView) -> "KeyOut":
        return cls(id=view.id, provider=view.provider, label=view.label, status=view.status,
                   masked_key=view.masked_key, needs_attention=view.needs_attention,
                   status_message=view.status_message, project_id=view.project_id)


class KeyIn(Struct, forbid_unknown_fields=True):
    provider: Annotated[str, Meta(min_length=1, max_length=40, description="a provider id, e.g. lambdalabs, runpod, sandbox")]
    credentials: Annotated[dict[Annotated[str, Meta(max_length=64)], Annotated[str, Meta(max_length=8192)]],
                           Meta(description="the provider's credential fields, e.g. {\"api_key\": \"...\"}")]
    label: Annotated[str, Meta(max_length=120)] = ""


class KeyRemovedOut(Struct):
    id: int
    deployments_left_without_key: int
    """Deployments still alive at the provider that no key of yours manages now (they stay listed)."""


class LaunchIn(Struct, forbid_unknown_fields=True):
    offer_id: Annotated[int, Meta(ge=1, le=2**31 - 1, description="an offer id from /api/v1/prices")]
    key_id: Annotated[int, Meta(ge=1, le=2**31 - 1, description="one of your provider keys for the offer's provider")]
    name: Annotated[str, Meta(min_length=1, max_length=63)]
    image: Annotated[str, Meta(max_length=255)] = ""
    disk_gb: Annotated[int, Meta(ge=10, le=65536)] | None = None
    ssh_public_key: Annotated[str, Meta(max_length=16384)] = ""
    project_id: Annotated[int, Meta(ge=1, le=2**31 - 1, description="one of the organization's projects")] | None = None


class DeploymentUpdate(Struct, forbid_unknown_fields=True):
    project_id: Annotated[int, Meta(ge=1, le=2**31 - 1)] | None
    """The project to move it to; null: none (a member limited to projects must name one of theirs)."""


# ---- projects ----------------------------------------------------------------------------------

class ProjectOut(Struct):
    id: int
    name: str
    created_at: datetime
    alive_deployments: int
    """Deployments not deleted: while there are any, the project cannot be deleted."""
    limited_member_ids: list[int]
    """Users limited to this project (they see only their projects' deployments, keys and templates)."""

    @classmethod
    def of(cls, view) -> "ProjectOut":
        return cls(id=view.id, name=view.name, created_at=view.created_at, alive_deployments=view.alive_instances,
                   limited_member_ids=sorted(view.member_ids))


class ProjectIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=120)]


# ---- templates ---------------------------------------------------------------------------------

TemplateName = Annotated[str, Meta(min_length=1, max_length=120)]
Image = Annotated[str, Meta(max_length=255)]
DiskGb = Annotated[int, Meta(ge=10, le=65536)]
SshKey = Annotated[str, Meta(max_length=16384)]
RowId = Annotated[int, Meta(ge=1, le=2**31 - 1)]


class ProjectChange(Struct, forbid_unknown_fields=True):
    """Either or both: a new name; exactly the members limited to the project (owners and admins
    never are). A field left out is left as it is."""
    name: Annotated[str, Meta(min_length=1, max_length=120)] | None = None
    limited_member_ids: Annotated[list[RowId], Meta(max_length=10_000)] | None = None


class TemplateOut(Struct):
    id: int
    name: str
    provider: str
    instance_type: str
    region: str
    gpu: str | None
    image: str
    disk_gb: int | None
    has_ssh_key: bool
    spot: bool
    created_at: datetime
    project_id: int | None = None

    @classmethod
    def of(cls, view: TemplateView) -> "TemplateOut":
        return cls(id=view.id, name=view.name, provider=view.provider, instance_type=view.instance_type,
                   region=view.region, gpu=view.gpu_slug, image=view.image, disk_gb=view.disk_gb,
                   has_ssh_key=view.has_ssh_key, spot=view.spot, created_at=view.created_at,
                   project_id=view.project_id)


class TemplateFromDeploymentIn(Struct, forbid_unknown_fields=True):
    name: TemplateName


class TemplateIn(Struct, forbid_unknown_fields=True):
    """A shape the provider currently offers (an offer with this type, region and market must exist)."""
    name: TemplateName
    provider: Annotated[str, Meta(min_length=1, max_length=64)]
    instance_type: Annotated[str, Meta(min_length=1, max_length=128)]
    region: Annotated[str, Meta(min_length=1, max_length=128)]
    image: Image = ""
    disk_gb: DiskGb | None = None
    ssh_public_key: SshKey = ""
    spot: bool = False
    project_id: RowId | None = None

    def form(self) -> dict[str, str]:
        return {"name": self.name, "provider": self.provider, "instance_type": self.instance_type,
                "region": self.region, "image": self.image,
                "disk_gb": "" if self.disk_gb is None else str(self.disk_gb),
                "ssh_public_key": self.ssh_public_key, "spot": "on" if self.spot else "",
                "project_id": "" if self.project_id is None else str(self.project_id)}


class TemplateUpdate(Struct, forbid_unknown_fields=True):
    """Only the fields sent change; ``disk_gb: null`` means the provider's default disk."""
    name: TemplateName | UnsetType = UNSET
    image: Image | UnsetType = UNSET
    disk_gb: DiskGb | None | UnsetType = UNSET
    ssh_public_key: SshKey | UnsetType = UNSET
    project_id: RowId | None | UnsetType = UNSET

    def changes(self) -> dict:
        return {field: getattr(self, field) for field in self.__struct_fields__ if getattr(self, field) is not UNSET}


class TemplateLaunchIn(Struct, forbid_unknown_fields=True):
    key_id: Annotated[RowId, Meta(description="one of your provider keys for the template's provider")]
    name: Annotated[str, Meta(min_length=1, max_length=63)]
    project_id: Annotated[RowId, Meta(description="default: the template's project")] | None = None


# ---- batch -------------------------------------------------------------------------------------

BatchOperation = Literal["start", "stop", "reboot", "delete"]


class BatchIn(Struct, forbid_unknown_fields=True):
    operation: BatchOperation
    ids: Annotated[list[RowId], Meta(min_length=1, max_length=100,
                                     description="deployment ids; every one must be yours (else 404, nothing runs)")]


class BatchItemOut(Struct):
    id: int
    name: str
    operation: str
    outcome: Literal["done", "skipped", "failed"]
    message: str


class BatchOut(Struct):
    operation: str
    results: list[BatchItemOut]
    failed: int

    @classmethod
    def of(cls, operation: str, results: list[ItemResult]) -> "BatchOut":
        items = [BatchItemOut(r.instance_id, r.name, r.operation, r.outcome, r.message) for r in results]
        return cls(operation, items, sum(1 for r in results if not r.ok))


# ---- costs -------------------------------------------------------------------------------------

class CostGroupOut(Struct):
    key: str
    """provider name, GPU slug ("" when not reported), deployment id, project id ("" for no project) or member
    (user) id"""
    label: str
    amount: Money


class CostsOut(Struct):
    date_from: date
    date_to: date
    """Local days in your time zone, both included."""
    time_zone: str
    provider: str | None
    gpu: str | None
    project: int | None
    member: int | None
    """The project and member (user id) filters in force, if any."""
    total: Money
    this_month: Money
    this_week: Money
    burn_per_hour: Money
    by_provider: list[CostGroupOut]
    by_gpu: list[CostGroupOut]
    by_deployment: list[CostGroupOut]
    by_project: list[CostGroupOut]
    by_member: list[CostGroupOut]
    """An organization's only (empty in a personal workspace); they add up to total, like the others."""

    @classmethod
    def of(cls, b: CostBreakdown) -> "CostsOut":
        def groups(items) -> list[CostGroupOut]:
            return [CostGroupOut(g.key, g.label, money(g.amount)) for g in items]

        return cls(date_from=b.filters.first, date_to=b.filters.last, time_zone=b.zone, provider=b.filters.provider,
                   gpu=b.filters.gpu, project=b.filters.project, member=b.filters.member, total=money(b.total), this_month=money(b.this_month),
                   this_week=money(b.this_week), burn_per_hour=money(b.burn_per_hour),
                   by_provider=groups(b.by_provider), by_gpu=groups(b.by_gpu), by_deployment=groups(b.by_deployment),
                   by_project=groups(b.by_project), by_member=groups(b.by_member))


# ---- price alerts and the budget ---------------------------------------------------------------

PriceText = Annotated[str, Meta(min_length=1, max_length=32, description="USD per GPU-hour, e.g. \"2.50\"")]


class AlertOut(Struct):
    id: int
    gpu: str
    max_price: Money
    providers: list[str]
    market: Literal["any", "on-demand", "spot"]
    description: str
    below: bool
    """The cheapest matching price is at or under max_price now (no message until it rises and drops again)."""
    created_at: datetime

    @classmethod
    def of(cls, row: PriceAlert, description: str) -> "AlertOut":
        market = {None: "any", False: "on-demand", True: "spot"}[row.spot]
        return cls(id=row.id, gpu=row.gpu, max_price=money(row.max_price), providers=[p for p in row.providers.split(",") if p],
                   market=market, description=description, below=row.below, created_at=row.created_at)


class AlertIn(Struct, forbid_unknown_fields=True):
    gpu: Annotated[str, Meta(min_length=1, max_length=64, description="e.g. H100, h100-sxm, A100 80GB")]
    max_price: PriceText
    providers: Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=64)] = []
    market: Literal["any", "on-demand", "spot"] = "any"


class BudgetOut(Struct):
    id: Literal["monthly"]
    monthly_amount: Money
    month: str
    """YYYY-MM of the workspace's budget month (a personal workspace: your time zone; an organization: UTC)"""
    spent_this_month: Money
    hard_limit: bool = False
    """At 100 %: a notice, then after ``grace_minutes`` the running instances are stopped (never deleted)."""
    grace_minutes: int = 60
    limit_in_force: bool = False
    """This month's spending has reached the hard-limited budget: launches and starts are refused."""
    workspace_id: int = 0
    """The workspace whose budget this is (the X-ComputeHub-Workspace header picks it; default: personal)."""
    thresholds: list[int] = []
    """The warning thresholds, in % of the budget (75, 90, 95)."""
    warned: list[int] = []
    """The thresholds already reached (and told) this month."""
    project_id: int | None = None
    """The project whose own budget this is (None: the workspace's)."""


class BudgetIn(Struct, forbid_unknown_fields=True):
    monthly_amount: Annotated[str, Meta(min_length=1, max_length=32, description="USD a month, e.g. \"500\"")]
    hard_limit: bool = False
    grace_minutes: Literal[15, 60, 240, 1440] = 60


class QuotasOut(Struct):
    workspace_id: int
    max_running_instances: int | None
    max_gpus: int | None
    max_hourly_spend: Money | None
    running_instances: int
    """What counts now: launching, provisioning, running, stopping or unknown instances."""
    gpus: str
    hourly_spend: Money
    can_change: bool
    """Whether your role may change the quotas (owner, admin)."""
    project_id: int | None = None
    """The project whose own quotas these are (None: the workspace's; both are checked at a launch)."""


class QuotasIn(Struct, forbid_unknown_fields=True):
    max_running_instances: Annotated[int, Meta(ge=0, le=100_000)] | None = None
    max_gpus: Annotated[int, Meta(ge=0, le=100_000)] | None = None
    max_hourly_spend: Annotated[str, Meta(min_length=1, max_length=32, description="USD an hour, e.g. \"25\"")] | None = None
