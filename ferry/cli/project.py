"""`ferry docs` and `ferry template`: documentation of the warehouse and empty import
templates (docs/CONTRACT.md §8)."""

from __future__ import annotations

from pathlib import Path

import typer

from ferry.cli.app import app, err, fail, out
from ferry.config import default_home
from ferry.errors import FerryError, InputError


@app.command()
def docs(home: Path | None = typer.Option(None, "--home")) -> None:
    """Write the warehouse's dbt documentation (models, columns, lineage) next to it."""
    from ferry.transform.dbt import generate_docs

    home = home or default_home()
    if not (home / "warehouse.duckdb").exists():
        fail(InputError(f"no warehouse in {home}: run `ferry migrate` first"))
    from ferry.warehouse import WarehouseLock

    def waiting(message: str) -> None:
        err.print(f"[dim]ferry: {message}[/]", highlight=False)

    try:
        with WarehouseLock(home, "docs", "-", on_wait=waiting):  # dbt opens the warehouse: not during a run
            path = generate_docs(home / "warehouse.duckdb", home)
    except FerryError as exc:
        fail(exc)
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
