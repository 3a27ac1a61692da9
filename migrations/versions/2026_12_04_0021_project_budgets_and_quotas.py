"""budgets and quotas per project: a project's own monthly budget (warnings, optional hard limit)
and its own quotas, checked in addition to the workspace's

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04

Four tables keyed by the project rather than a nullable ``project_id`` on ``budgets``,
``budget_alerts``, ``budget_enforcements`` and ``workspace_quotas``: those tables' primary keys
(workspace [+ month [+ threshold]]) are what make a warning, a notice and a quota lock happen once,
and a nullable column cannot join a primary key; re-keying them would mean a surrogate id, partial
unique indexes and partial ON CONFLICT targets on both engines, and copying every row. Nothing
existing is touched, so downgrade only drops the new tables (projects' budgets go with them).
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import app.db.types


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def _project(table: str) -> list:
    return [sa.Column('project_id', sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f(f'fk_{table}_project_id_projects'),
                                    ondelete='CASCADE')]


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, app.db.types.UTCDateTime(timezone=True), nullable=nullable)


def _money(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, app.db.types.Money(precision=18, scale=6), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'project_budgets', *_project('project_budgets'),
        _money('monthly_amount', False),
        sa.Column('hard_limit', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('grace_minutes', sa.Integer(), nullable=False, server_default='60'),
        sa.PrimaryKeyConstraint('project_id', name=op.f('pk_project_budgets')),
    )
    op.create_table(
        'project_budget_alerts', *_project('project_budget_alerts'),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('threshold', sa.Integer(), nullable=False),
        _when('sent_at'),
        sa.PrimaryKeyConstraint('project_id', 'month', 'threshold', name=op.f('pk_project_budget_alerts')),
    )
    op.create_table(
        'project_budget_enforcements', *_project('project_budget_enforcements'),
        sa.Column('month', sa.String(length=7), nullable=False),
        _when('noticed_at'), _when('stop_due_at'), _when('stopped_at', nullable=True),
        sa.Column('stopped_count', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('project_id', 'month', name=op.f('pk_project_budget_enforcements')),
    )
    op.create_table(
        'project_quotas', *_project('project_quotas'),
        sa.Column('max_running_instances', sa.Integer(), nullable=True),
        sa.Column('max_gpus', sa.Integer(), nullable=True),
        _money('max_hourly_spend', True),
        sa.Column('checks', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('project_id', name=op.f('pk_project_quotas')),
    )


def downgrade() -> None:
    for table in ('project_quotas', 'project_budget_enforcements', 'project_budget_alerts', 'project_budgets'):
        op.drop_table(table)
