"""budgets per workspace (personal and organization), and workspace quotas

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04

``budgets``, ``budget_alerts`` and ``budget_enforcements`` were keyed by the user; they are keyed
by the workspace now: each user's rows move to their personal workspace (the one that budget
watched). The rows are read, the tables made again under their own names (so the constraint names
stay the conventional ones on both engines), and the rows written back with their stored values
as they are (money in the engine's own form). Downgrade moves personal workspaces' rows back to
their user; an organization's budget has no user to go to and is dropped with its table.
``workspace_quotas`` is new: optional limits per workspace on running instances, GPUs and $/hour.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import app.db.types


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# table -> (its columns after the key, the key's other primary-key columns)
TABLES = {
    'budgets': ('monthly_amount, hard_limit, grace_minutes', ()),
    'budget_alerts': ('month, threshold, sent_at', ('month', 'threshold')),
    'budget_enforcements': ('month, noticed_at, stop_due_at, stopped_at, stopped_count', ('month',)),
}


def _columns(table: str) -> list[sa.Column]:
    money, when = app.db.types.Money(precision=18, scale=6), app.db.types.UTCDateTime(timezone=True)
    return {
        'budgets': [sa.Column('monthly_amount', money, nullable=False),
                    sa.Column('hard_limit', sa.Boolean(), nullable=False, server_default=sa.false()),
                    sa.Column('grace_minutes', sa.Integer(), nullable=False, server_default='60')],
        'budget_alerts': [sa.Column('month', sa.String(length=7), nullable=False),
                          sa.Column('threshold', sa.Integer(), nullable=False),
                          sa.Column('sent_at', when, nullable=False)],
        'budget_enforcements': [sa.Column('month', sa.String(length=7), nullable=False),
                                sa.Column('noticed_at', when, nullable=False),
                                sa.Column('stop_due_at', when, nullable=False),
                                sa.Column('stopped_at', when, nullable=True),
                                sa.Column('stopped_count', sa.Integer(), nullable=False, server_default='0')],
    }[table]


def _rekey(key: str, referred: str, select_rows: str) -> None:
    """Make each budget table again keyed by ``key`` (a FK to ``referred``), with the rows
    ``select_rows`` yields for it (``{columns}`` and ``{table}`` filled in)."""
    bind = op.get_bind()
    for table, (columns, other_keys) in TABLES.items():
        rows = [dict(r._mapping) for r in bind.execute(sa.text(select_rows.format(columns=columns, table=table)))]
        op.drop_table(table)
        op.create_table(
            table,
            sa.Column(key, sa.Integer(), nullable=False),
            *_columns(table),
            sa.ForeignKeyConstraint([key], [f'{referred}.id'], name=op.f(f'fk_{table}_{key}_{referred}'),
                                    ondelete='CASCADE'),
            sa.PrimaryKeyConstraint(key, *other_keys, name=op.f(f'pk_{table}')),
        )
        if rows:
            names = [key, *(c.strip() for c in columns.split(','))]
            bind.execute(sa.text(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"),
                         rows)


def upgrade() -> None:
    # A user's budget watched their personal workspace: it becomes that workspace's.
    _rekey('workspace_id', 'workspaces',
           "SELECT w.id AS workspace_id, {columns} FROM {table} JOIN workspaces w ON w.personal_user_id = {table}.user_id")
    op.create_table(
        'workspace_quotas',
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('max_running_instances', sa.Integer(), nullable=True),
        sa.Column('max_gpus', sa.Integer(), nullable=True),
        sa.Column('max_hourly_spend', app.db.types.Money(precision=18, scale=6), nullable=True),
        sa.Column('checks', sa.Integer(), nullable=False, server_default='0'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_workspace_quotas_workspace_id_workspaces'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('workspace_id', name=op.f('pk_workspace_quotas')),
    )


def downgrade() -> None:
    op.drop_table('workspace_quotas')
    _rekey('user_id', 'users',
           "SELECT w.personal_user_id AS user_id, {columns} FROM {table} "
           "JOIN workspaces w ON w.id = {table}.workspace_id WHERE w.personal_user_id IS NOT NULL")
