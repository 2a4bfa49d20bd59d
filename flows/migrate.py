"""The Prefect flow `migrate_clients`: one migration run, each step a Prefect task.

The body is `ferry.run.migrate`, the same one the CLI runs without Prefect; this module
only wires its steps into tasks.
"""

from __future__ import annotations

from prefect import flow, task

from ferry.config import RunOptions
from ferry.run import RunOutcome, migrate


def _as_task(name, fn, *args, **kwargs):
    return task(fn, name=name, persist_result=False)(*args, **kwargs)


@flow(name="migrate_clients", log_prints=False, persist_result=False, validate_parameters=False)
def migrate_clients(opts: RunOptions) -> RunOutcome:
    """land -> transform -> gate -> load -> report, each step a Prefect task."""
    return migrate(opts, step=_as_task)
