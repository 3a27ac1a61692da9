"""offers converted from another currency: original amount, currency and the ECB rate used

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import app.db.types


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('original_price_per_hour', app.db.types.Money(precision=18, scale=6), nullable=True))
        batch_op.add_column(sa.Column('fx_usd_per_unit', app.db.types.Money(precision=18, scale=6), nullable=True))
        batch_op.add_column(sa.Column('fx_rate_date', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_column('fx_rate_date')
        batch_op.drop_column('fx_usd_per_unit')
        batch_op.drop_column('original_price_per_hour')
        batch_op.drop_column('original_currency')
