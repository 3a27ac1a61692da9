"""``computehub pool list|get|scale`` against the real app served by uvicorn (tests/cli's server), on a
SQLite file: what an operator sees, and what the database then says."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from rich.console import Console
from sqlalchemy import select

from app.auth import api_tokens
from app.cli import pools as pools_cli
from app.db.models import NodePool, User
from app.pools import service
from app.pools.spec import PoolSpec
from tests.cli.test_console_client import Server, World, run, world as cli_world  # noqa: F401
from tests.workspaces.support import org_with_every_role, scope_of


@pytest.fixture
def org(cli_world, monkeypatch):  # noqa: F811
    monkeypatch.setattr(pools_cli, "console", Console(width=250, color_system=None))
    found = {}

    async def setup(sessions):
        org = await org_with_every_role(sessions, cli_world.keyring, prefix="p-")
        owner = await scope_of(sessions, org.people["owner"], org.id)
        async with sessions() as session, session.begin():
            await service.create(session, owner, PoolSpec(name="trainers", gpu="h100", gpus_per_node=1,
                                                          target_nodes=0, max_nodes=8,
                                                          max_price_per_gpu_hour=Decimal("2.50")))
            _, found["token"] = await api_tokens.create_token(session, await session.get(User, owner.user_id), "cli",
                                                              can_write=True, expires_in_days=None)
        found["workspace"] = org.id
    cli_world.db(setup)
    return cli_world, found


def test_scale_and_list_a_pool_by_name(org):
    world, found = org
    with Server(world.database_url) as server:
        common = ["--url", server.url, "--token", found["token"], "--workspace", str(found["workspace"])]
        scaled = run("pool", "scale", "trainers", "8", *common)
        assert scaled.exit_code == 0, scaled.output
        assert "trainers: target 8 node(s)" in scaled.stdout
        listed = run("pool", "list", *common)
        assert listed.exit_code == 0 and "trainers" in listed.stdout and " 8 " in listed.stdout
        as_json = json.loads(run("pool", "list", *common, "--json").stdout)
        assert [(p["name"], p["target_nodes"], p["nodes_active"]) for p in as_json] == [("trainers", 8, 0)]
        over = run("pool", "scale", "trainers", "9", *common)  # above max_nodes: the server's 400
        assert over.exit_code == 1 and "max_nodes" in over.stderr
        missing = run("pool", "scale", "nobody", "1", *common)
        assert missing.exit_code == 1 and "no pool named 'nobody'" in missing.stderr
        personal = run("pool", "list", "--url", server.url, "--token", found["token"])
        assert personal.exit_code == 1 and "Enterprise" in personal.stderr

    async def target(sessions):
        async with sessions() as session:
            return (await session.execute(select(NodePool.target_nodes))).scalar_one()
    assert world.db(target) == 8
