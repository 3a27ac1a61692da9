"""projects inside an organization, their members, and a project on every console object

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04

Existing rows stay unassigned (``project_id`` NULL), which every scope sees as before: nobody has
a project membership yet, so nobody is limited.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import app.db.types


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

ASSIGNED = ('provider_bindings', 'instances', 'deployment_templates', 'cost_records')
INDEXED = ('provider_bindings', 'instances', 'deployment_templates')
"""Listed by project (cost records are read through their workspace and period index)."""


def upgrade() -> None:
    op.create_table(
        'projects',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('created_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_projects_workspace_id_workspaces'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
        sa.UniqueConstraint('workspace_id', 'name', name=op.f('uq_projects_workspace_id_name')),
    )
    op.create_index(op.f('ix_projects_workspace_id'), 'projects', ['workspace_id'], unique=False)
    op.create_table(
        'project_members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_members_project_id_projects'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_project_members_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_project_members')),
        sa.UniqueConstraint('project_id', 'user_id', name=op.f('uq_project_members_project_id_user_id')),
    )
    op.create_index(op.f('ix_project_members_project_id'), 'project_members', ['project_id'], unique=False)
    op.create_index(op.f('ix_project_members_user_id'), 'project_members', ['user_id'], unique=False)
    for table in ASSIGNED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('project_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(op.f(f'fk_{table}_project_id_projects'), 'projects', ['project_id'], ['id'],
                                        ondelete='SET NULL')
            if table in INDEXED:
                batch_op.create_index(op.f(f'ix_{table}_project_id'), ['project_id'], unique=False)


def downgrade() -> None:
    for table in reversed(ASSIGNED):
        with op.batch_alter_table(table) as batch_op:
            if table in INDEXED:
                batch_op.drop_index(op.f(f'ix_{table}_project_id'))
            batch_op.drop_constraint(op.f(f'fk_{table}_project_id_projects'), type_='foreignkey')
            batch_op.drop_column('project_id')
    op.drop_index(op.f('ix_project_members_user_id'), table_name='project_members')
    op.drop_index(op.f('ix_project_members_project_id'), table_name='project_members')
    op.drop_table('project_members')
    op.drop_index(op.f('ix_projects_workspace_id'), table_name='projects')
    op.drop_table('projects')
