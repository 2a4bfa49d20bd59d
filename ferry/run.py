"""One migration run: land -> transform -> gate -> load -> report.

`migrate()` is the run's body, written once. The Prefect flow `flows.migrate:migrate_clients`
runs it with each step as a task; the CLI runs the same body with plain calls unless a
Prefect API is configured, because Prefect's temporary server costs seconds per run and a
user waiting that long for a 3-row dry run will not come back.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ferry import config
from ferry.config import RunOptions, quiet_environment, redact_url
from ferry.errors import ControlTotalsMismatch, InputError, TargetError
from ferry.gate.process import gate_in_worker, start_gate_worker, stop_gate_worker
from ferry.ingest.card_templates import templates_for_run, write_card_templates
from ferry.ingest.process import land_beside
from ferry.report import summary as report_step
from ferry.target.snapshot import read_target_snapshot, write_target_snapshot
from ferry.workspace import RunSpace, open_run_space

if TYPE_CHECKING:
    from ferry.gate.validate import GateResult
    from ferry.ingest.land import LandResult
    from ferry.target.load import LoadResult

Step = Callable[..., object]


@dataclass
class RunOutcome:
    summary: dict
    exit_code: int


@dataclass(frozen=True)
class StepResults:
    """What the steps of one run produced: everything its reports are written from."""

    run_id: str
    run_dir: Path
    started_at: str
    landed: LandResult
    checked: GateResult
    loaded: LoadResult | None
    status: str  # loaded, dry_run, blocked or failed (docs/CONTRACT.md §7)
    failure: TargetError | None = None  # the target's failure of a 'failed' run

    @property
    def error(self) -> str | None:
        """The failure's text, as the summary's `error` states it."""
        return None if self.failure is None else str(self.failure)

    @property
    def control_totals(self) -> dict | None:
        """The sums the load re-read from the target (docs/CONTRACT.md §6): from its result
        when it committed, from the mismatch when they rolled it back; None otherwise."""
        if self.status == "loaded" and self.loaded is not None:
            return self.loaded.control_totals
        if self.status == "failed" and isinstance(self.failure, ControlTotalsMismatch):
            return self.failure.control_totals
        return None


def new_run_id() -> str:
    """Sortable by time, unique across machines: 20261124T081500Z-3f9a1c."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def check_options(opts: RunOptions) -> None:
    """Refuse bad arguments before anything is read or written (exit 2)."""
    if not opts.tenant or not opts.tenant.strip():
        raise InputError("--tenant must name the business the clients belong to")
    if not Path(opts.file).exists():
        raise InputError(f"{opts.file}: file not found")
    if Path(opts.file).is_dir():
        raise InputError(f"{opts.file}: is a folder, not an export file")
    if not 0 <= opts.max_reject_rate <= 1:
        raise InputError(f"--max-reject-rate must be between 0 and 1, got {opts.max_reject_rate}")
    url = opts.target_url
    if not (url.startswith("sqlite:///") or url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))):
        raise InputError(f"--target must be sqlite:///path or postgresql://…, got '{url.split('://')[0]}://…'")
    if not url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        try:
            make_url(url).port  # noqa: B018  (a port that is not a number raises here, not in the load)
        except ValueError:
            raise InputError(f"--target {redact_url(url)}: the port is not a number") from None
    check_home(Path(opts.home))


def check_home(home: Path) -> None:
    """The home must be a folder Ferry can write (exit 2 naming it), not a file or a
    read-only place: found now, before a run starts, not as a traceback mid-run."""
    if home.exists() and not home.is_dir():
        raise InputError(f"--home {home}: is a file, not a folder; name a folder for Ferry's warehouse and reports")
    warehouse = home / "warehouse.duckdb"
    if warehouse.exists() and not warehouse.is_file():
        raise InputError(f"--home {home}: {warehouse.name} there is not a file; move it away or name another home")
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / f".ferry-write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(
            f"--home {home}: Ferry cannot write there ({exc.strerror or exc}); name a writable folder"
        ) from None


def prepare(opts: RunOptions, db: Path, run_id: str, landed, snapshot, templates) -> None:
    """Write what the rules need besides the file into the run's DuckDB file `db`: card
    templates and the target snapshot."""
    if "card_balance" in landed.columns and not opts.card_template:
        raise InputError(
            f"{opts.file}: column {landed.columns['card_balance']} holds a card balance; "
            "pass --card-template NAME so Ferry knows what kind of card it is"
        )
    con = duckdb.connect(str(db))
    try:
        report_step.ensure_run_results(con)
        write_card_templates(con, run_id, templates)
        write_target_snapshot(con, run_id, snapshot.logins, snapshot.account_emails)
    finally:
        con.close()


