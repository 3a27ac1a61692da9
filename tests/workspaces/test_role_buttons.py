"""A role that may not operate sees every action button greyed out with the reason, on the list and on
the deployment's page, instead of buttons that answer 403; roles that may operate keep them."""

from __future__ import annotations

import pytest

from app.console.instances import LaunchSpec, launch
from app.workspaces import roles
from tests.workspaces.support import org_with_every_role, scope_of, switch_to


@pytest.mark.parametrize("role", roles.ROLES)
async def test_action_buttons_follow_the_role(role, sessions, keyring, http, cloud, login):
    org = await org_with_every_role(sessions, keyring)
    owner = await scope_of(sessions, org.people["owner"], org.id)
    row = await launch(sessions, keyring, http, owner, LaunchSpec(
        binding_id=org.binding_id, name="acme-box", instance_type="sbx.h100.1x", region="sandbox-eu-1"))
    browser = await login(org.people[role].email)
    await switch_to(browser, org.id)

    for doc in (await browser.page("/console"), await browser.page(f"/console/instances/{row.id}")):
        # a provisioning instance can be deleted: enabled exactly when the role may operate
        delete = [node for node in doc.find_all(class_="op") if "Delete" in node.text]
        assert delete, "no delete control"
        disabled = ["op-disabled" in node.classes for node in delete]
        if roles.allows(role, "operate"):
            assert not any(disabled), role
        else:
            assert all(disabled), role
            assert all(roles.Forbidden("operate", role).detail in node.get("title", "") for node in delete)


@pytest.mark.parametrize("role", roles.ROLES)
async def test_key_controls_follow_the_role(role, sessions, keyring, cloud, login):
    org = await org_with_every_role(sessions, keyring)
    browser = await login(org.people[role].email)
    await switch_to(browser, org.id)
    doc = await browser.page("/settings/providers")
    row = doc.one("tr", data_binding=str(org.binding_id))
    remove = row.find("a", href=f"/settings/providers/{org.binding_id}/remove")
    rename = row.find("form", action=f"/settings/providers/{org.binding_id}/rename")
    note = doc.find("p", data_role_note="keys")
    if roles.allows(role, "manage_keys"):
        assert remove is not None and rename is not None and note is None, role
    else:
        assert remove is None and rename is None, role
        assert note is not None and roles.ROLE_LABELS[role] in note.text, role
