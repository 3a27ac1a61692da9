"""Time-based one-time passwords (RFC 6238) with the cryptography package's TOTP."""

from __future__ import annotations

import base64
import os
import re
import time
from urllib.parse import quote

import segno
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

DIGITS = 6
STEP = 30
ISSUER = "ComputeHub"
_CODE = re.compile(rf"[0-9]{{{DIGITS}}}")


def new_secret() -> str:
    """A 160-bit secret, base32 as authenticator apps expect."""
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def _totp(secret: str) -> TOTP:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return TOTP(key, DIGITS, SHA1(), STEP, enforce_key_length=False)


def step_at(at: float | None = None) -> int:
    """The RFC 6238 time step (counter) of a moment: codes are numbered by it."""
    return int(at if at is not None else time.time()) // STEP


def code_at(secret: str, at: float | None = None) -> str:
    return _totp(secret).generate(int(at if at is not None else time.time())).decode()


def looks_like_code(code: str) -> bool:
    """Six ASCII digits, spaces allowed (apps show "123 456"). Not every Unicode digit: only these."""
    return bool(_CODE.fullmatch((code or "").replace(" ", "")))


def verify(secret: str, code: str, at: float | None = None, drift_steps: int = 1,
           after_step: int | None = None) -> int | None:
    """The time step of the matching code, or None. Accepts the current step and ``drift_steps``
    either side (clock drift on phones), but never a step at or before ``after_step``: the step
    of the last code this account used, so a code is good once and an older one never after it."""
    if not looks_like_code(code):
        return None
    code = code.replace(" ", "")
    now = step_at(at)
    totp = _totp(secret)
    for step in range(now - drift_steps, now + drift_steps + 1):
        if after_step is not None and step <= after_step:
            continue
        try:
            totp.verify(code.encode(), step * STEP)
            return step
        except InvalidToken:
            continue
    return None


def provisioning_uri(secret: str, account: str) -> str:
    label = quote(f"{ISSUER}:{account}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={ISSUER}&digits={DIGITS}&period={STEP}"


def provisioning_qr_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG QR code: drawn here, nothing fetched from elsewhere,
    and no inline script or style (the Content-Security-Policy allows neither)."""
    return segno.make(uri, error="m").svg_inline(
        scale=4, border=4, dark="#000", light="#fff", svgclass="totp-qr", lineclass=None,
        title="QR code for your authenticator app")
