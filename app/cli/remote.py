"""``computehub instances|costs|templates``: the console through its API, from a terminal or a script.

Rich tables by default, ``--json`` for machines. The server and token come from ``--url`` /
``--token`` or ``COMPUTEHUB_API_URL`` / ``COMPUTEHUB_API_TOKEN``. A refused request prints the
server's reason and exits 1; a server that cannot be reached exits 3; never a traceback."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from app.cli.client import ApiError, ClientError, ConsoleClient, MissingToken, Unreachable

console = Console()
EXIT_REFUSED, EXIT_UNREACHABLE = 1, 3


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _quiet_http_log() -> None:
    """httpx logs every request at INFO: noise on a terminal, and on stderr beside --json. Shown with -v."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)


def api_command(group: click.Group, name: str, **settings: Any) -> Callable:
    """A subcommand with --url, --token and --json, a client as its first argument, and the client's
    errors turned into a message on stderr and an exit code."""
    def wrap(function: Callable) -> click.Command:
        @group.command(name, **settings)
        @click.option("--url", envvar="COMPUTEHUB_API_URL", default=None, metavar="URL",
                      help="ComputeHub's address (COMPUTEHUB_API_URL; default http://127.0.0.1:8000).")
        @click.option("--token", envvar="COMPUTEHUB_API_TOKEN", default=None, metavar="TOKEN",
                      help="An API token (COMPUTEHUB_API_TOKEN).")
        @click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead of a table.")
        @functools.wraps(function)
        def command(url: str | None, token: str | None, as_json: bool, **kwargs: Any) -> None:
            _quiet_http_log()
            try:
                with ConsoleClient(url, token) as client:
                    function(client, as_json, **kwargs)
            except MissingToken as exc:
                raise click.UsageError(str(exc)) from None
            except Unreachable as exc:
                click.echo(f"Error: {exc}", err=True)
                raise SystemExit(EXIT_UNREACHABLE) from None
            except ApiError as exc:
                click.echo(f"Error: {exc.detail} (HTTP {exc.status})", err=True)
                raise SystemExit(EXIT_REFUSED) from None
            except ClientError as exc:
                click.echo(f"Error: {exc}", err=True)
                raise SystemExit(EXIT_REFUSED) from None
        return command
    return wrap


def _price(value: str | None) -> str:
    return "—" if value is None else f"${Decimal(value):,.4f}/h"


def _usd(value: str) -> str:
    return f"${Decimal(value):,.2f}"


def deployments_table(rows: list[dict]) -> Table:
    table = Table("id", "name", "provider", "gpu", "type", "region", "status", "since", "price", "ssh")
    for d in rows:
        table.add_row(str(d["id"]), d["name"], d["provider"], d["gpu"], d["instance_type"], d["region"],
                      d["status"] + (" (spot)" if d["spot"] else ""), str(d["status_since"])[:19].replace("T", " "),
                      _price(d["price_per_hour"]), d["ssh_command"] or "")
    return table


def _show_deployment(d: dict) -> None:
    table = Table("field", "value", show_header=False)
    for key in ("id", "name", "provider", "key_label", "gpu", "instance_type", "region", "spot", "status",
                "status_since", "price_per_hour", "ssh_command", "last_error", "created_at"):
        value = d.get(key)
        table.add_row(key, _price(value) if key == "price_per_hour" else ("" if value is None else str(value)))
    table.add_row("actions", ", ".join(d.get("available_actions") or []) or "none now")
    console.print(table)


# ---- instances -----------------------------------------------------------------------------------

@click.group()
def instances() -> None:
    """Your deployments, through the console API (list, get, launch, start, stop, reboot, delete)."""


@api_command(instances, "list")
def list_instances(client: ConsoleClient, as_json: bool) -> None:
    """Deployments that are not deleted or failed."""
    rows = client.deployments()
    if as_json:
        return _dump(rows)
    console.print(deployments_table(rows) if rows else "no deployments")


@api_command(instances, "get")
@click.argument("instance_id", type=click.IntRange(1, 2**31 - 1))
def get_instance(client: ConsoleClient, as_json: bool, instance_id: int) -> None:
    """One deployment, with what can be done to it now."""
    row = client.deployment(instance_id)
    _dump(row) if as_json else _show_deployment(row)


@api_command(instances, "launch")
@click.option("--offer", "offer_id", type=click.IntRange(1, 2**31 - 1), help="An offer id (/api/v1/prices).")
@click.option("--template", "template_id", type=click.IntRange(1, 2**31 - 1), help="Or a template id.")
@click.option("--key", "key_id", required=True, type=click.IntRange(1, 2**31 - 1),
              help="Which of your provider keys launches it (`ids` from the keys list).")
