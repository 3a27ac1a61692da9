"""organization subscriptions: a subscription (and its invoices) may belong to an organization

``subscriptions.workspace_id`` (nullable, unique) names the organization a row belongs to; its
``user_id`` is then the member who subscribed it (the billing contact). So ``user_id`` is no
longer unique on its own: one PERSONAL subscription per user is a partial unique index
(``WHERE workspace_id IS NULL``, which SQLite and PostgreSQL both enforce), and one subscription
per organization is the unique ``workspace_id``. ``invoices.workspace_id`` keeps an
organization's invoices off its billing contact's personal list.

Downgrade deletes the organizations' rows (before 0023 a subscription was a person's) and
restores the plain unique ``user_id``.

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-04
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0020'
branch_labels = None
depends_on = None

PERSONAL_INDEX = 'uq_subscriptions_personal_user_id'


def upgrade() -> None:
    with op.batch_alter_table('subscriptions') as batch_op:
        batch_op.add_column(sa.Column('workspace_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_subscriptions_workspace_id_workspaces'), 'workspaces',
                                    ['workspace_id'], ['id'], ondelete='CASCADE')
        batch_op.create_unique_constraint(op.f('uq_subscriptions_workspace_id'), ['workspace_id'])
        batch_op.drop_constraint(op.f('uq_subscriptions_user_id'), type_='unique')
        batch_op.create_index(op.f('ix_subscriptions_user_id'), ['user_id'], unique=False)
    op.create_index(PERSONAL_INDEX, 'subscriptions', ['user_id'], unique=True,
                    sqlite_where=sa.text('workspace_id IS NULL'), postgresql_where=sa.text('workspace_id IS NULL'))
    with op.batch_alter_table('invoices') as batch_op:
        batch_op.add_column(sa.Column('workspace_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_invoices_workspace_id_workspaces'), 'workspaces',
                                    ['workspace_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(op.f('ix_invoices_workspace_id'), ['workspace_id'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM invoices WHERE workspace_id IS NOT NULL")
    with op.batch_alter_table('invoices') as batch_op:
        batch_op.drop_index(op.f('ix_invoices_workspace_id'))
        batch_op.drop_constraint(op.f('fk_invoices_workspace_id_workspaces'), type_='foreignkey')
        batch_op.drop_column('workspace_id')
    op.execute("DELETE FROM subscriptions WHERE workspace_id IS NOT NULL")
    op.drop_index(PERSONAL_INDEX, table_name='subscriptions')
    with op.batch_alter_table('subscriptions') as batch_op:
        batch_op.drop_index(op.f('ix_subscriptions_user_id'))
        batch_op.create_unique_constraint(op.f('uq_subscriptions_user_id'), ['user_id'])
        batch_op.drop_constraint(op.f('uq_subscriptions_workspace_id'), type_='unique')
        batch_op.drop_constraint(op.f('fk_subscriptions_workspace_id_workspaces'), type_='foreignkey')
        batch_op.drop_column('workspace_id')
