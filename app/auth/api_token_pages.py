"""``/settings/api-tokens``: make (shown once), list and revoke the tokens of the console API."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import api_tokens
from app.console.errors import NotFoundForUser
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_text, page
from app.db.models import User
from app.services.inputs import parse_row_id

PATH = "/settings/api-tokens"


async def _page(db: AsyncSession, user: User, request: Request, *, status: int = 200, error: str | None = None,
                new_token: str | None = None, form: dict | None = None, notice: str | None = None) -> Template:
    base = request.app.state.settings.web.base_url.rstrip("/")
    return page("account/api_tokens.html", status, user=user, tokens=await api_tokens.list_tokens(db, user.id),
                error=error, new_token=new_token, notice=notice, form=form or {"name": "", "access": "read", "expires": "90"},
                expiry_choices=api_tokens.EXPIRY_CHOICES, api_base=f"{base}/api/v1/console")


class ApiTokensController(Controller):
    path = PATH
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="api_tokens", permission="login")
    async def index(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                    done: str = "") -> Template:
        return await _page(db, user, request, notice="Token revoked: it no longer works." if done == "revoked" else None)

    @post("/", permission="login")
    async def create(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     data: Form) -> Template:
        form = {"name": form_text(data, "name"), "access": form_text(data, "access"), "expires": form_text(data, "expires")}
        try:
            if form["access"] not in ("read", "write"):
                raise api_tokens.TokenError("choose what the token may do: read, or read and change")
            expires = form["expires"].strip()
            if expires not in ("never", *map(str, api_tokens.EXPIRY_CHOICES)):
                raise api_tokens.TokenError(f"choose an expiry of {', '.join(map(str, api_tokens.EXPIRY_CHOICES))} days, or never")
            _row, token = await api_tokens.create_token(db, user, form["name"], can_write=form["access"] == "write",
                                                        expires_in_days=None if expires == "never" else int(expires))
            await db.commit()
        except api_tokens.TokenError as exc:
            return await _page(db, user, request, status=400, error=str(exc), form=form)
        return await _page(db, user, request, new_token=token)  # shown this once, never stored

    @post("/{token_id:str}/revoke", permission="login")
    async def revoke(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], token_id: str) -> Redirect:
        try:
            row_id = parse_row_id(token_id, "token")
            if row_id is None:
                raise api_tokens.NoSuchToken("no such token")
            await api_tokens.revoke_token(db, user, row_id)
        except api_tokens.NoSuchToken as exc:
            raise NotFoundForUser(str(exc)) from None
        await db.commit()
        return Redirect(f"{PATH}?done=revoked")
