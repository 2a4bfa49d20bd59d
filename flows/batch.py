"""The Prefect flow `migrate_batch`: `ferry batch` under Prefect (docs/CONTRACT.md §8).

The manifest is read and checked whole by ferry/batch.py, as the CLI does, before any run
starts; then each row becomes a child flow run of the `migrate_clients/migrate-clients`
deployment, so every tenant's run has its own logs, state and artifact in the UI and runs
on whichever worker picks it up. A child that ends Failed (blocked, failed, unusable
file) is recorded and the others go on.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.deployments import run_deployment

from ferry import config
from ferry.batch import RUN_KEYS, STATUSES, load_manifest
from ferry.config import default_home
from ferry.errors import MachineError

DEPLOYMENT = "migrate_clients/migrate-clients"
POOL = "ferry"
POLL_SECONDS = 1.0


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


RUN_IN_MESSAGE = re.compile(r"\(run (\d{8}T\d{6}Z-[0-9a-f]+)\)")


def _record(opts, flow_run) -> dict:
    """A child's state as a `ferry batch` record. Child results are not persisted, so the
    status and run id come from the state and its message (flows/migrate.py words it);
    the row counts from the run's summary when the home is shared with the worker."""
    state = flow_run.state
    message = (state.message or "") if state else "no state"
    found = RUN_IN_MESSAGE.search(message)
    run_id = found.group(1) if found else None
    record = {"tenant": opts.tenant, "file": str(opts.file), "run_id": run_id, "error": None, "rows": None}
    if run_id:
        summary = Path(opts.home) / "runs" / run_id / "summary.json"
        try:
            record["rows"] = json.loads(summary.read_text(encoding="utf-8"))["rows"]
        except (OSError, ValueError, KeyError):
            pass  # the worker's home is not this one: the page shows no counts
    if state is not None and state.is_completed():
        return {**record, "status": "dry_run" if opts.dry_run else "loaded", "exit_code": 0}
    error = RUN_IN_MESSAGE.sub("", message).strip()
    if "gate blocked" in message:
        return {**record, "status": "blocked", "exit_code": 1, "error": error}
    if "target failed" in message:
        return {**record, "status": "failed", "exit_code": 3, "error": error}
    if state is not None and state.is_failed() and message and "flow run" not in message.lower():
        return {**record, "status": "input_error", "exit_code": 2, "error": error}
    return {**record, "status": "failed", "exit_code": 1, "error": error or (state.name if state else "no state")}


async def _finished(flow_run_id):
    """The child flow run once it has ended; None when no worker started it in time (it
    is then cancelled, so no worker takes it later)."""
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled

    deadline = time.monotonic() + config.batch_start_timeout()
    async with get_client() as client:
        while True:
            flow_run = await client.read_flow_run(flow_run_id)
            state = flow_run.state
            if state is not None and state.is_final():
                return flow_run
            if (state is None or state.is_scheduled()) and time.monotonic() >= deadline:
                await client.set_flow_run_state(
                    flow_run_id, Cancelled(message="no worker started the run in time"), force=True
                )
                return None
            await asyncio.sleep(POLL_SECONDS)


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
            created = await run_deployment(DEPLOYMENT, parameters=_params(job.opts), as_subflow=True, timeout=0)
            flow_run = await _finished(created.id)
        if flow_run is None:
            record = {
                "tenant": job.opts.tenant,
                "file": str(job.opts.file),
                "run_id": None,
                "rows": None,
                "status": "failed",
                "exit_code": MachineError.exit_code,
                "error": f"no worker of pool '{POOL}' started the run within {config.batch_start_timeout():.0f} s "
                f"(FERRY_BATCH_START_TIMEOUT); it was cancelled: start one with `prefect worker start --pool {POOL}`",
            }
        else:
            record = _record(job.opts, flow_run)
        logger.info(f"{record['tenant']}: {record['status']}" + (f" ({record['error']})" if record["error"] else ""))
        return record

    runs = await asyncio.gather(*(child(job) for job in jobs))
    return {
        "runs": [{k: r[k] for k in (*RUN_KEYS, "rows")} for r in runs],
        "counts": {s: sum(r["status"] == s for r in runs) for s in STATUSES},
    }
