"""CSRF tokens bound to the session they were issued for.

Litestar's own CSRF check only compares the form token with a cookie, so a token stolen from one
session, or a cookie and token planted by an attacker, passes for any other session. Here:

- a logged-in visitor's token is ``s.<HMAC(secret, session id)>``: it is valid only with that
  session cookie, and changes when the session id does (login renews it);
- a visitor without a session (log in, sign up, forgot password) gets ``a.<nonce>.<HMAC(nonce)>``,
  checked against the same value in the ``computehub_csrf`` cookie (double submit), since there is
  no session to bind it to yet.

The current token is always in the ``computehub_csrf`` cookie and in the page's ``_csrf_token``
field (``{{ csrf_input }}``); forms post it as ``_csrf_token``, scripts send it as ``x-csrftoken``.
The middleware sits outside the session middleware, so it sees the session cookie a response sets
(a login) or deletes (logout) and re-issues the token cookie to match.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from http.cookies import SimpleCookie

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

CSRF_FIELD = "_csrf_token"
CSRF_HEADER = "x-csrftoken"
CSRF_COOKIE = "computehub_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CSRFTokens:
    """Issues and checks tokens; ``secret`` is the app's session secret."""

    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"csrf:{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def for_session(self, session_id: str) -> str:
        return f"s.{self._mac('session', session_id)}"

    def new_anonymous(self) -> str:
        nonce = secrets.token_hex(16)
        return f"a.{nonce}.{self._mac('anonymous', nonce)}"

    def is_anonymous(self, token: str) -> bool:
        kind, _, rest = token.partition(".")
        nonce, _, mac = rest.partition(".")
        return kind == "a" and bool(nonce) and hmac.compare_digest(mac, self._mac("anonymous", nonce))

    @staticmethod
    def masked(token: str) -> str:
        """The token as a page shows it: XORed with a fresh pad on every response, so a compressed
        page never repeats the same secret bytes across responses (BREACH)."""
        raw = token.encode()
        pad = secrets.token_bytes(len(raw))
        return f"m.{pad.hex()}.{bytes(a ^ b for a, b in zip(pad, raw)).hex()}"

    @staticmethod
    def unmasked(submitted: str) -> str:
        """The token inside a masked one; any other value as it is."""
        kind, _, rest = submitted.partition(".")
        pad_hex, _, body_hex = rest.partition(".")
        if kind != "m" or len(pad_hex) != len(body_hex):
            return submitted
        try:
            pad, body = bytes.fromhex(pad_hex), bytes.fromhex(body_hex)
            return bytes(a ^ b for a, b in zip(pad, body)).decode()
        except (ValueError, UnicodeDecodeError):
            return ""

    def accepts(self, submitted: str | None, *, session_id: str | None, cookie_token: str | None) -> bool:
        if not submitted:
            return False
        submitted = self.unmasked(submitted)
        if session_id:
            return hmac.compare_digest(submitted, self.for_session(session_id))
        return (cookie_token is not None and self.is_anonymous(submitted)
                and hmac.compare_digest(submitted, cookie_token))


def _cookie_set_by(message: Message, name: str) -> tuple[bool, str | None]:
    """(whether the response sets cookie ``name``, its value; None when it deletes it)."""
    for key, value in message.get("headers", []):
        if key.lower() != b"set-cookie" or not value.decode("latin-1").startswith(f"{name}="):
            continue
        morsel = SimpleCookie(value.decode("latin-1")).get(name)
        if morsel is None:
            continue
        deleted = not morsel.value or morsel.value == "null" or morsel["max-age"] in ("0", 0)
        return True, None if deleted else morsel.value
    return False, None


class SessionBoundCSRFMiddleware:
    """Refuses an unsafe request (POST, PUT, PATCH, DELETE) without the token of its session."""

    def __init__(self, app: ASGIApp, *, tokens: CSRFTokens, session_cookie: str, secure: bool,
                 exclude_prefixes: Sequence[str]) -> None:
        self.app = app
        self.tokens = tokens
        self.session_cookie = session_cookie
        self.secure = secure
        self.exclude_prefixes = tuple(exclude_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Prefixes, not patterns matched anywhere in the path: "/console/x/api/" is still checked.
        if scope["type"] != "http" or scope["path"].startswith(self.exclude_prefixes):
            await self.app(scope, receive, send)
            return
        request: Request = scope["litestar_app"].request_class(scope=scope, receive=receive)
        session_id = request.cookies.get(self.session_cookie) or None
        cookie_token = request.cookies.get(CSRF_COOKIE)
        if request.method not in SAFE_METHODS:
            submitted = request.headers.get(CSRF_HEADER)
            content_type, _ = request.content_type
            if not submitted and content_type in {RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART}:
                submitted = (await request.form()).get(CSRF_FIELD)
            if not self.tokens.accepts(submitted, session_id=session_id, cookie_token=cookie_token):
                raise PermissionDeniedException("CSRF token verification failed")
        token = self._token_for(session_id, cookie_token)
        ScopeState.from_scope(scope).csrf_token = self.tokens.masked(token)  # what templates put in forms
        await self.app(scope, receive, self._send_token_cookie(send, token, cookie_token))

    def _token_for(self, session_id: str | None, cookie_token: str | None) -> str:
        if session_id:
            return self.tokens.for_session(session_id)
        if cookie_token and self.tokens.is_anonymous(cookie_token):
            return cookie_token
        return self.tokens.new_anonymous()

    def _send_token_cookie(self, send: Send, token: str, cookie_token: str | None) -> Send:
        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                current = token
                sets_session, new_session_id = _cookie_set_by(message, self.session_cookie)
                if sets_session:  # logged in (a new id) or out (deleted): the token follows the session
                    current = self.tokens.for_session(new_session_id) if new_session_id else self.tokens.new_anonymous()
                if current != cookie_token:
                    MutableScopeHeaders.from_message(message).add("set-cookie", self._cookie(current))
            await send(message)

        return send_wrapper

    def _cookie(self, token: str) -> str:
        return f"{CSRF_COOKIE}={token}; Path=/; SameSite=Lax{'; Secure' if self.secure else ''}"

    def visitor_cookie(self, cookie_token: str | None) -> str | None:
        """The Set-Cookie value this middleware adds to the response to a visitor without a session
        whose response sets no session either (None: the cookie they sent is kept)."""
        token = self._token_for(None, cookie_token)
        return None if token == cookie_token else self._cookie(token)
