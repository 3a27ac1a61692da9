"""Time-based one-time passwords (RFC 6238) with the cryptography package's TOTP."""

from __future__ import annotations

import base64
import os
import time
from urllib.parse import quote

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

DIGITS = 6
STEP = 30
ISSUER = "ComputeHub"


def new_secret() -> str:
    """A 160-bit secret, base32 as authenticator apps expect."""
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def _totp(secret: str) -> TOTP:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return TOTP(key, DIGITS, SHA1(), STEP, enforce_key_length=False)


def code_at(secret: str, at: float | None = None) -> str:
    return _totp(secret).generate(int(at if at is not None else time.time())).decode()


def verify(secret: str, code: str, at: float | None = None, drift_steps: int = 1) -> bool:
    """Accept the current code and one step either side (clock drift on phones)."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != DIGITS:
        return False
    now = int(at if at is not None else time.time())
    totp = _totp(secret)
    for step in range(-drift_steps, drift_steps + 1):
        try:
            totp.verify(code.encode(), now + step * STEP)
            return True
        except InvalidToken:
            continue
    return False


def provisioning_uri(secret: str, account: str) -> str:
    label = quote(f"{ISSUER}:{account}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={ISSUER}&digits={DIGITS}&period={STEP}"
