"""costs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import app.db.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cost_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('gpu_slug', sa.String(length=64), nullable=True),
    sa.Column('period_start', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('billable_seconds', sa.Integer(), nullable=False),
    sa.Column('price_per_hour', app.db.types.Money(precision=18, scale=6), nullable=False),
    sa.Column('amount', app.db.types.Money(precision=18, scale=6), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], name=op.f('fk_cost_records_instance_id_instances'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cost_records_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cost_records')),
    sa.UniqueConstraint('instance_id', 'period_start', 'price_per_hour', name=op.f('uq_cost_records_instance_id_period_start_price_per_hour'))
    )
    op.create_index('ix_cost_records_user_period', 'cost_records', ['user_id', 'period_start'], unique=False)
    with op.batch_alter_table('instances') as batch_op:
        batch_op.add_column(sa.Column('cost_accrued_until', app.db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances') as batch_op:
        batch_op.drop_column('cost_accrued_until')
    op.drop_index('ix_cost_records_user_period', table_name='cost_records')
    op.drop_table('cost_records')
