"""`ferry batch MANIFEST`: many tenants' runs from one manifest (docs/CONTRACT.md §8); the
logic is ferry/batch.py, this module only parses options and prints."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ferry.cli.app import app, err, fail, out, unexpected
from ferry.config import default_home
from ferry.errors import FerryError


@app.command()
def batch(
    manifest: Path = typer.Argument(..., help="CSV (or YAML list) with file, tenant and any `ferry migrate` option."),
    concurrency: int | None = typer.Option(None, "--concurrency", help="Runs at once (default: the CPU count)."),
    home: Path | None = typer.Option(None, "--home", help="Warehouse, run reports, state: one for the batch."),
    target: str | None = typer.Option(None, "--target", help="Every row's target, unless its own column says."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Every row a dry run, unless its own column says."),
    as_json: bool = typer.Option(False, "--json", help="Print the runs and counts as the only output."),
) -> None:
    """Migrate many client exports, one run per manifest row, a few at a time."""
    from ferry.batch import migrate_many, migrate_many_in_prefect

    def progress(record: dict, done: int, total: int) -> None:
        run = f" run {record['run_id']}" if record["run_id"] else ""
        err.print(
            f"[dim]ferry: \\[{done}/{total}] {escape(record['tenant'])}: {record['status']}{run}[/]",
            highlight=False,
            markup=True,
            soft_wrap=True,
        )

    from ferry import orchestrator

    try:
        if orchestrator.api_url():
            err.print(
                f"[dim]ferry: running as Prefect flow migrate_batch on {orchestrator.api_url()}: each row a run "
                f"of {orchestrator.DEPLOYMENT_NAME} on work pool '{orchestrator.POOL}'[/]",
                highlight=False,
            )
            result = migrate_many_in_prefect(
                manifest, concurrency=concurrency, home=home, target=target, dry_run=dry_run
            )
        else:
            err.print("[dim]ferry: running without Prefect (no Prefect API configured)[/]", highlight=False)
            result = migrate_many(
                manifest, concurrency=concurrency, home=home, target=target, dry_run=dry_run, on_done=progress
            )
    except FerryError as exc:
        fail(exc, as_json)
    except Exception as exc:  # the machine's or a bug: one line here, a bug's traceback in a file
        unexpected(exc, home or default_home(), as_json)
    if as_json:
        sys.stdout.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
    else:
        print_batch(result)
    raise typer.Exit(result.exit_code)


def print_batch(result) -> None:
    # a pipe or a narrow terminal must never cut a run id: it is what `runs show` and `undo` take
    console = out if out.is_terminal else Console(width=200)
    table = Table(show_header=True, header_style="bold")
    for name, justify in (
        ("tenant", "left"),
        ("status", "left"),
        ("exit", "right"),
        ("read", "right"),
        ("loaded", "right"),
        ("rejected", "right"),
        ("run", "left"),
        ("error", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold", no_wrap=name in ("status", "exit", "run"))
    colour = {"loaded": "green", "dry_run": "green"}
    for r in result.runs:
        rows = r.get("rows") or {}
        table.add_row(
            Text(r["tenant"]),
            Text(r["status"], style=colour.get(r["status"], "red")),
            str(r["exit_code"]),
            *(str(rows.get(k, "")) for k in ("read", "loaded", "rejected")),
            r["run_id"] or "",
            Text(r["error"] or ""),
        )
    console.print(table)
    console.print(", ".join(f"{s} {n}" for s, n in result.counts.items() if n), highlight=False)
    console.print(f"batch report: {result.page}", highlight=False, soft_wrap=True)
