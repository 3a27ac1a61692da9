"""Master-key rotation (`computehub keys rotate`) and what happens to a ciphertext that no key opens."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from app.cli.main import cli
from app.console.bindings import add_binding
from app.db.models import ProviderBinding, User
from app.security.keyring import DecryptionFailed, Keyring, binding_aad, generate_key_spec, parse_key_specs, totp_aad
from app.server import create_app
from app.settings import get_settings
from providers.sandbox import generate_api_key
from tests.auth.support import Browser, make_user
from tests.billing.support import grant
from tests.bindings.helpers import bindings_of, shown_status

K1, K2 = generate_key_spec("k1"), generate_key_spec("k2")


@pytest.fixture
def run_cli(monkeypatch, database_url):
    """Runs the real `computehub` command against the test database, in a thread (it runs its own
    event loop), with COMPUTEHUB_* variables set for the call."""

    async def run(args: list[str], **env: str):
        monkeypatch.setenv("COMPUTEHUB_DATABASE_URL", database_url)
        for name, value in env.items():
            monkeypatch.setenv(f"COMPUTEHUB_{name}", value)
        get_settings.cache_clear()
        return await asyncio.to_thread(CliRunner().invoke, cli, args)

    yield run
    get_settings.cache_clear()  # the environment is restored right after this


async def bind(sessions, ring: Keyring, user_id: int, label: str, key: str) -> int:
    async with sessions() as session, session.begin():
        row = await add_binding(session, ring, user_id, "sandbox", label, {"api_key": key})
    return row.id


async def load(sessions, model, row_id):
    async with sessions() as session:
        return await session.get(model, row_id)


def test_generate_prints_a_usable_key_spec():
    result = CliRunner().invoke(cli, ["keys", "generate", "--id", "2025-01"])

    assert result.exit_code == 0, result.output
    [key] = parse_key_specs(result.output.strip())
    assert key.key_id == "2025-01" and len(key.secret) == 32
    other = CliRunner().invoke(cli, ["keys", "generate"]).output.strip()
    assert other.split(":")[1] != result.output.strip().split(":")[1]  # a fresh key each time
    assert CliRunner().invoke(cli, ["keys", "generate", "--id", "bad id!"]).exit_code == 2


async def test_rotate_moves_every_secret_to_the_new_key(sessions, run_cli):
    ring1 = Keyring.from_spec(K1)
    user, totp_secret = await make_user(sessions, "ada@example.com", totp_keyring=ring1)
    key = generate_api_key()
    binding_id = await bind(sessions, ring1, user.id, "Main", key)

    result = await run_cli(["keys", "rotate"], MASTER_KEYS=f"{K2},{K1}")

    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 secrets under key 'k2'; 0 already used it" in result.output
    only_k2 = Keyring.from_spec(K2)
    row = await load(sessions, ProviderBinding, binding_id)
    stored_user = await load(sessions, User, user.id)
    assert row.key_ciphertext.startswith("v1:k2:") and stored_user.totp_secret.startswith("v1:k2:")
    assert json.loads(only_k2.decrypt(row.key_ciphertext, binding_aad(user.id, "sandbox"))) == {"api_key": key}
    assert only_k2.decrypt(stored_user.totp_secret, totp_aad(user.id)) == totp_secret
    with pytest.raises(DecryptionFailed):  # the old key alone no longer opens it
        ring1.decrypt(row.key_ciphertext, binding_aad(user.id, "sandbox"))

    again = await run_cli(["keys", "rotate"], MASTER_KEYS=f"{K2},{K1}")
    assert "re-encrypted 0 secrets under key 'k2'; 2 already used it" in again.output


async def test_rotate_needs_explicit_master_keys(run_cli):
    result = await run_cli(["keys", "rotate"], MASTER_KEYS="")
    assert result.exit_code == 2
    assert "set COMPUTEHUB_MASTER_KEYS" in result.output


def test_a_ciphertext_opens_only_for_its_owner_and_untampered():
    ring = Keyring.from_spec(K1)
    sealed = ring.encrypt('{"api_key": "secret"}', binding_aad(1, "sandbox"))

    assert ring.decrypt(sealed, binding_aad(1, "sandbox")) == '{"api_key": "secret"}'
    for wrong_owner in (binding_aad(2, "sandbox"), binding_aad(1, "lambdalabs"), totp_aad(1)):
        with pytest.raises(DecryptionFailed):
            ring.decrypt(sealed, wrong_owner)
    prefix, payload = sealed.rsplit(":", 1)
    flipped = payload[:20] + ("A" if payload[20] != "A" else "B") + payload[21:]
    with pytest.raises(DecryptionFailed):
        ring.decrypt(f"{prefix}:{flipped}", binding_aad(1, "sandbox"))
    with pytest.raises(DecryptionFailed):
        Keyring.from_spec(K2).decrypt(sealed, binding_aad(1, "sandbox"))  # key k1 not in that ring


async def test_an_unreadable_secret_is_reported_and_shown_as_needing_attention(sessions, run_cli, settings, engine):
    ring1 = Keyring.from_spec(K1)
    ada, _ = await make_user(sessions, "ada@example.com")
    bob, _ = await make_user(sessions, "bob@example.com")
    await grant(sessions, ada.id, "pro")  # two keys: more than Basic's one binding
    good_id = await bind(sessions, ring1, ada.id, "Good", generate_api_key())
    tampered_id = await bind(sessions, ring1, ada.id, "Tampered", generate_api_key())
    stolen_id = await bind(sessions, ring1, bob.id, "Stolen", generate_api_key())
    async with sessions() as session, session.begin():
        tampered = await session.get(ProviderBinding, tampered_id)
        prefix, payload = tampered.key_ciphertext.rsplit(":", 1)
        tampered.key_ciphertext = f"{prefix}:{payload[:-3]}{'A' if payload[-3] != 'A' else 'B'}{payload[-2:]}"
        # Ada's ciphertext copied onto Bob's row: the associated data names Ada, so it fails for Bob.
        (await session.get(ProviderBinding, stolen_id)).key_ciphertext = (
            await session.get(ProviderBinding, good_id)).key_ciphertext

    result = await run_cli(["keys", "rotate"], MASTER_KEYS=f"{K2},{K1}")

    assert result.exit_code == 1
    assert "re-encrypted 1 secret under key 'k2'" in result.output
    assert f"provider binding {tampered_id} (user {ada.id}, sandbox)" in result.output
    assert f"provider binding {stolen_id} (user {bob.id}, sandbox)" in result.output
    assert (await load(sessions, ProviderBinding, good_id)).key_ciphertext.startswith("v1:k2:")

    # The app now runs with the new key only: the page says which keys need attention, no crash.
    k2_only = replace(settings, security=replace(settings.security, master_keys=K2))
    application = create_app(k2_only, engine=engine, run_worker=False)
    async with AsyncTestClient(app=application):
        for email, user in (("ada@example.com", ada), ("bob@example.com", bob)):
            browser = Browser(application)
            await browser.login(email)
            page = await browser.get("/settings/providers")
            assert page.status_code == 200
            states = {b.label: shown_status(page.text, b.id) for b in await bindings_of(sessions, user.id)}
            await browser.close()
            if user is ada:
                assert states == {"Good": "unverified", "Tampered": "needs-attention"}
            else:
                assert states == {"Stolen": "needs-attention"}
