"""Node pools (Enterprise): "keep N nodes of this GPU running, wherever they are cheapest".

A pool is a spec in an organization's workspace; its nodes are console instances (``instances``)
launched through the console's own launch path, each tied to the pool by a ``node_pool_nodes``
row written in the launch intent's transaction. ``app/pools/reconcile.py`` keeps a pool at its
target; ``node_pool_events`` is its timeline; ``node_pool_blocks`` are provider-regions a
workspace's pools skip for a while after a capacity or quota refusal."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import Money, UTCDateTime

SPOT_POLICIES = ("on_demand", "spot", "auto")
"""``auto``: spot offers first, on-demand ones when no spot offer can be had."""


class NodePool(Base):
    __tablename__ = "node_pools"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    """The project its nodes are launched in (None: unassigned)."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    """Who created it: the reconciler launches on their behalf (the audit actor is ``node-pool``)."""
    name: Mapped[str] = mapped_column(String(48))
    gpu: Mapped[str] = mapped_column(String(64))
    """A GPU family (``h100``: any variant) or a variant slug (``h100-sxm``)."""
    gpus_per_node: Mapped[int] = mapped_column(Integer)
    min_nodes: Mapped[int] = mapped_column(Integer, default=0)
    target_nodes: Mapped[int] = mapped_column(Integer)
    max_nodes: Mapped[int] = mapped_column(Integer)
    max_price_per_gpu_hour: Mapped[Decimal] = mapped_column(Money())
    spot_policy: Mapped[str] = mapped_column(String(16), default="on_demand")
    allowed_providers: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of provider names; empty: every provider the workspace has a key for."""
    allowed_regions: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of regions; empty: any region."""
    template_id: Mapped[int | None] = mapped_column(ForeignKey("deployment_templates.id", ondelete="SET NULL"))
    image: Mapped[str] = mapped_column(String(255), default="")
    disk_gb: Mapped[int | None] = mapped_column(Integer)
    startup_script: Mapped[str] = mapped_column(Text, default="")
    health_check_url: Mapped[str | None] = mapped_column(String(512))
    state: Mapped[str] = mapped_column(String(16), default="active")
    """active | deleting (its nodes are being deleted; the row goes when none is left)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PoolNode(Base):
    __tablename__ = "node_pool_nodes"
    __table_args__ = (Index("ix_node_pool_nodes_pool_state", "pool_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("node_pools.id", ondelete="CASCADE"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id", ondelete="SET NULL"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="active")
    """active (counts toward the target) | draining (its delete was asked for) | ended."""
    price_per_gpu_hour: Mapped[Decimal] = mapped_column(Money())
    """The offer's $/GPU-hour at launch (the provider's own price replaces it once reported)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PoolEvent(Base):
    __tablename__ = "node_pool_events"
    __table_args__ = (Index("ix_node_pool_events_pool_at", "pool_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("node_pools.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    """created | scaled | launched | launch_failed | blocked | node_lost | scaled_down | held | deleting"""
    message: Mapped[str] = mapped_column(Text, default="")
    instance_id: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(128))


class PoolBlock(Base):
    """A provider-region the workspace's pools skip until ``until`` (it refused for capacity or quota)."""

    __tablename__ = "node_pool_blocks"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(128), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")
