"""`ferry`, the command line: one typer app, one module per verb group."""

from ferry.cli.main import app, main

__all__ = ["app", "main"]
