"""budgets: an optional hard limit (stop, never delete, after a notice and a grace period)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import app.db.types


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hard_limit', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('grace_minutes', sa.Integer(), nullable=False, server_default='60'))
    # One row per user and local month in which spending reached a hard-limited budget: the notice
    # (once), when the stop is due, and when the running instances were stopped (once).
    op.create_table(
        'budget_enforcements',
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('noticed_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('stop_due_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('stopped_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('stopped_count', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('user_id', 'month'),
    )


def downgrade() -> None:
    op.drop_table('budget_enforcements')
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.drop_column('grace_minutes')
        batch_op.drop_column('hard_limit')
