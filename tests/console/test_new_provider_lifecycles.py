"""DigitalOcean, CUDO, TensorDock, FluidStack, Shadeform, Hot Aisle and Prime
Intellect run instances from the console like the first providers:
a launch whose worker dies after the provider accepted it is adopted by its client token, and
the instance page offers exactly the actions the provider's API has."""

from __future__ import annotations

import json

import pytest
import respx
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.console import bindings
from app.console.instances import LaunchSpec, available_operations, launch
from app.console.launch_form import can_launch
from app.console.sync import sync_binding
from app.db.models import Instance, Offer
from app.db.types import utcnow
from providers.base import unsupported_reason
from providers.registry import get_source_class, provider_names
from tests.console.conftest import make_account
from tests.console.test_console_api import bearer, token_for
from tests.support.factories import make_offer, seed
from tests.support.launch_clouds import FAKE_CLOUDS, SSH_KEY

NEW_PROVIDERS = sorted(FAKE_CLOUDS)


class WorkerDied(Exception):
    pass


async def bind(sessions, keyring, user_id: int, cloud) -> int:
    async with sessions() as session, session.begin():
        row = await bindings.add_binding(session, keyring, user_id, cloud.provider, "", cloud.credentials)
        row.status, row.verified_at = "verified", utcnow()
        return row.id


async def only_row(sessions, user_id: int) -> Instance:
    async with sessions() as session:
        return (await session.execute(select(Instance).where(Instance.user_id == user_id))).scalar_one()


def spec(binding_id: int, cloud) -> LaunchSpec:
    return LaunchSpec(binding_id=binding_id, name="gpu-1", instance_type=cloud.instance_type, region=cloud.region,
                      ssh_public_key=SSH_KEY, gpu_raw_name="H100")


@pytest.mark.parametrize("provider", NEW_PROVIDERS)
def test_the_console_can_bind_and_launch_it(provider):
    assert provider in provider_names(sandbox_enabled=False)
    assert can_launch(provider)


@pytest.mark.parametrize("provider", NEW_PROVIDERS)
async def test_a_launch_lost_after_the_provider_accepted_is_adopted_by_its_client_token(
        sessions, keyring, http, cloud, provider):
    fake = FAKE_CLOUDS[provider]()
    account = await make_account(sessions, keyring, f"{provider}@example.com", plan="pro")
    binding_id = await bind(sessions, keyring, account.user_id, fake)

    async def die(remote):
        raise WorkerDied

    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        fake.mount(router)
        with pytest.raises(WorkerDied):
            await launch(sessions, keyring, http, account.user_id, spec(binding_id, fake), after_provider_accepted=die)
        row = await only_row(sessions, account.user_id)
        assert (row.status, row.provider_instance_id) == ("launching", None)
        assert len(fake.created) == 1  # the provider did create it

        report = await sync_binding(sessions, keyring, http, binding_id)

    assert report.error is None and report.adopted == 1 and report.discovered == 0
    row = await only_row(sessions, account.user_id)
    assert row.origin == "adopted"
    assert row.provider_instance_id == str(fake.created[0]["id"])
    assert row.status in ("provisioning", "running")


@pytest.mark.parametrize("provider", NEW_PROVIDERS)
async def test_a_launch_records_the_provider_instance(sessions, keyring, http, cloud, provider):
    fake = FAKE_CLOUDS[provider]()
    account = await make_account(sessions, keyring, f"{provider}@example.com", plan="pro")
    binding_id = await bind(sessions, keyring, account.user_id, fake)
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        fake.mount(router)
        await launch(sessions, keyring, http, account.user_id, spec(binding_id, fake))
    row = await only_row(sessions, account.user_id)
    assert row.provider_instance_id == str(fake.created[0]["id"]) and row.origin == "computehub"
    assert row.status == "provisioning"
    assert row.client_token in json.dumps(fake.sent)  # carried where the list reads it back (Hot Aisle: a 2nd call)


@pytest.mark.parametrize(("provider", "missing"), [
    ("digitalocean", set()), ("cudo", set()), ("tensordock", {"reboot"}), ("fluidstack", {"reboot"}),
    ("shadeform", {"start", "stop"}), ("hotaisle", set()),
    ("primeintellect", {"start", "stop", "reboot"}),
])
async def test_a_running_instance_offers_only_what_the_api_can_do(sessions, keyring, alice, provider, missing):
    row = Instance(user_id=alice.user_id, binding_id=alice.binding_id, provider=provider, status="running")
    reasons = available_operations(row)
    assert {op for op, reason in reasons.items() if reason} == missing | {"start"}  # start: only when stopped
    for op in missing:
        assert reasons[op] == unsupported_reason(get_source_class(provider), op)
        assert "API has no" in reasons[op]


