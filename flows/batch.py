"""The Prefect flow `migrate_batch`: `ferry batch` under Prefect (docs/CONTRACT.md §8).

The manifest is read and checked whole by ferry/batch.py, as the CLI does, before any run
starts; then each row becomes a child flow run of the `migrate_clients/migrate-clients`
deployment, so every tenant's run has its own logs, state and artifact in the UI and runs
on whichever worker picks it up. A child that ends Failed (blocked, failed, unusable
file) is recorded and the others go on.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.deployments import run_deployment

from ferry.batch import RUN_KEYS, STATUSES, load_manifest
from ferry.config import default_home

DEPLOYMENT = "migrate_clients/migrate-clients"


def _params(opts) -> dict:
    """The child's parameters: `RunOptions` field names, JSON-typed (docs/CONTRACT.md §8)."""
    out = {}
    for name, value in vars(opts).items():
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        if value is not None:
            out[name] = value
    return out


def _record(opts, flow_run) -> dict:
    """A child's state as a `ferry batch` record. Child results are not persisted, so the
    status comes from the state and its message (flows/migrate.py words it)."""
    state = flow_run.state
    message = (state.message or "") if state else "no state"
    record = {"tenant": opts.tenant, "file": str(opts.file), "run_id": None, "error": None}
    if state is not None and state.is_completed():
        return {**record, "status": "dry_run" if opts.dry_run else "loaded", "exit_code": 0}
    if "gate blocked" in message:
        return {**record, "status": "blocked", "exit_code": 1, "error": message}
    if "target failed" in message:
        return {**record, "status": "failed", "exit_code": 3, "error": message}
    if state is not None and state.is_failed() and message and "flow run" not in message.lower():
        return {**record, "status": "input_error", "exit_code": 2, "error": message}
    return {**record, "status": "failed", "exit_code": 1, "error": message or (state.name if state else "no state")}


@flow(name="migrate_batch", persist_result=False)
async def migrate_batch(
    manifest: str,
    concurrency: int | None = None,
    home: str | None = None,
    target: str | None = None,
    dry_run: bool = False,
) -> dict:
    """One `migrate-clients` child flow run per manifest row, at most `concurrency` at once;
    returns `{"runs": [...], "counts": {...}}` as `ferry batch --json` prints it."""
    logger = get_run_logger()
    jobs = load_manifest(Path(manifest), home=Path(home) if home else default_home(), target=target, dry_run=dry_run)
    limit = asyncio.Semaphore(concurrency or os.cpu_count() or 1)

    async def child(job) -> dict:
        async with limit:
            flow_run = await run_deployment(DEPLOYMENT, parameters=_params(job.opts), as_subflow=True, timeout=None)
        record = _record(job.opts, flow_run)
        logger.info(f"{record['tenant']}: {record['status']}" + (f" ({record['error']})" if record["error"] else ""))
        return record

    runs = await asyncio.gather(*(child(job) for job in jobs))
    return {
        "runs": [{k: r[k] for k in RUN_KEYS} for r in runs],
        "counts": {s: sum(r["status"] == s for r in runs) for s in STATUSES},
    }
