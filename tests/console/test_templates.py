"""Deployment templates: create from the form, save from a deployment, launch by name, delete."""

from __future__ import annotations

from sqlalchemy import select

from app.console.instances import LaunchSpec, launch
from app.db.models import DeploymentTemplate, Instance
from tests.console.conftest import sandbox_offers
from tests.web.html import parse_html

FORM = {"name": "H100 trainer", "provider": "sandbox", "instance_type": "sbx.h100.1x", "region": "sandbox-eu-1",
        "image": "pytorch-2.4", "disk_gb": "500", "ssh_public_key": "", "spot": ""}


async def templates(sessions) -> list[DeploymentTemplate]:
    async with sessions() as session:
        return list((await session.execute(select(DeploymentTemplate).order_by(DeploymentTemplate.id))).scalars())


async def test_create_launch_and_delete_a_template(as_alice, sessions, cloud, alice):
    await sandbox_offers(sessions)

    response = await as_alice.post("/console/templates", FORM)

    doc = parse_html(response.text)
    assert doc.one("p", class_="alert-ok").text == "Template saved."
    [template] = await templates(sessions)
    assert (template.user_id, template.gpu_slug, template.disk_gb, template.image) == (
        alice.user_id, "h100-sxm", 500, "pytorch-2.4")
    row = doc.one("tr", data_template=str(template.id))
    assert "sbx.h100.1x · sandbox-eu-1" in row.text

    response = await as_alice.post(f"/console/templates/{template.id}/launch",
                                   {"name": "train-7", "binding_id": alice.binding_id})

    assert response.url.path.startswith("/console/instances/")
    [remote] = cloud.list_instances(alice.api_key)
    assert (remote["name"], remote["instance_type"], remote["image"], remote["disk_gb"]) == (
        "train-7", "sbx.h100.1x", "pytorch-2.4", 500)
    async with sessions() as session:
        instance = (await session.execute(select(Instance))).scalar_one()
    assert (instance.template_id, str(instance.offer_price_per_hour)) == (template.id, "2.490000")

    response = await as_alice.post(f"/console/templates/{template.id}/delete")
    assert parse_html(response.text).one("p", class_="alert-ok").text == "Template deleted."
    assert await templates(sessions) == []


async def test_a_bad_template_form_keeps_what_was_typed(as_alice, sessions, cloud, alice):
    await sandbox_offers(sessions)

    response = await as_alice.post("/console/templates", {**FORM, "instance_type": "sbx.h100.3x"})

    assert response.status_code == 400
    doc = parse_html(response.text)
    assert doc.one("p", class_="alert-error").text == (
        "Sandbox (simulated) has no on-demand offer 'sbx.h100.3x' in 'sandbox-eu-1'")
    assert doc.one("input", name="name").get("value") == "H100 trainer"
    assert doc.one("input", name="instance_type").get("value") == "sbx.h100.3x"
    assert doc.one("input", name="disk_gb").get("value") == "500"
    assert await templates(sessions) == []

    await as_alice.post("/console/templates", FORM)
    response = await as_alice.post("/console/templates", FORM)
    assert parse_html(response.text).one("p", class_="alert-error").text == (
        "you already have a template named 'H100 trainer'")


async def test_save_a_deployment_as_a_template(as_alice, sessions, keyring, http, cloud, alice):
    row = await launch(sessions, keyring, http, alice.user_id, LaunchSpec(
        binding_id=alice.binding_id, name="gpu-1", instance_type="sbx.a100.1x", region="sandbox-us-1",
        image="jax", disk_gb=300, gpu_slug="a100-sxm-80gb"))

    response = await as_alice.post(f"/console/templates/from-instance/{row.id}", {"name": "A100 box"})

    assert parse_html(response.text).one("p", class_="alert-ok").text == "Saved as a template."
    [template] = await templates(sessions)
    assert (template.name, template.instance_type, template.region, template.image, template.disk_gb) == (
        "A100 box", "sbx.a100.1x", "sandbox-us-1", "jax", 300)


async def test_launching_a_template_with_a_bad_name_says_so(as_alice, sessions, cloud, alice):
    await sandbox_offers(sessions)
    await as_alice.post("/console/templates", FORM)
    [template] = await templates(sessions)

    response = await as_alice.post(f"/console/templates/{template.id}/launch",
                                   {"name": "no spaces please", "binding_id": alice.binding_id})

    assert response.status_code == 400
    assert parse_html(response.text).one("p", class_="alert-error").text == (
        "the name must be 1-63 letters, digits, dots, dashes or underscores")
    assert cloud.list_instances(alice.api_key) == []


async def test_a_template_name_differing_only_in_case_or_spaces_is_a_duplicate(as_alice, sessions, cloud, alice):
    await sandbox_offers(sessions)
    assert (await as_alice.post("/console/templates", FORM)).status_code == 200

    response = await as_alice.post("/console/templates", {**FORM, "name": "  h100 TRAINER "})

    assert response.status_code == 400
    assert "you already have a template named" in parse_html(response.text).one("p", class_="alert-error").text
    assert len(await templates(sessions)) == 1


async def test_launching_a_template_under_a_name_in_use_is_refused(as_alice, sessions, cloud, alice):
    await sandbox_offers(sessions)
    await as_alice.post("/console/templates", FORM)
    [template] = await templates(sessions)
    first = await as_alice.post(f"/console/templates/{template.id}/launch", {"name": "box-1", "binding_id": alice.binding_id})
    assert first.url.path.startswith("/console/instances/")

    again = await as_alice.post(f"/console/templates/{template.id}/launch", {"name": "Box-1", "binding_id": alice.binding_id})

    assert again.status_code == 400
    assert parse_html(again.text).one("p", class_="alert-error").text == (
        "you already have an instance named 'Box-1'; choose another name")
    assert len(cloud.list_instances(alice.api_key)) == 1
