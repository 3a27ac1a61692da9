"""migrations: a deployment moved to another offer (state machine and step log), the workspace's
SSH key and its bound buckets

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import app.db.types


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, app.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'migrations',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('workspace_id', sa.Integer(), sa.ForeignKey('workspaces.id', ondelete='CASCADE'), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('source_instance_id', sa.Integer(), sa.ForeignKey('instances.id', ondelete='SET NULL'), nullable=True),
        sa.Column('active_source_id', sa.Integer(), nullable=True),
        sa.Column('source_was_running', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('target_binding_id', sa.Integer(), sa.ForeignKey('provider_bindings.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('target_provider', sa.String(length=64), nullable=False),
        sa.Column('target_instance_type', sa.String(length=255), nullable=False),
        sa.Column('target_region', sa.String(length=128), nullable=False),
        sa.Column('target_spot', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('target_price_per_hour', app.db.types.Money(), nullable=True),
        sa.Column('target_client_token', sa.String(length=64), nullable=False),
        sa.Column('target_instance_id', sa.Integer(), sa.ForeignKey('instances.id', ondelete='SET NULL'), nullable=True),
        sa.Column('state', sa.String(length=24), nullable=False),
        sa.Column('paths', sa.Text(), nullable=False, server_default='[]'),
        sa.Column('bucket_name', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('manifest', sa.Text(), nullable=True),
        sa.Column('rollback_window_seconds', sa.Integer(), nullable=False, server_default='86400'),
        _time('rollback_until'), _time('verified_at'), _time('switched_at'), _time('source_deleted_at'),
        sa.Column('identity', sa.Text(), nullable=True),
        sa.Column('rollback_reason', sa.Text(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('step_attempts', sa.Integer(), nullable=False, server_default='0'),
        _time('step_deadline'), _time('wake_at'),
        sa.Column('lease_token', sa.String(length=64), nullable=True),
        _time('lease_until'),
        _time('created_at', False), _time('updated_at', False), _time('finished_at'),
        # named, so SQLite reflects it like the model's (an inline UNIQUE has no name there)
        sa.UniqueConstraint('active_source_id', name=op.f('uq_migrations_active_source_id')),
    )
    op.create_index('ix_migrations_workspace', 'migrations', ['workspace_id', 'created_at'])
    op.create_index('ix_migrations_due', 'migrations', ['state', 'wake_at'])
    op.create_table(
        'migration_steps',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('migration_id', sa.Integer(), sa.ForeignKey('migrations.id', ondelete='CASCADE'), nullable=False),
        sa.Column('state', sa.String(length=24), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False, server_default='1'),
        _time('started_at', False), _time('finished_at'),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('log', sa.Text(), nullable=False, server_default=''),
    )
    op.create_index('ix_migration_steps_migration', 'migration_steps', ['migration_id', 'id'])
    op.create_table(
        'workspace_ssh_keys',
        sa.Column('workspace_id', sa.Integer(), sa.ForeignKey('workspaces.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('workspace_key', sa.String(length=32), nullable=False),
        sa.Column('public_key', sa.Text(), nullable=False),
        sa.Column('private_key_encrypted', sa.Text(), nullable=False),
        _time('created_at', False),
    )
    op.create_table(
        'migration_buckets',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('workspace_id', sa.Integer(), sa.ForeignKey('workspaces.id', ondelete='CASCADE'), nullable=False),
        sa.Column('workspace_key', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('settings', sa.Text(), nullable=False),
        sa.Column('credentials_encrypted', sa.Text(), nullable=False),
        _time('created_at', False),
        sa.UniqueConstraint('workspace_id', 'name', name='uq_migration_buckets_name'),
    )


def downgrade() -> None:
    op.drop_table('migration_buckets')
    op.drop_table('workspace_ssh_keys')
    op.drop_index('ix_migration_steps_migration', table_name='migration_steps')
    op.drop_table('migration_steps')
    op.drop_index('ix_migrations_due', table_name='migrations')
    op.drop_index('ix_migrations_workspace', table_name='migrations')
    op.drop_table('migrations')
