"""price aggregation

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 11:21:33.754921
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import app.db.types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gpu_daily_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gpu_slug', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('spot', sa.Boolean(), nullable=False),
    sa.Column('min_price', app.db.types.Money(precision=18, scale=6), nullable=False),
    sa.Column('median_price', app.db.types.Money(precision=18, scale=6), nullable=False),
    sa.Column('max_price', app.db.types.Money(precision=18, scale=6), nullable=False),
    sa.Column('offer_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gpu_daily_prices')),
    sa.UniqueConstraint('gpu_slug', 'day', 'spot', name=op.f('uq_gpu_daily_prices_gpu_slug_day_spot'))
    )
    op.create_table('job_leases',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('expires_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases'))
    )
    op.create_table('offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('offer_key', sa.String(length=255), nullable=False),
    sa.Column('instance_type', sa.String(length=255), nullable=False),
    sa.Column('gpu_slug', sa.String(length=64), nullable=True),
    sa.Column('gpu_raw_name', sa.String(length=255), nullable=False),
    sa.Column('gpu_hint', sa.String(length=255), nullable=False),
    sa.Column('gpu_count', app.db.types.Money(precision=18, scale=6), nullable=False),
    sa.Column('gpu_memory_gb', sa.Integer(), nullable=True),
    sa.Column('vcpus', sa.Integer(), nullable=True),
    sa.Column('ram_gb', sa.Integer(), nullable=True),
    sa.Column('disk_gb', sa.Integer(), nullable=True),
    sa.Column('region', sa.String(length=128), nullable=False),
    sa.Column('spot', sa.Boolean(), nullable=False),
    sa.Column('price_per_hour', app.db.types.Money(precision=18, scale=6), nullable=False),
    sa.Column('price_per_gpu_hour', app.db.types.Money(precision=18, scale=6), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=True),
    sa.Column('buy_url', sa.String(length=512), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('first_seen_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('observed_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offers')),
    sa.UniqueConstraint('source', 'offer_key', name=op.f('uq_offers_source_offer_key'))
    )
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.create_index('ix_offers_gpu_price', ['gpu_slug', 'spot', 'price_per_gpu_hour'], unique=False)
        batch_op.create_index('ix_offers_price', ['price_per_gpu_hour'], unique=False)

    op.create_table('price_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('offer_key', sa.String(length=255), nullable=False),
    sa.Column('gpu_slug', sa.String(length=64), nullable=True),
    sa.Column('region', sa.String(length=128), nullable=False),
    sa.Column('spot', sa.Boolean(), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('price_per_hour', app.db.types.Money(precision=18, scale=6), nullable=False),
    sa.Column('price_per_gpu_hour', app.db.types.Money(precision=18, scale=6), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=True),
    sa.Column('observed_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_history'))
    )
    with op.batch_alter_table('price_history', schema=None) as batch_op:
        batch_op.create_index('ix_price_history_gpu_time', ['gpu_slug', 'observed_at'], unique=False)
        batch_op.create_index('ix_price_history_offer', ['source', 'offer_key', 'observed_at'], unique=False)

    op.create_table('price_sources',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_attempt_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error_retryable', sa.Boolean(), nullable=True),
    sa.Column('retry_after_until', app.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('offer_count', sa.Integer(), nullable=False),
    sa.Column('skipped_count', sa.Integer(), nullable=False),
    sa.Column('last_duration_ms', sa.Integer(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('not_configured', sa.Boolean(), nullable=False),
    sa.Column('snapshot_taken_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_price_sources'))
    )


def downgrade() -> None:
    op.drop_table('price_sources')
    with op.batch_alter_table('price_history', schema=None) as batch_op:
        batch_op.drop_index('ix_price_history_offer')
        batch_op.drop_index('ix_price_history_gpu_time')

    op.drop_table('price_history')
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_index('ix_offers_price')
        batch_op.drop_index('ix_offers_gpu_price')

    op.drop_table('offers')
    op.drop_table('job_leases')
    op.drop_table('gpu_daily_prices')
