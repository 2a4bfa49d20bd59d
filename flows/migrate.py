"""The Prefect flow `migrate_clients`: one migration run, each step a Prefect task.

Its parameters are `ferry migrate`'s options by field name, in JSON types (str paths, lists
for columns and tags), because a deployment's parameters arrive as JSON. The body is
`ferry.run.migrate`, the same one the CLI runs without Prefect; this module only wires it
into Prefect: tasks, retries of the load, logs, the summary artifact and the final state
(docs/CONTRACT.md §1).
"""

from __future__ import annotations

import re

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.states import Completed, Failed

from ferry.config import RunOptions
from ferry.errors import FerryError
from ferry.report import digest
from ferry.run import migrate
from ferry.target.db import is_transient

# the load is one transaction, so trying it again is safe; only transient target errors
# are retried, and never once the gate has said no
LOAD_RETRIES = 3
LOAD_RETRY_DELAYS = [10, 30, 90]


def _as_task(name, fn, *args, **kwargs):
    if name == "load":
        return _load_task(fn, *args, **kwargs)
    return task(fn, name=name, persist_result=False)(*args, **kwargs)


def _load_task(fn, *args, verdict, **kwargs):
    """The load as a task retried on transient target errors (`is_transient`); a load whose
    gate said no (or a dry run's, or a constraint's failure) is never retried."""
    answers: list[bool] = []

    def heard_verdict() -> bool:
        answers.append(verdict())
        return answers[-1]

    def retry_transient(task, task_run, state) -> bool:
        if answers and not answers[-1]:
            return False
        return isinstance(state.data, Exception) and is_transient(state.data)

    load = task(
        fn,
        name="load",
        persist_result=False,
        retries=LOAD_RETRIES,
        retry_delay_seconds=LOAD_RETRY_DELAYS,
        retry_condition_fn=retry_transient,
    )
    return load(*args, verdict=heard_verdict, **kwargs)


@flow(name="migrate_clients", persist_result=False)
def migrate_clients(
    file: str,
    tenant: str,
    source: str = "auto",
    columns: list[str] | None = None,
    mapping: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    date_order: str = "dmy",
    country: str | None = None,
    invites: str = "all",
    tags: list[str] | None = None,
    replace_existing: bool = False,
    require_password_change: bool = False,
    card_template: str | None = None,
    card_templates: str | None = None,
    max_reject_rate: float = 0.0,
    dry_run: bool = False,
    target: str | None = None,
    home: str | None = None,
):
    """Migrate one client export (`ferry migrate`'s options, docs/CONTRACT.md §1): land ->
    transform -> gate beside load -> report, each a task. Returns the run summary
    (docs/CONTRACT.md §7); a blocked run, a failed load and an unusable file end Failed
    with the reason, so a schedule's failures show as failures."""
    params = {k: v for k, v in locals().items() if v is not None}
    logger = get_run_logger()
    try:
        opts = RunOptions.from_json(**params)
        outcome = migrate(opts, step=_as_task, notice=logger.warning)
    except FerryError as exc:  # unusable input (exit 2) or a busy warehouse (exit 3)
        logger.error(str(exc))
        return Failed(message=str(exc), data=exc)
    summary = outcome.summary
    for line in digest.log_lines(summary):
        logger.info(line)
    create_markdown_artifact(
        markdown=digest.markdown(summary),
        key="ferry-" + (re.sub(r"[^a-z0-9]+", "-", summary["tenant"].lower()).strip("-") or "run"),
        description=f"Ferry run {summary['run_id']} of tenant {summary['tenant']}: {summary['status']}",
    )
    # the state's message names the run: a parent (migrate_batch) reads its run id there,
    # since results are not persisted
    reason = digest.not_loaded_reason(summary)
    if reason is not None:
        logger.error(reason)
        return Failed(message=f"{reason} (run {summary['run_id']})", data=summary)
    return Completed(message=f"{summary['status']} (run {summary['run_id']})", data=summary)
