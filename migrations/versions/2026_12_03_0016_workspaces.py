"""workspaces and their members; every console object gets a workspace (personal ones from user_id)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

Each existing user gets a personal workspace (they are its owner); provider bindings, instances,
templates and cost records get ``workspace_id`` = their user's personal workspace. ``user_id``
stays on every row as "created by". The label and template-name uniqueness move from the user to
the workspace (for personal data it is the same set of rows).
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import app.db.types


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

SCOPED = ('provider_bindings', 'instances', 'deployment_templates', 'cost_records')
# (table, column) whose uniqueness moves from the user to the workspace
UNIQUE_NAME = {'provider_bindings': 'label', 'deployment_templates': 'name'}


def upgrade() -> None:
    op.create_table(
        'workspaces',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('personal_user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('personal', 'organization')", name=op.f('ck_workspaces_kind')),
        sa.ForeignKeyConstraint(['personal_user_id'], ['users.id'], name=op.f('fk_workspaces_personal_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workspaces')),
        sa.UniqueConstraint('personal_user_id', name=op.f('uq_workspaces_personal_user_id')),
    )
    op.create_table(
        'workspace_members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('created_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_workspace_members_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_workspace_members_workspace_id_workspaces'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workspace_members')),
        sa.UniqueConstraint('workspace_id', 'user_id', name=op.f('uq_workspace_members_workspace_id_user_id')),
    )
    op.create_index(op.f('ix_workspace_members_user_id'), 'workspace_members', ['user_id'], unique=False)
    op.create_index(op.f('ix_workspace_members_workspace_id'), 'workspace_members', ['workspace_id'], unique=False)

    # One personal workspace per existing user, named like the user; they own it.
    op.execute("INSERT INTO workspaces (kind, name, personal_user_id, created_at) "
               "SELECT 'personal', name, id, created_at FROM users")
    op.execute("INSERT INTO workspace_members (workspace_id, user_id, role, created_at) "
               "SELECT id, personal_user_id, 'owner', created_at FROM workspaces WHERE kind = 'personal'")

    for table in SCOPED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('workspace_id', sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET workspace_id = (SELECT w.id FROM workspaces w "
                   f"WHERE w.personal_user_id = {table}.user_id)")
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column('workspace_id', existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(op.f(f'fk_{table}_workspace_id_workspaces'), 'workspaces',
                                        ['workspace_id'], ['id'], ondelete='CASCADE')
            if table in UNIQUE_NAME:
                column = UNIQUE_NAME[table]
                batch_op.drop_constraint(op.f(f'uq_{table}_user_id_{column}'), type_='unique')
                batch_op.create_unique_constraint(op.f(f'uq_{table}_workspace_id_{column}'), ['workspace_id', column])

    op.create_index(op.f('ix_provider_bindings_workspace_id'), 'provider_bindings', ['workspace_id'], unique=False)
    op.create_index(op.f('ix_deployment_templates_workspace_id'), 'deployment_templates', ['workspace_id'],
                    unique=False)
    op.create_index('ix_instances_workspace_status', 'instances', ['workspace_id', 'status'], unique=False)
    op.create_index('ix_cost_records_workspace_period', 'cost_records', ['workspace_id', 'period_start'],
                    unique=False)


def downgrade() -> None:
    # Organization data has no user_id-only home: it goes back to whoever created each row, which
    # is what user_id ("created by") already says, so dropping the column loses no personal data.
    # An organization row named like one of its creator's own would break the (user_id, name)
    # uniqueness that comes back: it is renamed "<name> (organization row <id>)", never dropped.
    # (Organization keys were encrypted for the workspace: after a downgrade they must be re-entered.)
    for table, column in UNIQUE_NAME.items():
        op.execute(
            f"UPDATE {table} SET {column} = {column} || ' (organization row ' || CAST(id AS VARCHAR(20)) || ')' "
            f"WHERE workspace_id IN (SELECT w.id FROM workspaces w WHERE w.kind = 'organization') "
            f"AND EXISTS (SELECT 1 FROM {table} other WHERE other.user_id = {table}.user_id "
            f"AND other.{column} = {table}.{column} AND other.id <> {table}.id)")
    op.drop_index('ix_cost_records_workspace_period', table_name='cost_records')
    op.drop_index('ix_instances_workspace_status', table_name='instances')
    op.drop_index(op.f('ix_deployment_templates_workspace_id'), table_name='deployment_templates')
    op.drop_index(op.f('ix_provider_bindings_workspace_id'), table_name='provider_bindings')
    for table in reversed(SCOPED):
        with op.batch_alter_table(table) as batch_op:
            if table in UNIQUE_NAME:
                column = UNIQUE_NAME[table]
                batch_op.drop_constraint(op.f(f'uq_{table}_workspace_id_{column}'), type_='unique')
                batch_op.create_unique_constraint(op.f(f'uq_{table}_user_id_{column}'), ['user_id', column])
            batch_op.drop_constraint(op.f(f'fk_{table}_workspace_id_workspaces'), type_='foreignkey')
            batch_op.drop_column('workspace_id')
    op.drop_index(op.f('ix_workspace_members_workspace_id'), table_name='workspace_members')
    op.drop_index(op.f('ix_workspace_members_user_id'), table_name='workspace_members')
    op.drop_table('workspace_members')
    op.drop_table('workspaces')
