"""organization invitations by e-mail, and the "members must use two-factor" policy

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04

``workspace_invitations`` holds only the SHA-256 of each invitation's token; a row is pending
while not accepted, not revoked and not expired. ``workspaces.require_two_factor`` is off for
every existing workspace.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import app.db.types


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('workspaces') as batch_op:
        batch_op.add_column(sa.Column('require_two_factor', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        'workspace_invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('invited_by', sa.Integer(), nullable=True),
        sa.Column('created_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('accepted_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('accepted_by', sa.Integer(), nullable=True),
        sa.Column('revoked_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_workspace_invitations_workspace_id_workspaces'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invited_by'], ['users.id'], name=op.f('fk_workspace_invitations_invited_by_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['accepted_by'], ['users.id'], name=op.f('fk_workspace_invitations_accepted_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workspace_invitations')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_workspace_invitations_token_hash')),
    )
    op.create_index(op.f('ix_workspace_invitations_workspace_id'), 'workspace_invitations', ['workspace_id'],
                    unique=False)


def downgrade() -> None:
    # Pending invitations are lost (their links stop working); memberships they made stay.
    op.drop_index(op.f('ix_workspace_invitations_workspace_id'), table_name='workspace_invitations')
    op.drop_table('workspace_invitations')
    with op.batch_alter_table('workspaces') as batch_op:
        batch_op.drop_column('require_two_factor')
