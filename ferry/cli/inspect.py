"""`ferry inspect FILE`: what Ferry would read, before anything is written (docs/CONTRACT.md §8).
The logic is ferry/ingest/inspect.py; this module only parses options and prints."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from ferry.cli.app import app, fail, out, unexpected
from ferry.config import SOURCES, default_home
from ferry.errors import FerryError


@app.command()
def inspect(
    file: Path = typer.Argument(..., help="The client export: CSV/TSV/text, .xlsx or .xls."),
    source: str = typer.Option("auto", "--source", help=f"{', '.join(SOURCES)}."),
    columns: str | None = typer.Option(None, "--columns", help="Canonical field per column (no header row)."),
    mapping: Path | None = typer.Option(None, "--mapping", help="YAML mapping of headers (or order) to fields."),
    delimiter: str | None = typer.Option(None, "--delimiter", help="One character, or tab, comma, semicolon, pipe."),
    encoding: str | None = typer.Option(None, "--encoding", help="e.g. utf-8, cp1250, utf-16."),
    sheet: str | None = typer.Option(None, "--sheet", help="Sheet name or 0-based index."),
    date_order: str = typer.Option("dmy", "--date-order", help="dmy or mdy for dates like 03/04/1980."),
    country: str | None = typer.Option(None, "--country", help="Default region for phones without +."),
    card_template: str | None = typer.Option(None, "--card-template", help="The card template of the balance."),
    card_templates: Path | None = typer.Option(None, "--card-templates", help="A CSV of your own card templates."),
    as_json: bool = typer.Option(False, "--json", help="Print what Ferry would read as one JSON document."),
    write_mapping: Path | None = typer.Option(
        None, "--write-mapping", help="Write the decided mapping as a --mapping YAML file to edit."
    ),
) -> None:
    """Show how Ferry would read a file (columns, fields, first rows); writes nothing."""
    try:
        from ferry.config import RunOptions
        from ferry.ingest import inspect as inspection

        if not Path(file).is_file():
            raise_input(f"{file}: no such file")
        opts = RunOptions.from_json(
            file=str(file),
            tenant="inspect",
            source=source,
            columns=columns,
            mapping=str(mapping) if mapping else None,
            delimiter=delimiter,
            encoding=encoding,
            sheet=sheet,
            date_order=date_order,
            country=country,
            card_template=card_template,
            card_templates=str(card_templates) if card_templates else None,
        )
        report = inspection.inspect_file(opts)
        if write_mapping is not None:
            inspection.write_mapping(write_mapping, report["columns"])
    except FerryError as exc:
        fail(exc)
    except Exception as exc:  # a bug: one line here, the traceback in a file
        unexpected(exc, default_home())
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, default=str) + "\n")
        return
    print_report(report, write_mapping)


def raise_input(message: str) -> None:
    from ferry.errors import InputError

    raise InputError(message)


def print_report(report: dict, written: Path | None) -> None:
    out.print(
        f"[bold]{report['file']}[/]: {report['format']}, encoding {report['encoding']}, "
        f"delimiter {report['delimiter']!r}, sheet {report['sheet']}, header row {report['header_row']}, "
        f"system {report['system']}, {report['rows']} data rows",
        highlight=False,
    )
    table = Table(show_header=True, header_style="bold")
    for name in ("#", "header", "field", "confidence", "reason"):
        table.add_column(name, overflow="fold")
    for c in report["columns"]:
        confidence = "" if c["confidence"] is None else f"{c['confidence']:.2f}"
        field = f"[green]{c['field']}[/]" if c["field"] else "[dim]–[/]"
        table.add_row(str(c["index"]), c["header"] or "", field, confidence, c["reason"] or "")
    out.print(table)
    if report["preview"]:
        rows = Table(show_header=True, header_style="bold", title="first rows as they would load")
        fields = list(dict.fromkeys(f for r in report["preview"] for f in r["fields"]))
        for name in ["row", *fields, "issues"]:
            rows.add_column(name, overflow="fold")
        for r in report["preview"]:
            cells = ["" if r["fields"].get(f) is None else str(r["fields"][f]) for f in fields]
            rows.add_row(str(r["row"]), *cells, ", ".join(r["issues"]))
        out.print(rows)
    for w in report["warnings"]:
        out.print(f"[yellow]warning:[/] {w}", highlight=False)
    if written:
        out.print(f"mapping written to {written}; edit it and pass it back with --mapping", highlight=False)
