"""node pools: a pool's spec, its nodes (console instances), its events, and the provider-regions
a workspace's pools skip for a while

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import app.db.types


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, app.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'node_pools',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('workspace_id', sa.Integer(), sa.ForeignKey('workspaces.id', ondelete='CASCADE'), nullable=False),
        sa.Column('project_id', sa.Integer(), sa.ForeignKey('projects.id', ondelete='SET NULL'), nullable=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('name', sa.String(length=48), nullable=False),
        sa.Column('gpu', sa.String(length=64), nullable=False),
        sa.Column('gpus_per_node', sa.Integer(), nullable=False),
        sa.Column('min_nodes', sa.Integer(), nullable=False),
        sa.Column('target_nodes', sa.Integer(), nullable=False),
        sa.Column('max_nodes', sa.Integer(), nullable=False),
        sa.Column('max_price_per_gpu_hour', app.db.types.Money(), nullable=False),
        sa.Column('spot_policy', sa.String(length=16), nullable=False),
        sa.Column('allowed_providers', sa.Text(), nullable=False),
        sa.Column('allowed_regions', sa.Text(), nullable=False),
        sa.Column('template_id', sa.Integer(), sa.ForeignKey('deployment_templates.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('image', sa.String(length=255), nullable=False),
        sa.Column('disk_gb', sa.Integer(), nullable=True),
        sa.Column('startup_script', sa.Text(), nullable=False),
        sa.Column('health_check_url', sa.String(length=512), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        _time('created_at', False), _time('updated_at', False), _time('reconciled_at'),
        sa.UniqueConstraint('workspace_id', 'name', name=op.f('uq_node_pools_workspace_id_name')),
    )
    op.create_index('ix_node_pools_project_id', 'node_pools', ['project_id'])
    op.create_table(
        'node_pool_nodes',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('pool_id', sa.Integer(), sa.ForeignKey('node_pools.id', ondelete='CASCADE'), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('instances.id', ondelete='SET NULL'), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('price_per_gpu_hour', app.db.types.Money(), nullable=False),
        _time('created_at', False), _time('ended_at'),
        sa.UniqueConstraint('instance_id', name=op.f('uq_node_pool_nodes_instance_id')),
    )
    op.create_index('ix_node_pool_nodes_pool_state', 'node_pool_nodes', ['pool_id', 'state'])
    op.create_table(
        'node_pool_events',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('pool_id', sa.Integer(), sa.ForeignKey('node_pools.id', ondelete='CASCADE'), nullable=False),
        _time('at', False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('provider', sa.String(length=64), nullable=True),
        sa.Column('region', sa.String(length=128), nullable=True),
    )
    op.create_index('ix_node_pool_events_pool_at', 'node_pool_events', ['pool_id', 'at'])
    op.create_table(
        'node_pool_blocks',
        sa.Column('workspace_id', sa.Integer(), sa.ForeignKey('workspaces.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('provider', sa.String(length=64), primary_key=True),
        sa.Column('region', sa.String(length=128), primary_key=True),
        _time('until', False),
        sa.Column('reason', sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('node_pool_blocks')
    op.drop_index('ix_node_pool_events_pool_at', table_name='node_pool_events')
    op.drop_table('node_pool_events')
    op.drop_index('ix_node_pool_nodes_pool_state', table_name='node_pool_nodes')
    op.drop_table('node_pool_nodes')
    op.drop_index('ix_node_pools_project_id', table_name='node_pools')
    op.drop_table('node_pools')
