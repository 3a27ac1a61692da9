"""/settings/providers: list, add, check, rename and remove provider keys (sandbox provider)."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import replace

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db.models import Instance, ProviderBinding
from app.db.types import utcnow
from app.security.keyring import binding_aad, keyring_from_settings
from app.console.pages.bindings import field_label
from app.server import create_app
from app.workspaces import personal_workspace_id
from providers.base import Provider
from providers.registry import get_source_class
from providers.sandbox import generate_api_key, get_cloud
from tests.auth.support import Browser, make_user
from tests.bindings.helpers import add_key, binding_row, bindings_of, only_binding, shown_status


async def test_the_page_needs_a_login(browser):
    response = await browser.get("/settings/providers")
    assert response.headers["location"] == "/login?next=%2Fsettings%2Fproviders"


async def test_an_empty_list_offers_the_providers_that_run_instances(ada):
    page = await ada.browser.get("/settings/providers")

    assert page.status_code == 200
    assert "No provider keys yet" in page.text
    assert '<option value="sandbox">Sandbox (simulated)</option>' in page.text
    offered = re.findall(r'<option value="([a-z0-9_]+)">', page.text)
    assert all(issubclass(get_source_class(name), Provider) for name in offered)
    assert "azure" not in offered  # a price list only: no instance API


async def test_the_add_form_has_one_empty_password_input_per_credential(ada):
    page = await ada.browser.get("/settings/providers/new?provider=sandbox")

    inputs = re.findall(r'<input type="password" name="([a-z_]+)" value=""', page.text)
    assert inputs == ["api_key"]
    assert "<label class=\"field\">API key" in page.text


async def test_an_unknown_provider_is_refused(ada):
    assert (await ada.browser.get("/settings/providers/new?provider=nope")).status_code == 400
    response = await add_key(ada.browser, "sandbox", generate_api_key())  # opens the form, sets the token
    assert response.status_code in (302, 303)
    refused = await ada.browser.post("/settings/providers", {"provider": "azure", "api_key": "k" * 20})
    assert refused.status_code == 400
    assert "choose a provider from the list" in refused.text


async def test_add_a_working_key(ada, sessions):
    key = generate_api_key()

    added = await add_key(ada.browser, "sandbox", key, label="My sandbox")

    row = await only_binding(sessions)
    assert added.headers["location"] == f"/settings/providers?done=added#binding-{row.id}"
    page = await ada.browser.get(added.headers["location"])
    listed = binding_row(page.text, row.id)
    assert 'value="My sandbox"' in listed
    assert "Sandbox (simulated)" in listed
    assert f"••••{key[-4:]}" in listed
    assert shown_status(page.text, row.id) == "verified"
    assert re.search(r"checked \d{4}-\d\d-\d\d \d\d:\d\d UTC", listed)
    assert "Key added and checked" in page.text
    assert key not in page.text
    assert (row.user_id, row.provider, row.status, row.key_hint) == (ada.user_id, "sandbox", "verified", key[-4:])
    assert row.verified_at is not None


async def test_a_refused_key_is_not_stored(ada, sessions):
    refused = await add_key(ada.browser, "sandbox", "this-is-not-a-sandbox-key", label="Typo")

    assert refused.status_code == 400
    assert "Not saved: Sandbox (simulated) refused this key" in refused.text
    assert 'value="Typo"' in refused.text and "this-is-not-a-sandbox-key" not in refused.text
    assert await bindings_of(sessions, ada.user_id) == []


async def test_a_form_error_keeps_the_name_but_never_the_key(ada, sessions):
    empty = await add_key(ada.browser, "sandbox", "", label="Team account")
    assert empty.status_code == 400
    assert "enter the api key for Sandbox (simulated)" in empty.text
    assert 'value="Team account"' in empty.text

    bad_key = "sbx_has a space in it 123456"
    spaced = await add_key(ada.browser, "sandbox", bad_key, label="Team account")
    assert spaced.status_code == 400
    assert "does not look like a Sandbox (simulated) key" in spaced.text
    assert bad_key not in spaced.text and "has a space" not in spaced.text
    assert re.findall(r'<input type="password" name="api_key" value="([^"]*)"', spaced.text) == [""]
    assert await bindings_of(sessions, ada.user_id) == []


async def test_two_keys_cannot_share_a_name(ada, sessions):
    await add_key(ada.browser, "sandbox", generate_api_key(), label="Main")
    second_key = generate_api_key()

    clash = await add_key(ada.browser, "sandbox", second_key, label="Main")

    assert clash.status_code == 400
    assert "already have a binding named 'Main'" in html.unescape(clash.text)
    assert second_key not in clash.text
    assert len(await bindings_of(sessions, ada.user_id)) == 1


async def test_check_a_key_again(ada, sessions):
    key = generate_api_key()
    await add_key(ada.browser, "sandbox", key)
    row = await only_binding(sessions)
    get_cloud().set_faults(key, rate_limited=True)
    try:
        checked = await ada.browser.submit("/settings/providers", f"/settings/providers/{row.id}/verify")
        page = await ada.browser.get(checked.headers["location"])
    finally:
        get_cloud().set_faults(key)
    assert shown_status(page.text, row.id) == "unverified"
    assert "could not check the key right now (rate_limited); try again later" in page.text
    assert "last worked" in binding_row(page.text, row.id)

    again = await ada.browser.submit("/settings/providers", f"/settings/providers/{row.id}/verify")
    page = await ada.browser.get(again.headers["location"])
    assert shown_status(page.text, row.id) == "verified"
    assert "Key checked with the provider" in page.text


async def test_rename(ada, sessions):
    await add_key(ada.browser, "sandbox", generate_api_key(), label="First")
    await add_key(ada.browser, "sandbox", generate_api_key(), label="Second")
    first, second = await bindings_of(sessions, ada.user_id)

    done = await ada.browser.submit("/settings/providers", f"/settings/providers/{first.id}/rename",
                                    {"label": "  Research  "})
    assert done.headers["location"] == f"/settings/providers?done=renamed#binding-{first.id}"
    clash = await ada.browser.post(f"/settings/providers/{second.id}/rename", {"label": "Research"})
    assert clash.status_code == 400 and "Not renamed: you already have a binding named 'Research'" in html.unescape(clash.text)
    empty = await ada.browser.post(f"/settings/providers/{second.id}/rename", {"label": " "})
    assert empty.status_code == 400

    assert [b.label for b in await bindings_of(sessions, ada.user_id)] == ["Research", "Second"]


async def _instance(sessions, user_id: int, binding_id: int, name: str, status: str) -> None:
    now = utcnow()
    async with sessions() as session, session.begin():
        session.add(Instance(workspace_id=await personal_workspace_id(session, user_id), user_id=user_id,
                             binding_id=binding_id, provider="sandbox", provider_instance_id=name,
                             client_token=uuid.uuid4().hex, name=name, instance_type="sbx.h100.1x",
                             region="sandbox-eu-1", status=status, created_at=now, updated_at=now))


async def test_remove_asks_first_and_lists_what_becomes_unmanaged(ada, sessions):
    await add_key(ada.browser, "sandbox", generate_api_key(), label="Old key")
    row = await only_binding(sessions)
    await _instance(sessions, ada.user_id, row.id, "trainer-1", "running")
    await _instance(sessions, ada.user_id, row.id, "notebook", "stopped")
    await _instance(sessions, ada.user_id, row.id, "gone-long-ago", "terminated")

    confirm = await ada.browser.get(f"/settings/providers/{row.id}/remove")
    assert confirm.status_code == 200
    listed = re.search(r'<ul class="unmanaged".*?</ul>', confirm.text, re.S).group(0)
    assert "trainer-1" in listed and "notebook" in listed and "gone-long-ago" not in listed
    assert "These 2 instances keep running" in confirm.text

    unconfirmed = await ada.browser.post(f"/settings/providers/{row.id}/remove")
    assert unconfirmed.headers["location"] == f"/settings/providers/{row.id}/remove"
    assert len(await bindings_of(sessions, ada.user_id)) == 1

    removed = await ada.browser.post(f"/settings/providers/{row.id}/remove", {"confirm": "yes"})
    assert removed.headers["location"] == "/settings/providers?done=removed"
    assert await bindings_of(sessions, ada.user_id) == []
    async with sessions() as session:
        kept = (await session.execute(select(Instance.name, Instance.binding_id).order_by(Instance.name))).all()
    assert [(n, b) for n, b in kept] == [("gone-long-ago", None), ("notebook", None), ("trainer-1", None)]


async def test_another_users_key_is_not_found_on_every_route(ada, bob, sessions):
    await add_key(ada.browser, "sandbox", generate_api_key(), label="Ada's")
    row = await only_binding(sessions)
    await bob.browser.get("/settings/providers")

    attempts = [
        await bob.browser.get(f"/settings/providers/{row.id}/remove"),
        await bob.browser.post(f"/settings/providers/{row.id}/verify"),
        await bob.browser.post(f"/settings/providers/{row.id}/rename", {"label": "Mine now"}),
        await bob.browser.post(f"/settings/providers/{row.id}/remove", {"confirm": "yes"}),
        await bob.browser.post(f"/settings/providers/{row.id}/remove"),
    ]
    missing = await bob.browser.post("/settings/providers/999999/verify")

    assert [r.status_code for r in attempts] == [404] * 5
    assert missing.status_code == 404
    # Exactly like a binding that does not exist.
    assert all("no such provider binding" in r.text for r in [*attempts, missing])
    assert "Ada's" not in (await bob.browser.get("/settings/providers")).text
    after = await only_binding(sessions)
    assert (after.label, after.user_id) == ("Ada's", ada.user_id)


async def test_a_key_that_no_longer_decrypts_needs_attention(ada, bob, sessions, settings):
    await add_key(ada.browser, "sandbox", generate_api_key(), label="Ada's")
    await add_key(bob.browser, "sandbox", generate_api_key(), label="Bob's")
    [ada_row] = await bindings_of(sessions, ada.user_id)
    [bob_row] = await bindings_of(sessions, bob.user_id)
    async with sessions() as session, session.begin():
        # Ada's row tampered with; Bob's row given Ada's ciphertext (wrong owner in the AAD).
        row = await session.get(ProviderBinding, ada_row.id)
        prefix, payload = row.key_ciphertext.rsplit(":", 1)
        row.key_ciphertext = f"{prefix}:{payload[:-6]}{'A' if payload[-6] != 'A' else 'B'}{payload[-5:]}"
        (await session.get(ProviderBinding, bob_row.id)).key_ciphertext = ada_row.key_ciphertext

    for who, row in ((ada, ada_row), (bob, bob_row)):
        page = await who.browser.get("/settings/providers")
        assert page.status_code == 200
        assert shown_status(page.text, row.id) == "needs-attention"
        assert "Remove it and add the key again" in binding_row(page.text, row.id)
        check = await who.browser.post(f"/settings/providers/{row.id}/verify")
        assert check.status_code == 400
        assert "cannot be decrypted any more" in check.text


async def test_the_sandbox_is_not_offered_when_it_is_off(sessions, settings, engine):
    off = replace(settings, sandbox=replace(settings.sandbox, enabled=False))
    await make_user(sessions, "ada@example.com")
    application = create_app(off, engine=engine, run_worker=False)
    async with AsyncTestClient(app=application):
        b = Browser(application)
        await b.login("ada@example.com")
        page = await b.get("/settings/providers")
        assert 'value="sandbox"' not in page.text
        refused = await b.post("/settings/providers", {"provider": "sandbox", "api_key": generate_api_key()})
        assert refused.status_code == 400
        await b.close()
    async with sessions() as session:
        assert (await session.execute(select(ProviderBinding))).first() is None


async def test_keys_are_encrypted_for_their_owner(ada, sessions, settings):
    key = generate_api_key()
    await add_key(ada.browser, "sandbox", key)
    row = await only_binding(sessions)
    ring = keyring_from_settings(settings)
    assert key not in row.key_ciphertext and row.key_ciphertext.startswith("v1:test1:")
    assert key in ring.decrypt(row.key_ciphertext, binding_aad(ada.user_id, "sandbox"))


def test_credential_fields_get_readable_labels():
    assert [field_label(f) for f in ("api_key", "client_id", "client_secret", "token")] == [
        "API key", "Client ID", "Client secret", "Token"]
