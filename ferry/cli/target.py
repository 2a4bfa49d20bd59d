"""`ferry export-contacts` and `ferry undo`: verbs that work on the target booking database
(docs/CONTRACT.md §8, §11)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ferry.cli.app import app, fail, out
from ferry.config import default_home, default_target
from ferry.errors import FerryError


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