@click.option("--name", required=True, help="The deployment's name.")
@click.option("--image", default=None, help="Image (offers only; the provider's default if omitted).")
@click.option("--disk-gb", type=click.IntRange(10, 65536), default=None, help="Disk size (offers only).")
@click.option("--ssh-key-file", type=click.File("r"), default=None, help="A public SSH key to install (offers only).")
def launch_instance(client: ConsoleClient, as_json: bool, offer_id: int | None, template_id: int | None, key_id: int,
                    name: str, image: str | None, disk_gb: int | None, ssh_key_file) -> None:
    """Launch an offer (--offer) or a template (--template) on one of your keys."""
    if (offer_id is None) == (template_id is None):
        raise click.UsageError("give either --offer or --template")
    if template_id is not None:
        if image or disk_gb or ssh_key_file:
            raise click.UsageError("--image, --disk-gb and --ssh-key-file come from the template")
        row = client.launch_template(template_id, key_id, name)
    else:
        row = client.launch(offer_id=offer_id, key_id=key_id, name=name, image=image, disk_gb=disk_gb,
                            ssh_public_key=ssh_key_file.read().strip() if ssh_key_file else None)
    if as_json:
        return _dump(row)
    console.print(f"launched [bold]{row['name']}[/] (id {row['id']}): {row['status']}")


def _operation(name: str, verb: str) -> None:
    @api_command(instances, name, help=f"{verb} one or more deployments (several ids: one batch, a result each).")
    @click.argument("instance_ids", nargs=-1, required=True, type=click.IntRange(1, 2**31 - 1))
    @click.option("--yes", "-y", is_flag=True, hidden=name != "delete", help="Do not ask before deleting.")
    def command(client: ConsoleClient, as_json: bool, instance_ids: tuple[int, ...], yes: bool) -> None:
        ids = list(dict.fromkeys(instance_ids))
        if name == "delete" and not yes:
            click.confirm(f"Delete deployment{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}? "
                          "The provider destroys the instance and its disk", abort=True, err=True)
        if len(ids) == 1:
            row = client.act(ids[0], name)
            if as_json:
                return _dump(row)
            console.print(f"{name} requested for [bold]{row['name']}[/] (id {row['id']}): now {row['status']}")
            return
        result = client.batch(name, ids)
        if as_json:
            _dump(result)
        else:
            table = Table("id", "name", "outcome", "message")
            for item in result["results"]:
                table.add_row(str(item["id"]), item["name"], item["outcome"], item["message"])
            console.print(table)
        if result["failed"]:
            raise SystemExit(EXIT_REFUSED)


for _name, _verb in (("start", "Start"), ("stop", "Stop"), ("reboot", "Reboot"), ("delete", "Delete")):
    _operation(_name, _verb)


# ---- costs and templates -------------------------------------------------------------------------

@click.group()
def _top_level() -> None:
    """Holds ``costs`` while it is built; the main ``computehub`` group adds it."""


@api_command(_top_level, "costs")
@click.option("--from", "date_from", default=None, metavar="YYYY-MM-DD", help="First day (your time zone).")
@click.option("--to", "date_to", default=None, metavar="YYYY-MM-DD", help="Last day (default: today).")
@click.option("--provider", default=None, help="Only this provider.")
@click.option("--gpu", default=None, help="Only this GPU (slug, e.g. h100-sxm).")
@click.option("--by", "group_by", type=click.Choice(["provider", "gpu", "deployment"]), default="provider",
              show_default=True, help="How the table groups the range.")
def costs(client: ConsoleClient, as_json: bool, date_from: str | None, date_to: str | None, provider: str | None,
          gpu: str | None, group_by: str) -> None:
    """What your deployments cost: the range's total, this month, this week, the burn now, and a breakdown."""
    body = client.costs(**{"from": date_from, "to": date_to, "provider": provider, "gpu": gpu})
    if as_json:
        return _dump(body)
    console.print(f"{body['date_from']} – {body['date_to']} ({body['time_zone']}): total [bold]{_usd(body['total'])}[/] · "
                  f"this month {_usd(body['this_month'])} · this week {_usd(body['this_week'])} · "
                  f"burning {_usd(body['burn_per_hour'])}/h")
    groups = body[f"by_{group_by}"]
    table = Table(group_by, "amount")
    for group in groups:
        table.add_row(group["label"], _usd(group["amount"]))
    console.print(table if groups else "no costs in this range")


@click.group()
def templates() -> None:
    """Your deployment templates, through the console API."""


