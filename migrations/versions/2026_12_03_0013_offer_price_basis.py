"""offers: what a price pays for (price_basis), host CPU architecture, published boot time

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# The bases the sources declared when this revision was written (providers/*, scrapers/*
# PRICE_BASIS), frozen here so existing rows (a loaded snapshot is never re-ingested) get theirs.
# Every other registered source prices whole instances; the next poll rewrites any row anyway.
_NOT_INSTANCE = {"runpod": "gpu_only", "gcp": "gpu_only", "cudo": "smallest_vm", "tensordock": "smallest_vm"}


def upgrade() -> None:
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('price_basis', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('cpu_arch', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('boot_seconds_min', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('boot_seconds_max', sa.Integer(), nullable=True))
    offers = sa.table('offers', sa.column('source', sa.String), sa.column('price_basis', sa.String))
    for source, basis in _NOT_INSTANCE.items():
        op.execute(offers.update().where(offers.c.source == source).values(price_basis=basis))
    op.execute(offers.update().where(offers.c.price_basis.is_(None)).values(price_basis='instance'))


def downgrade() -> None:
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_column('boot_seconds_max')
        batch_op.drop_column('boot_seconds_min')
        batch_op.drop_column('cpu_arch')
        batch_op.drop_column('price_basis')
