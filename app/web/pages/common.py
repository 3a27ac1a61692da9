"""What every page shares: title/description/canonical metadata and the render call."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.session import SESSION_USER
from app.db.models import ProviderBinding

from app.web.formatting import HELPERS
from app.workspaces.current import SESSION_WORKSPACE, scope_for
from providers.registry import SIMULATED


@dataclass(frozen=True)
class PageMeta:
    title: str
    description: str
    path: str
    """Canonical path: filtered views point search engines at the unfiltered page."""
    noindex: bool = False


def simulated_shown(request: Request) -> bool:
    """Sandbox mode on the public price pages: list the simulated cloud there (else it is left out)."""
    return request.app.state.settings.sandbox.on_price_pages


async def simulated_for_viewer(request: Request, session: AsyncSession) -> bool:
    """The offers table also lists the simulated cloud to a signed-in user whose current workspace
    has a sandbox key they can use (the demo account; an organization's key for its members): its
    offers are where they launch from. Visitors never see it unless sandbox mode is on."""
    if simulated_shown(request):
        return True
    if not request.app.state.settings.sandbox.enabled or request.scope.get("session") is None:
        return False
    user_id = request.session.get(SESSION_USER)
    if not user_id:
        return False
    scope = await scope_for(session, int(user_id), request.session.get(SESSION_WORKSPACE))
    stmt = select(ProviderBinding.id).where(scope.visible(ProviderBinding),
                                            ProviderBinding.provider.in_(list(SIMULATED))).limit(1)
    return (await session.execute(stmt)).first() is not None


async def moves_here(request: Request, session: AsyncSession) -> bool:
    """Whether the offers tables get "Move here" links: a signed-in user whose plan has migrations
    and whose current workspace has a running or stopped deployment."""
    if request.scope.get("session") is None or not request.session.get(SESSION_USER):
        return False
    from app.billing.entitlements import has_feature
    from app.db.models import Instance
    from app.migration.planning import MIGRATABLE
    from app.migration.service import FEATURE
    from app.workspaces.current import SESSION_WORKSPACE, scope_for

    user_id = int(request.session[SESSION_USER])
    if not await has_feature(session, user_id, FEATURE):
        return False
    scope = await scope_for(session, user_id, request.session.get(SESSION_WORKSPACE))
    stmt = select(Instance.id).where(scope.visible(Instance), Instance.status.in_(MIGRATABLE)).limit(1)
    return (await session.execute(stmt)).first() is not None


def base_url(request: Request) -> str:
    return request.app.state.settings.web.base_url.rstrip("/")


def render(request: Request, template: str, meta: PageMeta, status: int = 200, **context: object) -> Template:
    return Template(
        template,
        context={**HELPERS, "meta": meta, "canonical_url": base_url(request) + meta.path, **context},
        status_code=status,
    )