def _tell_stderr(message: str) -> None:
    print(f"ferry: {message}", file=sys.stderr, flush=True)


def migrate(
    opts: RunOptions,
    step: Callable = lambda name, fn, *a, **k: fn(*a, **k),
    progress: Callable[[str, float | None], None] | None = None,
    notice: Callable[[str], None] = _tell_stderr,
) -> RunOutcome:
    """The flow body. `step(name, fn, *args)` runs one step (plainly, or as a Prefect task);
    `progress(step, seconds)` hears when a step starts (seconds None) and ends; `notice`
    hears what the user should know while the run waits (never stdout: --json owns it).

    The run holds the home's warehouse lock (ferry/warehouse.py) from land until its load
    is staged and the gate has answered, and again while it writes its reports: runs on one
    home never mix their warehouse work, and still load their targets in parallel."""
    quiet_environment(opts.home)
    check_options(opts)
    templates = templates_for_run(opts.card_template, opts.card_templates)  # bad ones: exit 2 before work
    run_id = new_run_id()
    run_dir = opts.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    timings: dict[str, float] = {}

    def timed(name, fn, *args, **kwargs):
        t0 = time.perf_counter()
        if progress:
            progress(name, None)
        try:
            return step(name, fn, *args, **kwargs)
        finally:
            timings[name] = round(time.perf_counter() - t0, 3)
            if progress:
                progress(name, timings[name])

    space = open_run_space(opts, run_id, notice)
    try:
        lock = space.lock
        lock.acquire()
        try:
            landed, checked, loaded, failure = _warehouse_steps(opts, space, run_dir, templates, timed)
        finally:
            lock.release()
        loaded, failure, status = _settle(checked, loaded, failure, opts.dry_run)

        t0 = time.perf_counter()
        with lock:  # the report reads the run's marts and records its result in the warehouse
            summary = step(
                "report",
                write_reports,
                opts,
                space,
                StepResults(run_id, run_dir, started_at, landed, checked, loaded, status, failure=failure),
                notice,
            )
        timings["report"] = round(time.perf_counter() - t0, 3)
    finally:
        space.close()
    (run_dir / "timings.json").write_text(json.dumps(timings, indent=2))
    if failure is not None:
        return RunOutcome(summary=summary, exit_code=failure.exit_code)
    return RunOutcome(summary=summary, exit_code=0 if checked.passed else 1)


def _warehouse_steps(opts: RunOptions, space: RunSpace, run_dir: Path, templates, timed):
    """land -> snapshot -> prepare -> transform -> gate beside the load, in the run's DuckDB
    file. Working in the home's warehouse, the run gives its lock up as soon as the load
    has staged and the gate has answered (docs/CONTRACT.md §9)."""
    from ferry.target.load import load_run
    from ferry.transform.dbt import transform

    run_id, db, lock = space.run_id, space.db, space.lock
    landed = timed("land", land_beside, opts, run_id, db)
    snapshot = timed("snapshot", read_target_snapshot, opts.target_url, opts.tenant)
    timed("prepare", prepare, opts, db, run_id, landed, snapshot, templates)
    start_gate_worker()  # Great Expectations imports in its own process while dbt starts
    try:
        timed("transform", transform, db, opts.home, space.dbt_target, run_dir)
    except BaseException:
        stop_gate_worker(terminate=True)
        raise
    with ThreadPoolExecutor(1, thread_name_prefix="ferry-gate") as waiter:
        # the gate validates in its process while the load stages the run; the load asks
        # for the verdict before it creates or changes anything in the target
        pending = waiter.submit(
            contextvars.copy_context().run,
            timed,
            "gate",
            gate_in_worker,
            db,
            run_id,
            run_dir,
            opts.max_reject_rate,
            keep=landed.rows_read < config.GATE_KEEP_WORKER_BELOW,
            assets=opts.assets_dir,
        )

        def verdict() -> bool:
            # asked once the load has staged: the warehouse is no longer needed by this run
            passed = pending.result().passed
            lock.release()
            return passed

        def load(*args, **kwargs):
            # a retried load (a Prefect task's retry) stages again: it takes the warehouse
            # back first; the first attempt already holds it
            lock.acquire()
            return load_run(*args, **kwargs)

        loaded, failure = None, None
        try:
            loaded = timed("load", load, db, run_id, opts, dry_run=opts.dry_run, verdict=verdict, alone=pending.done)
        except TargetError as exc:
            failure = exc  # the transaction was rolled back: report what happened, then exit 3
        checked = pending.result()
    return landed, checked, loaded, failure