@api_command(templates, "list")
def list_templates(client: ConsoleClient, as_json: bool) -> None:
    """Your deployment templates (launch one with `computehub instances launch --template ID`)."""
    rows = client.templates()
    if as_json:
        return _dump(rows)
    table = Table("id", "name", "provider", "type", "region", "gpu", "image", "disk")
    for t in rows:
        table.add_row(str(t["id"]), t["name"], t["provider"], t["instance_type"], t["region"] + (" (spot)" if t["spot"] else ""),
                      t["gpu"] or "", t["image"] or "default", f"{t['disk_gb']} GB" if t["disk_gb"] else "default")
    console.print(table if rows else "no templates")


# ---- migrate --------------------------------------------------------------------------------------

MIGRATION_FINAL = ("done", "rolled_back")


def _path_arg(raw: str) -> dict:
    source, _, target = raw.partition(":")
    return {"source": source, "target": target or source}


def _step_lines(body: dict, seen: set) -> list[str]:
    """Each step attempt not printed yet, once it has an outcome."""
    lines = []
    for step in body["steps"]:
        key = (step["state"], step["attempt"], step["outcome"])
        if step["outcome"] and key not in seen:
            seen.add(key)
            lines.append(f"{step['state']} #{step['attempt']}: {step['outcome']}"
                         + (f" - {step['log']}" if step["log"] else ""))
    return lines


def _cut_over_and_kept(body: dict) -> bool:
    """Switched to the new instance, the old one kept for the rollback window: nothing more to
    watch until the window ends (``computehub migrate`` stops waiting there)."""
    from datetime import datetime, timezone

    if body["state"] != "cleaning_up" or not body.get("switched_at") or not body.get("rollback_until"):
        return False
    return datetime.fromisoformat(body["rollback_until"]) > datetime.now(timezone.utc)


def _migrate_command() -> None:
    @api_command(_top_level, "migrate")
    @click.argument("instance_id", metavar="INSTANCE", type=click.IntRange(1, 2**31 - 1))
    @click.option("--to", "offer_id", required=True, type=click.IntRange(1, 2**31 - 1),
                  help="The target offer's id (/api/v1/prices).")
    @click.option("--key", "key_id", type=click.IntRange(1, 2**31 - 1), default=None,
                  help="Your provider key for the target (default: your only key for its provider).")
    @click.option("--path", "paths", multiple=True, metavar="SRC[:DST]",
                  help="A directory to keep (repeat; DST: where it goes on the target). None: config-only.")
    @click.option("--bucket", default="", help="The bound bucket the files go through (not on the sandbox).")
    @click.option("--rollback-window-hours", "window", type=click.IntRange(0, 720), default=24, show_default=True,
                  help="How long the old instance is kept stopped for a rollback.")
    @click.option("--no-wait", is_flag=True, help="Start it and print it; do not follow its progress.")
    @click.option("--interval", type=click.FloatRange(0.1, 60), default=2.0, hidden=True)
    def migrate(client: ConsoleClient, as_json: bool, instance_id: int, offer_id: int, key_id: int | None,
                paths: tuple[str, ...], bucket: str, window: int, no_wait: bool, interval: float) -> None:
        """Move deployment INSTANCE to offer --to (Pro): prints each step until it is done or rolled back."""
        import time

        body = client.start_migration(instance_id=instance_id, offer_id=offer_id, key_id=key_id,
                                      paths=[_path_arg(p) for p in paths], bucket=bucket or None,
                                      rollback_window_hours=window)
        if not as_json:
            target = body["target"]
            console.print(f"migration {body['id']}: instance {instance_id} to {target['provider']} "
                          f"{target['instance_type']} in {target['region']} ({_price(target['price_per_hour'])})")
        seen: set = set()
        while not no_wait and body["state"] not in MIGRATION_FINAL and not _cut_over_and_kept(body):
            time.sleep(interval)
            body = client.migration(body["id"])
            if not as_json:
                for line in _step_lines(body, seen):
                    click.echo(line)
        if as_json:
            _dump(body)
        elif no_wait:
            console.print(f"started: {body['state']} (follow it at GET /api/v1/migrations/{body['id']} or "
                          f"/console/migrations/{body['id']})")
        elif _cut_over_and_kept(body):
            console.print(f"switched to the new instance; the old one is kept until {body['rollback_until']} "
                          f"for a rollback (/console/migrations/{body['id']})")
        elif body["state"] == "done":
            console.print("[bold]done[/]")
        else:
            console.print(f"[bold]rolled back[/]: {body.get('rollback_reason') or body.get('error') or ''}")
        if body["state"] == "rolled_back":
            raise SystemExit(EXIT_REFUSED)


_migrate_command()
migrate = _top_level.commands["migrate"]
