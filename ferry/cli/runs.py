"""`ferry runs` and `ferry runs show`: the run history (docs/CONTRACT.md §8)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ferry.cli.app import err, fail, out, runs_app
from ferry.cli.migrate import print_summary
from ferry.config import default_home
from ferry.errors import FerryError


@runs_app.callback()
def runs(
    ctx: typer.Context,
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's runs."),
    home: Path | None = typer.Option(None, "--home", help="Warehouse, run reports, state."),
    as_json: bool = typer.Option(False, "--json", help="Print the runs as a JSON list."),
) -> None:
    """List the runs (newest first): id, time, tenant, file, status, row and client counts."""
    ctx.obj = {"home": home}
    if ctx.invoked_subcommand is not None:
        return
    from ferry.config import default_target
    from ferry.report.history import list_runs

    home = home or default_home()
    try:
        items = _scheduled(tenant) + list_runs(home, tenant, default_target(Path(home)))
    except FerryError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(items, ensure_ascii=False) + "\n")
        return
    if not items:
        out.print(f"no runs{f' of tenant {tenant}' if tenant else ''} in {Path(home) / 'runs'}", highlight=False)
        return
    # a pipe or a narrow terminal must never cut a run id: it is what `runs show` and `undo` take
    console = out if out.is_terminal else Console(width=200)
    table = Table(show_header=True, header_style="bold")
    table.add_column("run id", no_wrap=True, min_width=23)
    table.add_column("started (UTC)", no_wrap=True)
    table.add_column("tenant")
    table.add_column("file", overflow="fold")
    table.add_column("status", no_wrap=True)
    for col in ("read", "loaded", "rejected", "new", "updated"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in items:
        if r["status"] == "scheduled":
            when = r["scheduled_at"] and datetime.fromisoformat(r["scheduled_at"]).astimezone(UTC)
            shown = f"{when:%Y-%m-%d %H:%M:%S}" if when else ""
            table.add_row(r["run_id"], shown, r["tenant"], Path(r["file"] or "").name, "[cyan]scheduled[/]")
            continue
        rows, clients = r["rows"], r["clients"]
        started = (r.get("started_at") or "").removesuffix(" UTC")
        colour = {"loaded": "green", "dry_run": "green", "blocked": "yellow"}.get(r["status"], "red")
        status = f"[{colour}]{r['status']}[/]" + (" [yellow](undone)[/]" if r.get("undone_at") else "")
        table.add_row(
            r["run_id"],
            started,
            r["tenant"],
            Path(r["file"]).name if r["file"] else "(from the target)",
            status,
            *("" if rows[k] is None else str(rows[k]) for k in ("read", "loaded", "rejected")),
            str(clients["new"]),
            str(clients["updated"]),
        )
    console.print(table)


def _scheduled(tenant: str | None) -> list[dict]:
    """The Prefect deployment's runs still waiting for their time, when a Prefect API is
    configured (docs/CONTRACT.md §8); without one nothing is imported or asked."""
    from ferry import orchestrator

    if not orchestrator.api_url():
        return []
    try:
        return orchestrator.scheduled_runs(tenant)
    except FerryError as exc:
        err.print(f"[yellow]ferry: scheduled runs not shown:[/] {exc}", highlight=False, soft_wrap=True)
        return []


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: str,
    home: Path | None = typer.Option(None, "--home", help="Warehouse, run reports, state."),
    as_json: bool = typer.Option(False, "--json", help="Print the run's summary.json only."),
) -> None:
    """One run's summary and paths."""
    from ferry.report.history import load_run_summary

    home = home or (ctx.obj or {}).get("home") or default_home()
    from ferry.invites.evidence import is_send_run

    if is_send_run(home, run_id):  # a `ferry invites send` run: its outcomes (docs/CONTRACT.md §13)
        from ferry.cli.invites import show_send_run

        return show_send_run(home, run_id, as_json)
    try:
        summary = load_run_summary(home, run_id)
    except FerryError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
        return
    print_summary(summary)
    from ferry.report.history import read_undo

    undone = read_undo(Path(home) / "runs" / run_id)
    if undone:
        out.print(f"[yellow]undone[/] at {undone.get('undone_at')} in target {undone.get('target')}", highlight=False)
    paths = summary.get("paths", {})
    run_dir = Path(paths.get("run_dir") or Path(paths.get("summary", "")).parent)
    for label, path in (
        ("summary", paths.get("summary")),
        ("gate", run_dir / "gate.json"),
        ("data docs", paths.get("data_docs")),
        ("warehouse", paths.get("warehouse")),
        ("run dir", paths.get("run_dir")),
    ):
        if path:
            out.print(f"{label + ':':<11}{path}", highlight=False, soft_wrap=True)