def _settle(
    checked: GateResult, loaded: LoadResult | None, failure: TargetError | None, dry_run: bool
) -> tuple[LoadResult | None, TargetError | None, str]:
    """(loaded, failure, status) of the run once the gate and the load have both answered."""
    if not checked.passed:
        # blocked: nothing was written, whatever the target said while the run was staged
        return None, None, "blocked"
    if failure is not None:
        return loaded, failure, "failed"
    return loaded, None, "dry_run" if dry_run else "loaded"


def _report_paths(opts: RunOptions, run: StepResults) -> dict[str, Path]:
    paths = {
        "report": run.run_dir / "report.html",
        "rejects": run.run_dir / "rejects.csv",
        "warehouse": opts.warehouse.resolve(),
        "summary": run.run_dir / "summary.json",
        "run_dir": run.run_dir,
    }
    if run.checked.data_docs:
        paths["data_docs"] = run.checked.data_docs
    return {k: Path(v).resolve() for k, v in paths.items()}


def write_reports(
    opts: RunOptions, space: RunSpace, run: StepResults, notice: Callable[[str], None] = _tell_stderr
) -> dict:
    """rejects.csv, summary.json, the run in the home's warehouse (its rows, marts and
    raw.run_results), then report.html (docs/CONTRACT.md §7); returns the summary.

    After a load committed nothing may make the run look failed: when the evidence cannot
    be written (the disk filled up, the warehouse is unusable) the summary still says
    `loaded`, with a warning naming what is missing; the target's `ferry_runs` row and
    `ferry runs` still show the run."""
    paths = _report_paths(opts, run)
    try:
        facts = report_step.read_facts(space.db, run.run_id)
    except Exception as exc:
        if run.status != "loaded":
            raise
        return _committed(
            opts,
            run,
            paths,
            report_step.facts_unknown(run.landed.rows_read, run.control_totals),
            exc,
            notice,
            None,
            space,
        )
    summary = _summary(opts, run, facts, paths)
    if run.error:
        # a failed load: the summary, run history and report.html all say why
        summary["error"] = run.error
    try:
        _write_evidence(opts, space, run, facts, summary, paths)
    except Exception as exc:
        if run.status != "loaded":
            raise
        return _committed(opts, run, paths, facts, exc, notice, summary, space)
    return summary


def _summary(opts: RunOptions, run: StepResults, facts, paths: dict) -> dict:
    return report_step.build_summary(
        run_id=run.run_id,
        opts=opts,
        land=run.landed,
        facts=facts,
        gate=run.checked,
        status=run.status,
        load=run.loaded,
        paths=paths,
    )


def _write_evidence(opts: RunOptions, space: RunSpace, run: StepResults, facts, summary: dict, paths: dict) -> None:
    from ferry.report.html import ReportInputs, render

    report_step.write_rejects(paths["rejects"], facts.issues)
    report_step.write_summary(paths["summary"], summary)
    space.publish(lambda con: report_step.insert_result(con, summary))
    html = render(
        ReportInputs(
            summary=summary,
            land=run.landed,
            options=opts.as_record(),
            issues=facts.issues,
            reconciliation=facts.reconciliation,
            gate_checks=run.checked.checks,
            run_dir=paths["run_dir"],
            started_at=run.started_at,
            control_totals=run.control_totals,
            error=run.error,
        )
    )
    paths["report"].write_text(html, encoding="utf-8")


def _committed(
    opts: RunOptions,
    run: StepResults,
    paths: dict,
    facts,
    exc: Exception,
    notice,
    summary: dict | None = None,
    space: RunSpace | None = None,
) -> dict:
    """The summary of a run whose load committed but whose evidence could not all be
    written: `loaded` all the same, with a warning saying what is missing and why."""
    from ferry.errors import machine_error

    if summary is None:
        summary = _summary(opts, run, facts, paths)
    cause = machine_error(exc, opts.home) or f"{type(exc).__name__}: {exc}"
    warning = (
        f"the load committed, but the run's reports and warehouse record could not all be written ({cause}); "
        f"the target holds the run (ferry_runs, run {run.run_id})"
    )
    summary.setdefault("warnings", []).append(warning)
    if space is not None and space.keep_unmerged(summary):
        warning += "; the run's rows wait in the home for the next run to add them to the warehouse"
        summary["warnings"][-1] = warning
    notice(warning)
    with contextlib.suppress(OSError):
        report_step.write_summary(paths["summary"], summary)
    return summary
