"""/admin/sandbox: an admin sees every sandbox account's instances and sets its faults; the switch
changes what the simulated cloud does; bad numbers are a 400 with the field marked; others get 403."""

from __future__ import annotations

from app.security.keyring import keyring_from_settings
from tests.billing.conftest import add_sandbox_binding
from tests.billing.test_subscription_page import admin_browser
from tests.web.html import parse_html


async def sandbox_key(sessions, settings, binding_id: int) -> str:
    from app.console.bindings import decrypt_credentials
    from app.db.models import ProviderBinding

    async with sessions() as session:
        return decrypt_credentials(await session.get(ProviderBinding, binding_id), keyring_from_settings(settings))["api_key"]


async def test_an_admin_sees_instances_and_switches_a_fault(new_browser, sessions, settings, cloud, ada):
    binding_id = await add_sandbox_binding(sessions, keyring_from_settings(settings), ada, "ada's sandbox")
    key = await sandbox_key(sessions, settings, binding_id)
    for name in ("a", "b"):
        cloud.create_instance(key, {"name": name, "instance_type": "sbx.h100.1x", "region": "sandbox-eu-1"})
    admin = await admin_browser(new_browser, sessions, settings)

    page = await admin.get("/admin/sandbox")
    assert page.status_code == 200
    section = parse_html(page.text).one("section", data_binding=str(binding_id))
    assert "ada@example.com" in section.text
    assert section.one("span", data_status="provisioning").text.strip() == "provisioning 2"

    saved = await admin.post(f"/admin/sandbox/{binding_id}/faults", {"health_failing": "on", "quota": "2"})
    assert saved.status_code in (302, 303)
    assert cloud.faults(key).health_failing is True and cloud.faults(key).quota == 2
    # The quota of 2 is used up: the simulated cloud now refuses a third launch.
    from providers.sandbox.cloud import ApiError

    try:
        cloud.create_instance(key, {"name": "c", "instance_type": "sbx.h100.1x", "region": "sandbox-eu-1"})
        raise AssertionError("the quota fault did not take effect")
    except ApiError as exc:
        assert exc.status == 403

    # Switched off again from the page (an unticked box and an empty number).
    await admin.get("/admin/sandbox")
    await admin.post(f"/admin/sandbox/{binding_id}/faults", {"quota": ""})
    assert cloud.faults(key).health_failing is False and cloud.faults(key).quota is None

    # The migration data-sync faults are switches on the page too.
    await admin.post(f"/admin/sandbox/{binding_id}/faults", {"sync_fails_halfway": "on", "checksum_mismatch": "on"})
    assert cloud.faults(key).sync_fails_halfway is True and cloud.faults(key).checksum_mismatch is True
    section = parse_html((await admin.get("/admin/sandbox")).text).one("section", data_binding=str(binding_id))
    assert section.one("input", name="sync_fails_halfway").get("checked") is not None
    await admin.post(f"/admin/sandbox/{binding_id}/faults", {})
    assert cloud.faults(key).sync_fails_halfway is False and cloud.faults(key).checksum_mismatch is False


async def test_a_bad_number_is_a_400_that_keeps_what_was_typed(new_browser, sessions, settings, cloud, ada):
    binding_id = await add_sandbox_binding(sessions, keyring_from_settings(settings), ada, "ada's sandbox")
    admin = await admin_browser(new_browser, sessions, settings)
    await admin.get("/admin/sandbox")
    response = await admin.post(f"/admin/sandbox/{binding_id}/faults", {"quota": "lots", "crash_after_seconds": "30"})
    assert response.status_code == 400
    doc = parse_html(response.text)
    quota = doc.one("input", name="quota")
    assert quota.get("aria-invalid") == "true" and quota.get("value") == "lots"
    assert doc.one("input", name="crash_after_seconds").get("value") == "30"
    assert "quota" in doc.one("span", role="alert").text
    key = await sandbox_key(sessions, settings, binding_id)
    assert cloud.faults(key).crash_after_seconds is None  # nothing saved


async def test_only_admins(as_ada):
    assert (await as_ada.get("/admin/sandbox")).status_code == 403