async def test_the_instance_page_greys_out_reboot_for_tensordock(sessions, keyring, http, cloud, app, login):
    fake = FAKE_CLOUDS["tensordock"]()
    account = await make_account(sessions, keyring, "td-page@example.com", plan="pro")
    binding_id = await bind(sessions, keyring, account.user_id, fake)
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        fake.mount(router)
        await launch(sessions, keyring, http, account.user_id, spec(binding_id, fake))
    row = await only_row(sessions, account.user_id)
    async with sessions() as session, session.begin():
        (await session.get(Instance, row.id)).status = "running"

    browser = await login(account.email)
    doc = await browser.page(f"/console/instances/{row.id}")

    ops = doc.one("div", class_="ops")
    live = {b.get("data-op") for b in ops.find_all("button") if b.get("data-op")}
    live |= {a.get("data-op") for a in ops.find_all("a") if a.get("data-op")}
    assert live == {"stop", "delete"}
    greyed = {s.get("title") for s in ops.find_all("span") if "op-disabled" in (s.get("class") or "")}
    assert "TensorDock's API has no reboot; stop the instance and start it again" in greyed


@pytest.mark.parametrize("provider", NEW_PROVIDERS)
async def test_launch_from_an_offer_on_the_price_pages(sessions, keyring, cloud, login, provider):
    fake = FAKE_CLOUDS[provider]()
    account = await make_account(sessions, keyring, f"{provider}-page@example.com", plan="pro")
    binding_id = await bind(sessions, keyring, account.user_id, fake)
    await seed(sessions, [make_offer(provider, "H100 SXM", "3.39", region=fake.region, instance_type=fake.instance_type)])
    async with sessions() as session:
        offer = (await session.execute(select(Offer).where(Offer.source == provider))).scalar_one()
    browser = await login(account.email)

    doc = await browser.page(f"/console/launch?offer={offer.id}")
    assert [o.get("value") for o in doc.one("select", name="binding_id").find_all("option")] == [str(binding_id)]
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as router:
        fake.mount(router)
        router.route(host="testserver").pass_through()
        response = await browser.post("/console/launch", {
            "offer": offer.id, "binding_id": binding_id, "name": "train-1", "image": "", "disk_gb": "",
            "ssh_public_key": SSH_KEY})

    assert response.url.path.startswith("/console/instances/"), response.text[:500]
    row = await only_row(sessions, account.user_id)
    assert (row.status, row.provider_instance_id) == ("provisioning", str(fake.created[0]["id"]))
    assert row.offer_price_per_hour == offer.price_per_hour


async def _running_shadeform_row(sessions, keyring, http, email: str):
    fake = FAKE_CLOUDS["shadeform"]()
    account = await make_account(sessions, keyring, email, plan="pro")
    binding_id = await bind(sessions, keyring, account.user_id, fake)
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        fake.mount(router)
        await launch(sessions, keyring, http, account.user_id, spec(binding_id, fake))
    row = await only_row(sessions, account.user_id)
    async with sessions() as session, session.begin():
        (await session.get(Instance, row.id)).status = "running"
    return account, row


async def test_a_shadeform_instance_keeps_its_underlying_cloud_and_shows_no_stop(sessions, keyring, http, cloud, login):
    account, row = await _running_shadeform_row(sessions, keyring, http, "sf-page@example.com")
    assert row.instance_type == "massedcompute/gpu_1x_a6000"  # the cloud that runs it, as the offer named it

    browser = await login(account.email)
    doc = await browser.page(f"/console/instances/{row.id}")

    ops = doc.one("div", class_="ops")
    live = {b.get("data-op") for b in ops.find_all("button") if b.get("data-op")}
    live |= {a.get("data-op") for a in ops.find_all("a") if a.get("data-op")}
    assert live == {"reboot", "delete"}
    greyed = {s.get("title") for s in ops.find_all("span") if "op-disabled" in (s.get("class") or "")}
    assert "Shadeform's API has no stop; delete the instance instead" in greyed


async def test_the_console_api_refuses_to_stop_a_shadeform_instance_without_calling_it(
        sessions, keyring, http, cloud, app):
    account, row = await _running_shadeform_row(sessions, keyring, http, "sf-api@example.com")
    token = await token_for(sessions, account)
    async with AsyncTestClient(app=app) as api:
        with respx.mock(assert_all_called=False, assert_all_mocked=False) as router:
            shadeform = router.route(host="api.shadeform.ai").respond(500)
            router.route(host="testserver").pass_through()
            refused = await api.post(f"/api/v1/console/deployments/{row.id}/stop", headers=bearer(token))
    assert refused.status_code == 400, refused.text
    assert "Shadeform's API has no stop" in refused.text
    assert not shadeform.called
    assert (await only_row(sessions, account.user_id)).status == "running"
