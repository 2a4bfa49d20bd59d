"""`ferry migrate` (docs/CONTRACT.md §1): its options are `RunOptions`' fields, declared
once in ferry/config.py, so the command has only what the CLI adds (--json) and a body."""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
import typing
from collections.abc import Callable

import typer
from rich.table import Table

from ferry.cli.app import app, err, fail, out, unexpected
from ferry.config import RunOptions, default_home
from ferry.errors import FerryError


def run_options_parameters(func: Callable) -> Callable:
    """Give `func` (which takes `**values`) one typer parameter per `RunOptions` field, from
    the field's `Flag`, then its own parameters; typer reads the command from `__signature__`.
    A field with a default factory is optional on the CLI: None there means the factory's."""
    hints = typing.get_type_hints(RunOptions)
    params = []
    for f in dataclasses.fields(RunOptions):
        flag = f.metadata["cli"]
        annotation = flag.type or hints[f.name]
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default, annotation = None, annotation | None
        else:
            default = ...
        if flag.name is None:
            info = typer.Argument(default, help=flag.help)
        else:
            info = typer.Option(default, flag.name, help=flag.help)
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation))
    own = inspect.signature(func, eval_str=True)
    params += [p for p in own.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    func.__signature__ = own.replace(parameters=params)
    return func


@app.command()
@run_options_parameters
def migrate(
    *,
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as the only output."),
    **values: typing.Any,
) -> None:
    """Migrate one client export into the target booking database."""
    try:
        outcome = run_migration(RunOptions.from_cli(**values))
    except FerryError as exc:
        fail(exc, as_json)
    except Exception as exc:  # the machine's or a bug: one line here, a bug's traceback in a file
        unexpected(exc, values["home"] or default_home(), as_json)
    if as_json:
        sys.stdout.write(json.dumps(outcome.summary, ensure_ascii=False) + "\n")
    else:
        print_summary(outcome.summary)
    raise typer.Exit(outcome.exit_code)


def run_migration(opts: RunOptions):
    """Run as the Prefect flow when a Prefect API is configured (environment or profile),
    else the same body directly; stderr says which (docs/CONTRACT.md §1)."""
    from ferry import orchestrator

    if orchestrator.uses_prefect():
        where = orchestrator.api_url() or "a temporary local server"
        err.print(f"[dim]ferry: running as Prefect flow {orchestrator.FLOW} on {where}[/]", highlight=False)
        return _run_flow(opts)
    err.print("[dim]ferry: running without Prefect (no Prefect API configured)[/]", highlight=False)
    from ferry.run import migrate as migrate_body

    return migrate_body(opts, progress=_progress if sys.stderr.isatty() else None)


def _run_flow(opts: RunOptions):
    """The flow in this process, its final state turned back into the plain run's outcome:
    the summary and its exit code, or the FerryError (exit 2 or 3) it failed with."""
    from contextlib import nullcontext

    from ferry import orchestrator
    from ferry.report.digest import exit_code
    from ferry.run import RunOutcome

    orchestrator.enter_prefect()
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.migrate import migrate_clients

    url = orchestrator.api_url()
    with temporary_settings({PREFECT_API_URL: url}) if url else nullcontext():
        state = migrate_clients(**opts.to_json(), return_state=True)
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        raise result
    return RunOutcome(summary=result, exit_code=exit_code(result))


STEP_LABELS = {
    "land": "reading the file",
    "snapshot": "reading the target",
    "prepare": "preparing",
    "transform": "cleaning and mapping (dbt)",
    "gate": "checking (Great Expectations)",
    "load": "loading the target",
}


def _progress(step: str, seconds: float | None) -> None:
    """One line per step on a terminal's stderr, so a long run shows where it is."""
    label = STEP_LABELS.get(step, step)
    if seconds is None:
        err.print(f"[dim]… {label}[/]", highlight=False)
    else:
        err.print(f"[dim]✓ {label} ({seconds:.1f} s)[/]", highlight=False)


def print_summary(summary: dict) -> None:
    status = summary["status"]
    colour = {"loaded": "green", "dry_run": "green", "blocked": "red"}.get(status, "red")
    rows = summary["rows"]
    out.print(
        f"[bold {colour}]{status}[/]  tenant [bold]{summary['tenant']}[/]  run {summary['run_id']}", highlight=False
    )
    out.print(
        f"file {summary['source']['file']} ({summary['source']['format']}, {summary['source']['encoding']}, "
        f"delimiter {summary['source']['delimiter']!r}, system {summary['source']['system']})",
        highlight=False,
    )
    table = Table(show_header=True, header_style="bold")
    for key in ("read", "valid", "rejected", "merged", "duplicate", "loaded"):
        table.add_column(key, justify="right")
    table.add_row(*(str(rows[k]) for k in ("read", "valid", "rejected", "merged", "duplicate", "loaded")))
    out.print(table)
    c = summary["clients"]
    out.print(
        f"clients new {c['new']}, updated {c['updated']}, unchanged {c['unchanged']}; "
        f"invitations queued {summary['invites_queued']}",
        highlight=False,
    )
    out.print("balances: " + ", ".join(f"{k} {v}" for k, v in summary["balances"].items()), highlight=False)
    issues = {k: v for k, v in summary["issue_counts"].items() if v}
    if issues:
        out.print("issues: " + ", ".join(f"{k} {v}" for k, v in issues.items()), highlight=False)
    failed = [c["name"] for c in summary["gate"]["checks"] if not c["passed"]]
    if failed:
        out.print(f"[red]gate blocked the load:[/] {', '.join(failed)}", highlight=False)
    if summary.get("error"):
        out.print(f"[red]target failed:[/] {summary['error']}", highlight=False)
    if summary["unmapped_columns"]:
        out.print("kept in extra (unmapped): " + ", ".join(summary["unmapped_columns"]), highlight=False)
    for c in summary.get("mapping") or []:
        if c.get("warning"):
            out.print(f"[yellow]column {c['index']} ({c['header']}):[/] {c['warning']}", highlight=False)
    out.print(f"report:  {summary['paths']['report']}", highlight=False, soft_wrap=True)
    out.print(f"rejects: {summary['paths']['rejects']}", highlight=False, soft_wrap=True)
