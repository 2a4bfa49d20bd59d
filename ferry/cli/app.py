"""The typer apps every verb registers on, the consoles, and how errors become exit codes
(docs/CONTRACT.md §1)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from ferry.errors import BUG_EXIT, FerryError, log_traceback, machine_error

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Move a business's clients, balances and invitations into a new booking system.",
)
runs_app = typer.Typer(help="The run history.", invoke_without_command=True)
app.add_typer(runs_app, name="runs")
invites_app = typer.Typer(help="Send the queued invitations (SMTP or a RabbitMQ broker).", no_args_is_help=True)
app.add_typer(invites_app, name="invites")
err = Console(stderr=True)
out = Console()


def fail(exc: FerryError, as_json: bool = False) -> None:
    """The error's one line on stderr and its exit code; under --json also one JSON document
    on stdout (`status` input_error for exit 2, else failed), so stdout always parses."""
    err.print(f"[bold red]ferry:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
    if as_json:
        print_error_json(exc.exit_code, str(exc))
    raise typer.Exit(exc.exit_code)


def print_error_json(code: int, message: str) -> None:
    status = "input_error" if code == 2 else "failed"
    doc = {"status": status, "exit_code": code, "run_id": None, "error": message}
    sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")


def unexpected(exc: Exception, home: Path, as_json: bool = False) -> None:
    """An error no step turned into a FerryError: the machine's fault (disk full, a folder
    Ferry may not write, memory: exit 5 naming what to fix), or a bug, reported without a
    wall of traceback (exit 70); the traceback goes to a file."""
    machine = machine_error(exc, home)
    if machine is not None:
        fail(machine, as_json)
    where = log_traceback(exc, home)
    err.print(
        f"[bold red]ferry: unexpected error[/] ({type(exc).__name__}: {escape(str(exc))}); {where}. "
        "The target changes only in the load's one transaction; please report this.",
        highlight=False,
        soft_wrap=True,
    )
    if as_json:
        print_error_json(BUG_EXIT, f"unexpected error ({type(exc).__name__}: {exc}); {where}; please report this")
    raise typer.Exit(BUG_EXIT)
