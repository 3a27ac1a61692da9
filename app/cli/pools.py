"""``computehub pool list|get|scale``: node pools through ``/api/v1/pools`` (an organization's: name it
with ``--workspace`` or ``COMPUTEHUB_WORKSPACE``)."""

from __future__ import annotations

from decimal import Decimal

import click
from rich.table import Table

from app.cli.client import ConsoleClient
from app.cli.remote import _dump, api_command, console

WORKSPACE = click.option("--workspace", "workspace_id", envvar="COMPUTEHUB_WORKSPACE", type=click.IntRange(1, 2**31 - 1),
                         default=None, help="The organization's workspace id (COMPUTEHUB_WORKSPACE).")


@click.group()
def pool() -> None:
    """Node pools (Enterprise): N nodes of one GPU kept running at the cheapest offers."""


@api_command(pool, "list")
@WORKSPACE
def list_pools(client: ConsoleClient, as_json: bool, workspace_id: int | None) -> None:
    """The workspace's pools with their node counts."""
    rows = client.in_workspace(workspace_id).pools()
    if as_json:
        return _dump(rows)
    table = Table("name", "gpu", "nodes", "min", "target", "max", "max $/GPU-h", "spot", "state")
    for p in rows:
        table.add_row(p["name"], f"{p['gpus_per_node']}× {p['gpu']}", str(p.get("nodes_active", 0)),
                      str(p["min_nodes"]), str(p["target_nodes"]), str(p["max_nodes"]),
                      f"${Decimal(p['max_price_per_gpu_hour']):,.2f}", p["spot_policy"], p["state"])
    console.print(table if rows else "no pools")


@api_command(pool, "get")
@click.argument("name")
@WORKSPACE
def get_pool(client: ConsoleClient, as_json: bool, name: str, workspace_id: int | None) -> None:
    """One pool: its nodes (provider, region, price) and its latest events."""
    client.in_workspace(workspace_id)
    body = client.pool(client.pool_named(name)["id"])
    if as_json:
        return _dump(body)
    console.print(f"[bold]{body['name']}[/]: {body['nodes_active']} of {body['target_nodes']} node(s) "
                  f"(min {body['min_nodes']}, max {body['max_nodes']}), {body['state']}")
    table = Table("node", "status", "provider", "region", "type", "$/GPU-h")
    for n in body["nodes"]:
        table.add_row(n["name"] or "", f"{n['status']} ({n['state']})", n["provider"] or "", n["region"] or "",
                      n["instance_type"] or "", n["price_per_gpu_hour"])
    console.print(table if body["nodes"] else "no nodes")
    for e in body["events"][:10]:
        console.print(f"{e['at'][:19].replace('T', ' ')}  {e['kind']:<14} {e['message']}")


@api_command(pool, "scale")
@click.argument("name")
@click.argument("target", type=click.IntRange(0, 100))
@WORKSPACE
def scale_pool(client: ConsoleClient, as_json: bool, name: str, target: int, workspace_id: int | None) -> None:
    """Set the pool's target node count: `computehub pool scale trainers 8`."""
    client.in_workspace(workspace_id)
    body = client.scale_pool(client.pool_named(name)["id"], target)
    if as_json:
        return _dump(body)
    console.print(f"[bold]{body['name']}[/]: target {body['target_nodes']} node(s), {body['nodes_active']} now")
