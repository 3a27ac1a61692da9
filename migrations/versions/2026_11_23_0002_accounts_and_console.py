"""accounts and console

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:25:20.145211
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import app.db.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('totp_secret', sa.Text(), nullable=True),
    sa.Column('totp_enabled', sa.Boolean(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('deployment_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('instance_type', sa.String(length=255), nullable=False),
    sa.Column('region', sa.String(length=128), nullable=False),
    sa.Column('gpu_slug', sa.String(length=64), nullable=True),
    sa.Column('image', sa.String(length=255), nullable=False),
    sa.Column('disk_gb', sa.Integer(), nullable=True),
    sa.Column('ssh_public_key', sa.Text(), nullable=False),
    sa.Column('spot', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_deployment_templates_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment_templates')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_deployment_templates_user_id_name'))
    )
    op.create_table('password_reset_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_reset_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_reset_tokens_token_hash'))
    )
    with op.batch_alter_table('password_reset_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('provider_bindings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('key_ciphertext', sa.Text(), nullable=False),
    sa.Column('key_hint', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('verified_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_provider_bindings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_bindings')),
    sa.UniqueConstraint('user_id', 'label', name=op.f('uq_provider_bindings_user_id_label'))
    )
    with op.batch_alter_table('provider_bindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_bindings_user_id'), ['user_id'], unique=False)

    op.create_table('instances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('binding_id', sa.Integer(), nullable=True),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('provider_instance_id', sa.String(length=255), nullable=True),
    sa.Column('client_token', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('instance_type', sa.String(length=255), nullable=False),
    sa.Column('region', sa.String(length=128), nullable=False),
    sa.Column('gpu_slug', sa.String(length=64), nullable=True),
    sa.Column('gpu_raw_name', sa.String(length=255), nullable=False),
    sa.Column('gpu_count', app.db.types.Money(precision=18, scale=6), nullable=False),
    sa.Column('image', sa.String(length=255), nullable=False),
    sa.Column('disk_gb', sa.Integer(), nullable=True),
    sa.Column('ssh_public_key', sa.Text(), nullable=False),
    sa.Column('spot', sa.Boolean(), nullable=False),
    sa.Column('offer_price_per_hour', app.db.types.Money(precision=18, scale=6), nullable=True),
    sa.Column('provider_price_per_hour', app.db.types.Money(precision=18, scale=6), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('raw_status', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('public_ip', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_synced_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('terminated_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lock_token', sa.String(length=64), nullable=True),
    sa.Column('lock_expires_at', app.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['binding_id'], ['provider_bindings.id'], name=op.f('fk_instances_binding_id_provider_bindings'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['deployment_templates.id'], name=op.f('fk_instances_template_id_deployment_templates'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_instances_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instances')),
    sa.UniqueConstraint('client_token', name=op.f('uq_instances_client_token'))
    )
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.create_index('ix_instances_provider_id', ['binding_id', 'provider_instance_id'], unique=False)
        batch_op.create_index('ix_instances_user_status', ['user_id', 'status'], unique=False)

    op.create_table('instance_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('raw_status', sa.String(length=64), nullable=False),
    sa.Column('price_per_hour', app.db.types.Money(precision=18, scale=6), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('at', app.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], name=op.f('fk_instance_events_instance_id_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instance_events'))
    )
    with op.batch_alter_table('instance_events', schema=None) as batch_op:
        batch_op.create_index('ix_instance_events_instance_time', ['instance_id', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('instance_events', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_events_instance_time')

    op.drop_table('instance_events')
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_index('ix_instances_user_status')
        batch_op.drop_index('ix_instances_provider_id')

    op.drop_table('instances')
    with op.batch_alter_table('provider_bindings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provider_bindings_user_id'))

    op.drop_table('provider_bindings')
    with op.batch_alter_table('password_reset_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_tokens_user_id'))

    op.drop_table('password_reset_tokens')
    op.drop_table('deployment_templates')
    op.drop_table('users')
