"""`ferry`: the command line (CONTRACT §1 and §8). Parses arguments, calls plain functions,
maps Ferry's errors to exit codes, and prints either a readable summary or pure JSON."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ferry.config import DATE_ORDERS, INVITE_MODES, SOURCES, RunOptions, default_home, default_target
from ferry.errors import FerryError, InputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Move a business's clients, balances and invitations into a new booking system.",
)
runs_app = typer.Typer(help="The run history.", invoke_without_command=True)
app.add_typer(runs_app, name="runs")
err = Console(stderr=True)
out = Console()


def fail(exc: FerryError) -> None:
    err.print(f"[bold red]ferry:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def unexpected(exc: Exception, home: Path) -> None:
    """Report a bug without a wall of traceback (exit 1); the traceback goes to a file."""
    import traceback
    from datetime import datetime

    log = Path(home) / "errors" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        where = f"details in {log}"
    except OSError:
        where = "no log could be written"
    err.print(
        f"[bold red]ferry: unexpected error[/] ({type(exc).__name__}: {exc}); {where}. "
        "The target changes only in the load's one transaction; please report this.",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(1)


def _choice(value: str, allowed, option: str) -> str:
    if value not in allowed:
        raise InputError(f"{option} must be one of {', '.join(allowed)}, got '{value}'")
    return value


@app.command()
def migrate(
    file: Path = typer.Argument(..., help="The client export: CSV/TSV/text, .xlsx or .xls."),
    tenant: str = typer.Option(..., "--tenant", help="The business the clients belong to."),
    source: str = typer.Option("auto", "--source", help="auto, zenamu, etermin, loyalty, generic."),
    columns: str | None = typer.Option(
        None, "--columns", help="Canonical field per column, for a file without header row."
    ),
    mapping: Path | None = typer.Option(None, "--mapping", help="YAML mapping of headers (or order) to fields."),
    delimiter: str | None = typer.Option(None, "--delimiter"),
    encoding: str | None = typer.Option(None, "--encoding"),
    sheet: str | None = typer.Option(None, "--sheet", help="Sheet name or 0-based index."),
    date_order: str = typer.Option("dmy", "--date-order", help="dmy or mdy for dates like 03/04/1980."),
    country: str | None = typer.Option(None, "--country", help="Default region for phones without +."),
    invites: str = typer.Option("all", "--invites", help="all, balances or none."),
    tag: list[str] = typer.Option([], "--tag", help="Tag every imported client (repeatable)."),
    replace_existing: bool = typer.Option(False, "--replace-existing"),
    require_password_change: bool = typer.Option(False, "--require-password-change"),
    card_template: str | None = typer.Option(None, "--card-template"),
    card_templates: Path | None = typer.Option(None, "--card-templates"),
    max_reject_rate: float = typer.Option(0.0, "--max-reject-rate"),
    dry_run: bool = typer.Option(False, "--dry-run"),
    target: str | None = typer.Option(None, "--target", help="sqlite:///path or postgresql://…"),
    home: Path | None = typer.Option(None, "--home", help="Warehouse, run reports, state."),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as the only output."),
) -> None:
    """Migrate one client export into the target booking database."""
    try:
        opts = RunOptions(
            file=file,
            tenant=tenant,
            source=_choice(source, SOURCES, "--source"),
            columns=tuple(c.strip() for c in columns.split(",")) if columns is not None else None,
            mapping=mapping,
            delimiter=_delimiter(delimiter),
            encoding=encoding,
            sheet=sheet,
            date_order=_choice(date_order, DATE_ORDERS, "--date-order"),
            country=(country or os.environ.get("FERRY_DEFAULT_COUNTRY") or "CZ").upper(),
            invites=_choice(invites, INVITE_MODES, "--invites"),
            tags=tuple(tag),
            replace_existing=replace_existing,
            require_password_change=require_password_change,
            card_template=card_template,
            card_templates=card_templates,
            max_reject_rate=max_reject_rate,
            dry_run=dry_run,
            target=target,
            home=home or default_home(),
        )
        outcome = run_migration(opts)
    except FerryError as exc:
        fail(exc)
    except Exception as exc:  # a bug, not bad input: one line here, the traceback in a file
        unexpected(exc, home or default_home())
    if as_json:
        sys.stdout.write(json.dumps(outcome.summary, ensure_ascii=False) + "\n")
    else:
        print_summary(outcome.summary)
    raise typer.Exit(outcome.exit_code)


def _delimiter(value: str | None) -> str | None:
    if value is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    value = named.get(value.lower(), value)
    if len(value) != 1:
        raise InputError(f"--delimiter must be one character (or tab), got '{value}'")
    return value


def run_migration(opts: RunOptions):
    """Run as a Prefect flow when a Prefect API is configured, else the same body directly."""
    if os.environ.get("PREFECT_API_URL") or os.environ.get("FERRY_ORCHESTRATOR") == "prefect":
        from flows.migrate import migrate_clients

        return migrate_clients(opts)
    from ferry.run import migrate as migrate_body

    return migrate_body(opts, progress=_progress if sys.stderr.isatty() else None)


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
    out.print(f"report:  {summary['paths']['report']}", highlight=False, soft_wrap=True)
    out.print(f"rejects: {summary['paths']['rejects']}", highlight=False, soft_wrap=True)


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
    from ferry.report.history import list_runs

    home = home or default_home()
    items = list_runs(home, tenant)
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
        rows, clients = r["rows"], r["clients"]
        started = (r.get("started_at") or "").removesuffix(" UTC")
        colour = {"loaded": "green", "dry_run": "green", "blocked": "yellow"}.get(r["status"], "red")
        status = f"[{colour}]{r['status']}[/]" + (" [yellow](undone)[/]" if r.get("undone_at") else "")
        table.add_row(
            r["run_id"],
            started,
            r["tenant"],
            Path(r["file"]).name,
            status,
            str(rows["read"]),
            str(rows["loaded"]),
            str(rows["rejected"]),
            str(clients["new"]),
            str(clients["updated"]),
        )
    console.print(table)


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


@app.command()
def docs(home: Path | None = typer.Option(None, "--home")) -> None:
    """Write the warehouse's dbt documentation (models, columns, lineage) next to it."""
    from ferry.transform.dbt import generate_docs

    home = home or default_home()
    if not (home / "warehouse.duckdb").exists():
        fail(InputError(f"no warehouse in {home}: run `ferry migrate` first"))
    path = generate_docs(home / "warehouse.duckdb", home)
    out.print(f"warehouse documentation: {path}", highlight=False)


