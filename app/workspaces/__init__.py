"""Workspaces: the owner of every console object (a user's personal one, or an organization).

- ``scope``: ``Scope`` (workspace, acting user, role) and resolving it, the one thing console
  services filter by;
- ``roles``: the single table of who may do what, and the guard every route uses;
- ``current``: which workspace a request acts in (kept in the session, membership re-checked);
- ``organizations`` and ``invitations``: members, ownership, the two-factor policy, e-mailed invitations.
"""

from app.workspaces.scope import NotAMember, Owner, Scope, create_personal, personal_workspace_id, resolve

__all__ = ["NotAMember", "Owner", "Scope", "create_personal", "personal_workspace_id", "resolve"]
