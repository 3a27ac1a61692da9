"""sandbox store: the simulated cloud's accounts and instances, shared by every process

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sandbox_accounts',
    sa.Column('key_digest', sa.String(length=64), nullable=False),
    sa.Column('faults', sa.Text(), nullable=False),
    sa.Column('rng_draws', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key_digest', name=op.f('pk_sandbox_accounts'))
    )
    op.create_table('sandbox_instances',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('key_digest', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('instance_type', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('image', sa.String(length=255), nullable=False),
    sa.Column('disk_gb', sa.Integer(), nullable=False),
    sa.Column('spot', sa.Boolean(), nullable=False),
    sa.Column('client_token', sa.String(length=128), nullable=False),
    sa.Column('price_per_hour', sa.String(length=32), nullable=False),
    sa.Column('public_ip', sa.String(length=45), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('boot_fails', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['key_digest'], ['sandbox_accounts.key_digest'],
                            name=op.f('fk_sandbox_instances_key_digest_sandbox_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_instances'))
    )
    op.create_index('ix_sandbox_instances_key_digest', 'sandbox_instances', ['key_digest'], unique=False)
    op.create_index('ix_sandbox_instances_key_digest_client_token', 'sandbox_instances',
                    ['key_digest', 'client_token'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sandbox_instances_key_digest_client_token', table_name='sandbox_instances')
    op.drop_index('ix_sandbox_instances_key_digest', table_name='sandbox_instances')
    op.drop_table('sandbox_instances')
    op.drop_table('sandbox_accounts')