@app.command()
def template(
    kind: str = typer.Argument(..., help="zenamu, etermin, etermin-logins or a card type (stamp, gift, …)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="File to write (default: <kind>.<format>)."),
    fmt: str = typer.Option("csv", "--format", help="csv or xlsx."),
    language: str = typer.Option("en", "--language", help="en, de, fr, es or cs."),
) -> None:
    """Write an empty import template (headers + one example row)."""
    from ferry.ingest.import_templates import write_template

    try:
        path = write_template(kind, output or Path(f"{kind}.{fmt}"), fmt, language)
    except FerryError as exc:
        fail(exc)
    out.print(f"template written: {path}", highlight=False)


@app.command("export-contacts")
def export_contacts_cmd(
    tenant: str = typer.Option(..., "--tenant"),
    output: Path = typer.Option(..., "-o", "--output"),
    consented_only: bool = typer.Option(False, "--consented-only"),
    target: str | None = typer.Option(None, "--target"),
    home: Path | None = typer.Option(None, "--home"),
) -> None:
    """The tenant's clients for an e-mail marketing tool (formula-safe CSV)."""
    from ferry.target.contacts import export_contacts

    url = target or default_target(home or default_home())
    try:
        count = export_contacts(url, tenant, output, consented_only=consented_only)
    except FerryError as exc:
        fail(exc)
    out.print(f"{count} contacts written to {output}", highlight=False)


@app.command()
def undo(
    run_id: str,
    target: str | None = typer.Option(None, "--target"),
    home: Path | None = typer.Option(None, "--home"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Reverse a loaded run in the target, in one transaction."""
    from ferry.config import redact_url
    from ferry.report.history import record_undo
    from ferry.target.undo import undo_run

    url = target or default_target(home or default_home())
    try:
        result = undo_run(url, run_id)
    except FerryError as exc:
        fail(exc)
    record_undo(home or default_home(), run_id, redact_url(url), result)
    if as_json:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    else:
        out.print(f"run {run_id} undone: " + ", ".join(f"{k} {v}" for k, v in result.items()), highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
