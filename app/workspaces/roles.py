"""Who may do what in a workspace: ONE table, read by the guard, the members page and the tests.

A personal workspace has one member, its owner, so every permission holds there.

Owners and admins always see the whole workspace; the other roles can also be limited to some
projects (``Scope.project_ids``), which narrows what they see, never what their role allows."""

from __future__ import annotations

from litestar.exceptions import PermissionDeniedException

ROLES = ("owner", "admin", "member", "viewer", "billing")
ROLE_LABELS = {
    "owner": "Owner", "admin": "Admin", "member": "Member", "viewer": "Viewer", "billing": "Billing",
}

PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset({"owner", "admin", "member", "viewer", "billing"}),
    "operate": frozenset({"owner", "admin", "member"}),
    "manage_keys": frozenset({"owner", "admin"}),
    "manage_templates": frozenset({"owner", "admin", "member"}),
    "manage_budgets": frozenset({"owner", "admin", "billing"}),
    "manage_quotas": frozenset({"owner", "admin"}),
    "manage_pools": frozenset({"owner", "admin"}),
    "view_costs": frozenset({"owner", "admin", "member", "viewer", "billing"}),
    "manage_members": frozenset({"owner", "admin"}),
    "manage_projects": frozenset({"owner", "admin"}),
    "manage_org": frozenset({"owner"}),
    "manage_billing": frozenset({"owner", "billing"}),
    "view_audit": frozenset({"owner", "admin"}),
}
PERMISSION_LABELS = {
    "view": "See instances, keys (never their secrets) and templates",
    "operate": "Launch, start, stop, reboot and delete instances",
    "manage_keys": "Add, rename and remove provider keys",
    "manage_templates": "Create and delete templates",
    "manage_budgets": "Set budgets (and receive their warnings)",
    "manage_quotas": "Set quotas on running instances, GPUs and $ per hour",
    "manage_pools": "Create, scale and delete node pools",
    "view_costs": "See costs",
    "manage_members": "Invite, change roles and remove members",
    "manage_projects": "Create, rename and delete projects and choose who is limited to them",
    "manage_org": "Rename, delete and transfer the organization",
    "manage_billing": "Subscribe the organization to its plan, cancel it and manage its payment methods",
    "view_audit": "Read the activity log",
}


class Forbidden(PermissionDeniedException):
    """A member of the workspace whose role lacks the permission (403; outsiders get a 404)."""

    def __init__(self, permission: str, role: str) -> None:
        super().__init__(f"your role ({ROLE_LABELS.get(role, role)}) does not allow this: "
                         f"{PERMISSION_LABELS[permission].lower()}")
        self.permission = permission
        self.role = role


def allows(role: str, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")  # a typo must never mean "allowed"
    return role in PERMISSIONS[permission]


def require(role: str, permission: str) -> None:
    """The one check: every service and route that needs a permission calls this."""
    if not allows(role, permission):
        raise Forbidden(permission, role)


UNLIMITED_ROLES = PERMISSIONS["manage_projects"]
"""Roles a project membership never limits: they manage the projects themselves."""


def matrix() -> list[tuple[str, str, list[bool]]]:
    """(permission, label, allowed per role in ``ROLES`` order) for the members page."""
    return [(p, PERMISSION_LABELS[p], [r in roles for r in ROLES]) for p, roles in PERMISSIONS.items()]
