"""organization subscriptions: a subscription (and its invoices) may belong to an organization

``subscriptions.workspace_id`` (nullable, unique) names the organization a row belongs to; its
``user_id`` is then the member who subscribed it (the billing contact). So ``user_id`` is no
longer unique on its own: one PERSONAL subscription per user is a partial unique index
(``WHERE workspace_id IS NULL``, which SQLite and PostgreSQL both enforce), and one subscription
per organization is the unique ``workspace_id``. ``invoices.workspace_id`` keeps an
organization's invoices off its billing contact's personal list.

Every organization that exists already (its plan was its owner's until now) gets the trial a new
one starts with: 14 days of Enterprise from the upgrade, its owner the billing contact, so no
organization is locked by the upgrade itself.

Downgrade deletes the organizations' rows (before 0023 a subscription was a person's) and
restores the plain unique ``user_id``.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa

import app.db.types


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

PERSONAL_INDEX = 'uq_subscriptions_personal_user_id'
TRIAL_DAYS = 14


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
    now = datetime.now(timezone.utc)
    when = app.db.types.UTCDateTime()
    op.get_bind().execute(sa.text(
        "INSERT INTO subscriptions (user_id, workspace_id, plan_code, status, current_period_end, "
        "cancel_at_period_end, trial_end, trial_used, updated_at) "
        "SELECT m.user_id, w.id, 'enterprise', 'trialing', :ends, :no, :ends, :yes, :now FROM workspaces w "
        "JOIN workspace_members m ON m.workspace_id = w.id AND m.role = 'owner' WHERE w.kind = 'organization'"
    ).bindparams(sa.bindparam('ends', now + timedelta(days=TRIAL_DAYS), type_=when),
                 sa.bindparam('now', now, type_=when), sa.bindparam('no', False, type_=sa.Boolean()),
                 sa.bindparam('yes', True, type_=sa.Boolean())))


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
