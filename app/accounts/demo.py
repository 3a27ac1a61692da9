"""The shared demo account of local runs: everyone who knows its password uses it."""

from __future__ import annotations

from app.db.models import User
from app.settings import Settings


def is_shared_demo(user: User, settings: Settings) -> bool:
    """Its password, address and very existence are everyone's: no visitor may change or delete them."""
    return settings.sandbox.demo_account and user.email == settings.sandbox.demo_email.strip().lower()
