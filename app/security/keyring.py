"""AES-256-GCM encryption of secrets at rest (provider API keys, TOTP secrets).

Ciphertext format: ``v1:<key id>:<base64url(nonce || ciphertext+tag)>``. The first key of the
ring encrypts; every key can decrypt, so rotation is: put a new key first, run
``computehub keys rotate`` (re-encrypts everything to it), then drop the old key.
Associated data binds a ciphertext to its owner and purpose: a key copied to another
user's row, or to another provider, fails to decrypt.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyringError(Exception):
    """Misconfigured master keys (never contains key material)."""


class DecryptionFailed(Exception):
    """Wrong key, tampered ciphertext or wrong owner: the binding needs attention."""


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    secret: bytes

    def __repr__(self) -> str:  # never print key material
        return f"MasterKey({self.key_id!r})"


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def generate_key_spec(key_id: str | None = None) -> str:
    key_id = key_id or f"k{secrets.token_hex(3)}"
    return f"{key_id}:{_b64e(AESGCM.generate_key(bit_length=256))}"


def parse_key_specs(spec: str) -> list[MasterKey]:
    """``id1:base64key,id2:base64key`` (first = current)."""
    keys = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        key_id, sep, material = part.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise KeyringError("each master key must look like '<id>:<base64 32 bytes>'")
        try:
            secret = _b64d(material)
        except (ValueError, TypeError):
            raise KeyringError(f"master key {key_id!r} is not valid base64") from None
        if len(secret) != 32:
            raise KeyringError(f"master key {key_id!r} must be 32 bytes (AES-256)")
        keys.append(MasterKey(key_id, secret))
    if len({k.key_id for k in keys}) != len(keys):
        raise KeyringError("master key ids must be unique")
    return keys


class Keyring:
    def __init__(self, keys: list[MasterKey]) -> None:
        if not keys:
            raise KeyringError("no master key configured (COMPUTEHUB_MASTER_KEYS)")
        self._keys = {k.key_id: k for k in keys}
        self.current = keys[0]

    @classmethod
    def from_spec(cls, spec: str) -> Keyring:
        return cls(parse_key_specs(spec))

    def encrypt(self, plaintext: str, associated_data: str) -> str:
        nonce = os.urandom(12)  # fresh per message: GCM must never reuse a nonce under one key
        sealed = AESGCM(self.current.secret).encrypt(nonce, plaintext.encode(), associated_data.encode())
        return f"{VERSION}:{self.current.key_id}:{_b64e(nonce + sealed)}"

    def decrypt(self, token: str, associated_data: str) -> str:
        version, key_id, payload = self._split(token)
        key = self._keys.get(key_id)
        if key is None:
            raise DecryptionFailed(f"encrypted with key {key_id!r}, which is not in the key ring")
        try:
            raw = _b64d(payload)
            return AESGCM(key.secret).decrypt(raw[:12], raw[12:], associated_data.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise DecryptionFailed("ciphertext does not match its owner or was tampered with") from exc

    def key_id_of(self, token: str) -> str:
        return self._split(token)[1]

    def needs_rotation(self, token: str) -> bool:
        return self.key_id_of(token) != self.current.key_id

    def rotate(self, token: str, associated_data: str) -> str:
        return self.encrypt(self.decrypt(token, associated_data), associated_data)

    @staticmethod
    def _split(token: str) -> tuple[str, str, str]:
        parts = token.split(":", 2)
        if len(parts) != 3 or parts[0] != VERSION:
            raise DecryptionFailed("not a ComputeHub ciphertext")
        return parts[0], parts[1], parts[2]


def binding_aad(user_id: int, provider: str) -> str:
    return f"computehub:provider-key:user={user_id}:provider={provider}"


def workspace_binding_aad(workspace_id: int, provider: str) -> str:
    """An organization's key: bound to the workspace, so no other workspace's row can carry it."""
    return f"computehub:provider-key:workspace={workspace_id}:provider={provider}"


def totp_aad(user_id: int) -> str:
    return f"computehub:totp:user={user_id}"


def load_or_create_dev_spec(path: Path) -> str:
    """For local runs only: a generated key kept in var/, so `make run` needs no set-up."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = generate_key_spec("dev1")
    path.write_text(spec + "\n")
    path.chmod(0o600)
    return spec


def keyring_from_settings(settings) -> Keyring:
    spec = settings.security.master_keys or load_or_create_dev_spec(settings.security.var_dir / "master.key")
    return Keyring.from_spec(spec)


@dataclass
class RotationReport:
    """What ``computehub keys rotate`` did: one report over every kind of stored secret."""

    rotated: int = 0
    current: int = 0
    """Already under the first master key."""
    unreadable: list[str] = field(default_factory=list)
    """What no key in the ring decrypts (left as it is; the owner must enter it again)."""

    def rotate(self, keyring: "Keyring", token: str, aad: str, what: str) -> str:
        """``token`` under the first master key, counted; an unreadable one is kept as it is and named."""
        try:
            if not keyring.needs_rotation(token):
                self.current += 1
                return token
            rotated = keyring.rotate(token, aad)
        except DecryptionFailed:
            self.unreadable.append(what)
            return token
        self.rotated += 1
        return rotated

    def add(self, other: "RotationReport") -> None:
        self.rotated += other.rotated
        self.current += other.current
        self.unreadable += other.unreadable
