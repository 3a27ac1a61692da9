"""The migration pages on each test database: the wizard's choices and suggestions, the preview,
Confirm through the service (followed to done on the sandbox's queue), the JSON poll, Cancel,
"Move my deployment here", and bad input: 400s, another workspace's ids 404, Basic locked."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.db.models import Instance, Migration, Offer
from app.migration import planning
from app.server import create_app
from tests.console.conftest import login, make_account, sandbox_offers  # noqa: F401 - the login fixture
from tests.migration.machine.support import disk, pro_account, reload, run_until_settled, running_source


@pytest.fixture
def app(engine, sessions, settings):
    return create_app(settings, engine=engine, run_worker=False)


async def offer_id(sessions, instance_type: str, region: str, spot: bool = False) -> int:
    async with sessions() as session:
        return (await session.execute(select(Offer.id).where(
            Offer.source == "sandbox", Offer.instance_type == instance_type, Offer.region == region,
            Offer.spot.is_(spot)))).scalar_one()


async def migrations_count(sessions) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(Migration))).scalar_one()


@pytest.fixture
async def world(sessions, keyring, http, clock, cloud, settings, queue, login):
    await sandbox_offers(sessions)
    account = await pro_account(sessions, keyring)
    source, files = await running_source(sessions, keyring, http, clock, settings, account)
    return account, source, files, await login(account.email)


async def test_the_wizard_suggests_cheaper_equivalents_and_starts_through_the_service(world, sessions, settings):
    account, source, files, browser = world
    async with sessions() as session:  # the source runs sbx.rtx4090.1x on-demand in eu at $0.39/h
        row = await session.get(Instance, source.id)
        assert planning.source_price(row) == Decimal("0.39")

    response = await browser.get(f"/console/instances/{source.id}")
    assert f'href="/console/instances/{source.id}/migrate"' in response.text

    wizard = await browser.get(f"/console/instances/{source.id}/migrate")
    assert wizard.status_code == 200, wizard.text[:300]
    spot_us = await offer_id(sessions, "sbx.rtx4090.1x", "sandbox-us-1", spot=True)
    same_us = await offer_id(sessions, "sbx.rtx4090.1x", "sandbox-us-1")
    own = await offer_id(sessions, "sbx.rtx4090.1x", "sandbox-eu-1")
    # Spot at $0.24 saves (0.39 - 0.24) * 730 = $109.50 a month; every 1-GPU offer with >= 24 GB is listed.
    suggestions = wizard.text.split("data-suggestions", 1)[1].split("</section>", 1)[0]
    assert f'value="{spot_us}"' in suggestions and "saves $109.50/month" in suggestions
    assert f'value="{same_us}"' not in suggestions  # the same price elsewhere is listed, not suggested
    assert f'data-offer="{same_us}"' in wizard.text and f'data-offer="{own}"' not in wizard.text
    assert 'data-offer="%d"' % await offer_id(sessions, "sbx.h100.8x", "sandbox-us-1") not in wizard.text

    query = {"offer": same_us, "paths": "/workspace/checkpoints -> /home/ubuntu/checkpoints", "window_hours": "0"}
    preview = await browser.get(f"/console/instances/{source.id}/migrate/preview", params=query)
    assert preview.status_code == 200, preview.text[:500]
    root = disk(settings, source).host_path("/workspace/checkpoints")
    total = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    assert total > 64 * 1024 and len(files) == 6
    assert f"{total:,} bytes" in preview.text and "Estimated copy time: about" in preview.text
    assert "$0.39/h" in preview.text and "same price" in preview.text
    for state in planning.FORWARD_ORDER:
        assert f'data-step="{state}"' in preview.text
    assert await migrations_count(sessions) == 0  # a preview starts nothing

    started = await browser.post(f"/console/instances/{source.id}/migrate",
                                 {**{k: str(v) for k, v in query.items()}, "key": "", "bucket": ""},
                                 follow_redirects=False)
    assert started.status_code in (302, 303), started.text[:400]
    migration_id = int(started.headers["location"].rsplit("/", 1)[1])
    row = await reload(sessions, Migration, migration_id)
    assert (row.state, row.target_region, row.source_instance_id) == ("planned", "sandbox-us-1", source.id)

    page = await browser.get(f"/console/migrations/{migration_id}")
    assert page.status_code == 200 and 'data-migration-poll="on"' in page.text and "data-cancel-form" in page.text
    await run_until_settled(settings, sessions, migration_id)
    status = (await browser.get(f"/console/migrations/{migration_id}/status")).json()
    assert status["state"] == "done" and status["final"] and not status["can_cancel"]
    assert [t["status"] for t in status["timeline"]] == ["done"] * len(planning.FORWARD_ORDER)
    assert all(t["attempts"] and t["attempts"][-1]["log"] for t in status["timeline"])
    listing = await browser.get("/console/migrations")
    assert f'data-migration-row="{migration_id}"' in listing.text


async def test_cancel_from_the_progress_page_rolls_back(world, sessions, settings):
    account, source, _, browser = world
    target = await offer_id(sessions, "sbx.a100.1x", "sandbox-us-1")
    started = await browser.post(f"/console/instances/{source.id}/migrate", {"offer": str(target), "window_hours": "1"},
                                 follow_redirects=False)
    migration_id = int(started.headers["location"].rsplit("/", 1)[1])
    cancelled = await browser.post(f"/console/migrations/{migration_id}/rollback", {"action": "cancel"},
                                   follow_redirects=False)
    assert cancelled.status_code in (302, 303)
    final = await run_until_settled(settings, sessions, migration_id)
    assert final.state == "rolled_back" and final.rollback_reason == "cancelled by the user"
    again = await browser.post(f"/console/migrations/{migration_id}/rollback", {"action": "rollback"})
    assert again.status_code == 400 and "can no longer be rolled back" in again.text


@pytest.mark.parametrize("query, message", [
    ({}, "choose a target offer"),
    ({"offer": "abc"}, "the offer must be a whole number"),
    ({"offer": "{h100_8x}"}, "not one this deployment can move to"),
    ({"offer": "{same_us}", "paths": "workspace/relative"}, "not an absolute path"),
    ({"offer": "{same_us}", "paths": "/workspace/../etc"}, "may not contain"),
    ({"offer": "{same_us}", "window_hours": "9999"}, "the rollback window must be"),
])
async def test_bad_wizard_input_is_a_400_with_its_reason(world, sessions, query, message):
    _, source, _, browser = world
    ids = {"h100_8x": await offer_id(sessions, "sbx.h100.8x", "sandbox-us-1"),
           "same_us": await offer_id(sessions, "sbx.rtx4090.1x", "sandbox-us-1")}
    query = {k: v.format(**ids) for k, v in query.items()}
    preview = await browser.get(f"/console/instances/{source.id}/migrate/preview", params=query)
    assert preview.status_code == 400 and message in preview.text, preview.text[:600]
    start = await browser.post(f"/console/instances/{source.id}/migrate", query)
    assert start.status_code == 400 and message in start.text
    assert await migrations_count(sessions) == 0


async def test_a_missing_path_blocks_the_start(world, sessions):
    _, source, _, browser = world
    fields = {"offer": str(await offer_id(sessions, "sbx.rtx4090.1x", "sandbox-us-1")), "paths": "/workspace/nothing"}
    preview = await browser.get(f"/console/instances/{source.id}/migrate/preview", params=fields)
    assert preview.status_code == 200 and "/workspace/nothing is not a directory" in preview.text
    assert "disabled>Start migration" in preview.text
    start = await browser.post(f"/console/instances/{source.id}/migrate", fields)
    assert start.status_code == 400 and await migrations_count(sessions) == 0


async def test_another_workspaces_ids_are_not_found(world, sessions, keyring, http, clock, settings, login):
    account, source, _, browser = world
    target = str(await offer_id(sessions, "sbx.rtx4090.1x", "sandbox-us-1"))
    started = await browser.post(f"/console/instances/{source.id}/migrate", {"offer": target}, follow_redirects=False)
    migration_id = int(started.headers["location"].rsplit("/", 1)[1])
    other = await pro_account(sessions, keyring, "oz@example.com")
    stranger = await login(other.email)
    for url in (f"/console/instances/{source.id}/migrate", f"/console/instances/{source.id}/migrate/preview?offer={target}",
                f"/console/migrations/{migration_id}", f"/console/migrations/{migration_id}/status"):
        assert (await stranger.get(url)).status_code == 404, url
    assert (await stranger.post(f"/console/instances/{source.id}/migrate", {"offer": target})).status_code == 404
    own, _ = await running_source(sessions, keyring, http, clock, settings, other, name="oz-box")
    foreign_key = {"offer": target, "key": str(account.binding_id)}  # the stranger's own instance, the owner's key
    assert (await stranger.get(f"/console/instances/{own.id}/migrate/preview", params=foreign_key)).status_code == 404
    assert (await stranger.post(f"/console/instances/{own.id}/migrate", foreign_key)).status_code == 404
    assert (await stranger.post(f"/console/migrations/{migration_id}/rollback", {"action": "cancel"})).status_code == 404
    assert f'data-migration-row="{migration_id}"' not in (await stranger.get("/console/migrations")).text
    assert (await reload(sessions, Migration, migration_id)).state == "planned"


async def test_basic_sees_migrate_locked_naming_the_plan(sessions, keyring, http, clock, cloud, settings, queue, login):
    await sandbox_offers(sessions)
    account = await make_account(sessions, keyring, "bea@example.com")
    source, _ = await running_source(sessions, keyring, http, clock, settings, account)
    browser = await login(account.email)
    page = await browser.get(f"/console/instances/{source.id}")
    assert 'data-locked="migration"' in page.text and "Needs the Pro plan" in page.text
    assert 'data-migrate-link' not in page.text
    wizard = await browser.get(f"/console/instances/{source.id}/migrate")
    assert wizard.status_code == 403 and "Pro" in wizard.text
    target = str(await offer_id(sessions, "sbx.rtx4090.1x", "sandbox-us-1"))
    assert (await browser.post(f"/console/instances/{source.id}/migrate", {"offer": target})).status_code == 403
    assert (await browser.get(f"/console/migrate?offer={target}")).status_code == 403
    assert "data-move-here" not in (await browser.get("/?provider=sandbox")).text
    assert await migrations_count(sessions) == 0


async def test_move_my_deployment_here_from_the_price_list(world, sessions):
    _, source, _, browser = world
    target = await offer_id(sessions, "sbx.a100.1x", "sandbox-us-1")
    prices = await browser.get("/?provider=sandbox&per_page=100")
    assert f'href="/console/migrate?offer={target}"' in prices.text
    moved = await browser.get(f"/console/migrate?offer={target}", follow_redirects=False)
    assert moved.status_code in (302, 303) and moved.headers["location"] == f"/console/instances/{source.id}/migrate?offer={target}"
    wizard = await browser.get(moved.headers["location"])
    assert f'value="{target}" id="offer-{target}" required checked' in wizard.text
    too_small = await offer_id(sessions, "sbx.h100.8x", "sandbox-us-1")
    none_fit = await browser.get(f"/console/migrate?offer={too_small}")
    assert none_fit.status_code == 200 and "data-no-fit" in none_fit.text
    assert (await browser.get("/console/migrate?offer=0")).status_code == 400


async def test_without_a_key_the_service_takes_the_only_one_or_asks(world, sessions, keyring, settings):
    """What the CLI relies on (``computehub migrate`` sends no key unless told)."""
    from app.console import bindings
    from app.console.errors import ConsoleError
    from app.migration import service
    from providers.sandbox import generate_api_key

    account, source, _, browser = world
    target = await offer_id(sessions, "sbx.a100.1x", "sandbox-us-1")
    async with sessions() as session, session.begin():
        spare = await bindings.add_binding(session, keyring, account.user_id, "sandbox", "Spare",
                                           {"api_key": generate_api_key()})
    with pytest.raises(ConsoleError, match="you have 2 sandbox keys; name the one"):
        await service.create(sessions, settings, account.user_id, source.id, service.Target(None, target))
    wizard = await browser.get(f"/console/instances/{source.id}/migrate/preview", params={"offer": target})
    assert wizard.status_code == 400 and "choose which of your" in wizard.text
    view = await service.create(sessions, settings, account.user_id, source.id, service.Target(spare.id, target))
    assert view.migration.target_binding_id == spare.id


async def test_a_target_without_ssh_is_offered_as_config_only(world, sessions, keyring, settings):
    """A RunPod offer (the workspace has a RunPod key): ComputeHub cannot copy files there, so the
    preview says so; with paths it refuses to start, without them it starts a config-only migration."""
    from app.console import bindings
    from tests.support.factories import make_offer, seed

    account, source, _, browser = world
    await seed(sessions, [make_offer("runpod", "RTX 4090", "0.34", memory=24, instance_type="NVIDIA GeForce RTX 4090",
                                     region="EU-RO-1")])
    async with sessions() as session, session.begin():
        await bindings.add_binding(session, keyring, account.user_id, "runpod", "Pod key", {"api_key": "rp_" + "x" * 30})
        runpod = (await session.execute(select(Offer.id).where(Offer.source == "runpod"))).scalar_one()
    wizard = await browser.get(f"/console/instances/{source.id}/migrate")
    assert f'data-offer="{runpod}"' in wizard.text and "saves $36.50/month" in wizard.text  # (0.39 - 0.34) * 730

    with_paths = await browser.get(f"/console/instances/{source.id}/migrate/preview",
                                   params={"offer": runpod, "paths": "/workspace/checkpoints"})
    assert with_paths.status_code == 200
    assert "cannot run commands on RunPod instances over SSH yet" in with_paths.text
    assert "remove the paths to keep" in with_paths.text.lower() and "disabled>Start migration" in with_paths.text
    refused = await browser.post(f"/console/instances/{source.id}/migrate",
                                 {"offer": str(runpod), "paths": "/workspace/checkpoints"})
    assert refused.status_code == 400 and await migrations_count(sessions) == 0

    config_only = await browser.get(f"/console/instances/{source.id}/migrate/preview", params={"offer": runpod})
    assert "config-only" in config_only.text and "disabled>Start migration" not in config_only.text
    assert "Nothing to copy (config-only)" in config_only.text
    started = await browser.post(f"/console/instances/{source.id}/migrate", {"offer": str(runpod)},
                                 follow_redirects=False)
    assert started.status_code in (302, 303), started.text[:300]
    row = await reload(sessions, Migration, int(started.headers["location"].rsplit("/", 1)[1]))
    assert (row.target_provider, row.paths) == ("runpod", "[]")
