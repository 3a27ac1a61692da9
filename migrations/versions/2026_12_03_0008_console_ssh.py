"""console: the SSH endpoint a provider reports for an instance (host, mapped port, login)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ssh_host', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('ssh_port', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ssh_user', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_column('ssh_user')
        batch_op.drop_column('ssh_port')
        batch_op.drop_column('ssh_host')
