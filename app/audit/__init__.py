"""The audit log: who changed what, from where, in which workspace (append-only, hash-chained)."""

from app.audit.log import AUTO_REPAIR, STRIPE, SYSTEM, Actor, actor_for, personal, record

__all__ = ["AUTO_REPAIR", "Actor", "STRIPE", "SYSTEM", "actor_for", "personal", "record"]
