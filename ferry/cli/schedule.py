"""`ferry schedule FILE --tenant T --at TIME [migrate's options]` (docs/CONTRACT.md §8): one
run of the Prefect deployment `migrate_clients/migrate-clients`, scheduled for a worker of
pool `ferry`. Its options are `ferry migrate`'s, declared once in `RunOptions`."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import typing
from datetime import datetime
from pathlib import Path

import typer

from ferry.cli.app import app, err, fail, out
from ferry.cli.migrate import run_options_parameters
from ferry.config import RunOptions
from ferry.errors import FerryError, InputError

PATH_OPTIONS = ("file", "mapping", "card_templates", "home")


def parse_at(value: str) -> datetime:
    """An ISO-8601 time; without an offset it is this machine's local time."""
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"--at must be an ISO-8601 time such as 2026-12-24T22:00+01:00, got '{value}'") from None
    return at if at.tzinfo is not None else at.astimezone()


def flow_parameters(values: dict[str, typing.Any]) -> dict[str, typing.Any]:
    """The flow's parameters from the CLI's values: checked and parsed as `ferry migrate`
    does, paths absolute (the worker runs elsewhere), and only the options given, so the
    worker's own defaults (FERRY_HOME, FERRY_TARGET_URL, the country) apply to the rest."""
    from ferry.run import check_options

    opts = RunOptions.from_cli(**values)
    # `ferry migrate`'s refusals now, not at the scheduled time; a file that is not here yet
    # is the worker's to read then
    check_options(opts if Path(opts.file).exists() else dataclasses.replace(opts, file=Path(os.devnull)))
    params = opts.to_json()
    for name in PATH_OPTIONS:
        if params.get(name) is not None:
            params[name] = str(Path(params[name]).expanduser().absolute())
    return {k: v for k, v in params.items() if values.get(k) is not None}


@app.command()
@run_options_parameters
def schedule(
    *,
    at: str = typer.Option(..., "--at", help="When to run: an ISO-8601 time, e.g. 2026-12-24T22:00+01:00."),
    as_json: bool = typer.Option(False, "--json", help="Print the scheduled run as JSON only."),
    **values: typing.Any,
) -> None:
    """Schedule a migration on the Prefect deployment migrate_clients/migrate-clients."""
    from ferry import orchestrator

    try:
        when = parse_at(at)
        params = flow_parameters(values)
        if not Path(params["file"]).exists():
            err.print(
                f"[yellow]note:[/] {params['file']} does not exist here; the worker reads it at the scheduled time",
                highlight=False,
                soft_wrap=True,
            )
        scheduled = orchestrator.schedule_run(params, when)
    except FerryError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(scheduled, ensure_ascii=False) + "\n")
        return
    out.print(
        f"scheduled flow run {scheduled['flow_run_id']} ({scheduled['name']}) of {scheduled['deployment']} "
        f"at {scheduled['scheduled_at']}",
        highlight=False,
        soft_wrap=True,
    )
