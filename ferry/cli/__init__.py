"""`ferry`, the command line (docs/CONTRACT.md §1 and §8): one typer app, one module per verb
group. Importing a verb module registers its commands; the order is `ferry --help`'s."""

from ferry.cli import (  # noqa: F401
    batch,
    inspect,
    invites,
    migrate,
    project,
    runs,
    schedule,
    target,
)
from ferry.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
