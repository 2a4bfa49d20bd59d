"""The typer apps every verb registers on, the consoles, and how errors become exit codes
(docs/CONTRACT.md §1)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ferry.errors import FerryError, log_traceback

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
    where = log_traceback(exc, home)
    err.print(
        f"[bold red]ferry: unexpected error[/] ({type(exc).__name__}: {exc}); {where}. "
        "The target changes only in the load's one transaction; please report this.",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(1)
