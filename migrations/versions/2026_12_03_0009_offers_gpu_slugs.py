"""GPU slugs: the generic H100 80GB no longer shares the family slug

Offers whose provider does not state the form factor were stored under ``h100`` (the family's
slug); they now carry ``h100-80gb`` (the family's unstated entry). Every other slug is unchanged
(``a100-80gb``, ``v100-16gb``... were already distinct from their family's).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_TABLES = ("offers", "price_history", "gpu_daily_prices", "cost_records", "instances", "deployment_templates")


def _rename(old: str, new: str) -> None:
    for table in _TABLES:
        op.execute(sa.text(f"UPDATE {table} SET gpu_slug = :new WHERE gpu_slug = :old").bindparams(old=old, new=new))


def upgrade() -> None:
    _rename("h100", "h100-80gb")


def downgrade() -> None:
    _rename("h100-80gb", "h100")
