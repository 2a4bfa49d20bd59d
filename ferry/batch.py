"""`ferry batch`: one migration run per row of a manifest, a few at a time (docs/CONTRACT.md §8).

The manifest is read and every row turned into `RunOptions` (through `RunOptions.from_cli`,
so values are checked exactly as `ferry migrate` checks them) before anything runs: a typo
in row 80 must not surface after 79 tenants have loaded.

Each run goes to a long-lived spawned worker process that calls `ferry.run.migrate` in
process, so dbt's and Great Expectations' imports and the gate's worker are paid once per
worker, not per run. Runs never share a process: the gate's worker is a per-process global
that a failed transform terminates. Each worker is a pool of one, so a worker that dies
breaks only its own pool: its row is reported as failed, a fresh worker takes its place,
and the other rows go on. Runs on one home queue on its warehouse lock (ferry/warehouse.py),
so the batch overlaps one run's load and report with the next run's warehouse work.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import multiprocessing.util
import os
import queue
import re
import sys
import threading
import typing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import MISSING, dataclass, field, fields
from html import escape
from pathlib import Path
from typing import Any

from ferry.config import RunOptions, default_home, quiet_environment
from ferry.errors import BUG_EXIT, FerryError, InputError, log_traceback, machine_error

STATUSES = ("loaded", "dry_run", "blocked", "failed", "input_error")
# one run's record in the batch's JSON: exactly these keys (docs/CONTRACT.md §8)
RUN_KEYS = ("tenant", "file", "status", "exit_code", "run_id", "error")

_FIELDS = {f.name: f for f in fields(RunOptions)}
_HINTS = typing.get_type_hints(RunOptions)
# every `ferry migrate` option may be a column, but the home: a batch has one home, where
# its runs, its warehouse and its page live
COLUMNS = tuple(name for name in _FIELDS if name != "home")
ALIASES = {"tag": "tags"}
REQUIRED = ("file", "tenant")
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off", ""}


# --------------------------------------------------------------------------------------
# the manifest
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One manifest row, ready to run: its options and where it came from."""

    row: int  # the spreadsheet row of a CSV manifest (the header is row 1), the entry of a YAML one
    opts: RunOptions


def _column_key(name: str) -> str:
    """A header as a field name: `card-template`, `--card-template` and `Card_Template` alike."""
    key = str(name).strip().lower().lstrip("-").replace("-", "_").replace(" ", "_")
    return ALIASES.get(key, key)


def _is_path(name: str) -> bool:
    return Path in (typing.get_args(_HINTS[name]) or (_HINTS[name],))


def _cell(name: str, value: Any, base: Path) -> Any:
    """A manifest cell (text in a CSV, any scalar or list in YAML) as `from_cli` takes the
    option; None when empty, so the option keeps its default. ValueError: a bad value."""
    if value is None or (isinstance(value, str) and (not value or (not value.strip() and name != "delimiter"))):
        return None
    hint = _HINTS[name]
    if hint is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(f"must be true or false, got '{value}'")
    if hint is float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return float(str(value).strip().replace(",", "."))
        except ValueError:
            raise ValueError(f"must be a number, got '{value}'") from None
    if name == "tags":
        items = value if isinstance(value, list) else re.split(r"[;|]", str(value))
        return [str(t).strip() for t in items if str(t).strip()]
    if name == "columns":
        items = value if isinstance(value, list) else re.split(r"[,;|]", str(value))
        return ",".join(str(c).strip() for c in items)
    if isinstance(value, list | dict):
        raise ValueError("must be a single value")
    if _is_path(name):
        path = Path(str(value).strip()).expanduser()
        return path if path.is_absolute() else base / path
    if name == "delimiter":  # a tab cell is a tab, not blank
        return str(value) if not str(value).strip() else str(value).strip()
    return str(value).strip()


def read_manifest(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(row, {header: cell}) of every non-empty row: a CSV with a header row, or a YAML list
    of mappings. InputError (exit 2) for a manifest that cannot be read at all."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: manifest not found")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise InputError(f"{path}: a YAML manifest is a list of mappings, one per run (file:, tenant:, …)")
        return [(i, dict(item)) for i, item in enumerate(data, start=1) if item]
    lines = text.splitlines()
    first = lines[0] if lines else ""
    delimiter = max(",;\t", key=first.count) if first else ","
    reader = csv.reader(lines, delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise InputError(f"{path}: the manifest is empty (it needs a header row with file and tenant)")
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise InputError(f"{path}: row {number} has {len(cells)} cells, the header {len(header)}")
        rows.append((number, dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))))
    return rows


def _check_columns(path: Path, row: int, names: list[str]) -> dict[str, str]:
    """{field: header} of one row's (or the CSV header's) columns; InputError naming the
    first unknown, duplicate or missing one."""
    found: dict[str, str] = {}
    for name in names:
        key = _column_key(name)
        if key not in COLUMNS:
            hint = " (a batch has one home: pass --home)" if key == "home" else ""
            raise InputError(
                f"{path}: row {row}, column '{name}': unknown column{hint}; "
                f"known: {', '.join(c if c != 'tags' else 'tag' for c in COLUMNS)}"
            )
        if key in found:
            raise InputError(f"{path}: row {row}, column '{name}': given twice (also as '{found[key]}')")
        found[key] = str(name)
    for key in REQUIRED:
        if key not in found:
            raise InputError(f"{path}: row {row}: no '{key}' column; every row needs file and tenant")
    return found


def _failing_field(message: str, opts: RunOptions | None) -> str | None:
    """The option an InputError from `from_cli`/`check_options` is about (they name its flag)."""
    for f in _FIELDS.values():
        flag = f.metadata["cli"].name
        if flag and message.startswith(flag + " "):  # not --card-template for --card-templates
            return f.name
    if opts is not None and message.startswith(str(opts.file)):
        return "file"
    return None


def _where(path: Path, number: int, columns: dict[str, str], message: str, opts: RunOptions | None = None):
    """The InputError of a row's bad value: the manifest, row and column, then the message."""
    key = _failing_field(message, opts)
    if key in columns:
        place = f"row {number}, column '{columns[key]}'"
    elif key is not None:  # an option the batch gave every row (--target)
        place = f"row {number} ({_FIELDS[key].metadata['cli'].name})"
    else:
        place = f"row {number}"
    return InputError(f"{path}: {place}: {message}")


def load_manifest(
    path: Path, *, home: Path | None = None, target: str | None = None, dry_run: bool = False
) -> list[Job]:
    """Every row of the manifest as a `Job`, checked as `ferry migrate` checks its options
    (and its files found) before any run starts. `home`, `target` and `dry_run` apply to
    every row; a row's own target or dry_run column wins. Relative paths in the manifest
    are relative to its folder. InputError (exit 2) names the manifest, row and column."""
    from ferry.ingest.card_templates import templates_for_run
    from ferry.run import check_options

    path = Path(path)
    base = path.resolve().parent
    home = Path(home or default_home()).resolve()
    rows = read_manifest(path)
    if not rows:
        raise InputError(f"{path}: the manifest has no rows to run")
    jobs = []
    for number, raw in rows:
        columns = _check_columns(path, 1 if path.suffix.lower() not in (".yaml", ".yml") else number, list(raw))
        values: dict[str, Any] = {f.name: (None if f.default is MISSING else f.default) for f in _FIELDS.values()}
        values.update(home=home, target=target, dry_run=dry_run)
        given = {}
        for key, header in columns.items():
            try:
                cell = _cell(key, raw[header], base)
            except ValueError as exc:
                raise InputError(f"{path}: row {number}, column '{header}': {exc}") from None
            if cell is not None:
                values[key] = given[key] = cell
        for key in REQUIRED:
            if key not in given:
                raise InputError(f"{path}: row {number}, column '{columns[key]}': empty; every row needs a {key}")

        try:
            opts = RunOptions.from_cli(**values)
        except InputError as exc:
            raise _where(path, number, columns, str(exc)) from None
        try:
            check_options(opts)
            for key in ("mapping", "card_templates"):
                if getattr(opts, key) is not None and not Path(getattr(opts, key)).is_file():
                    raise InputError(f"{_FIELDS[key].metadata['cli'].name} {getattr(opts, key)}: file not found")
            templates_for_run(opts.card_template, opts.card_templates)
        except InputError as exc:
            raise _where(path, number, columns, str(exc), opts) from None
        jobs.append(Job(number, opts))
    return jobs


# --------------------------------------------------------------------------------------
# the workers
# --------------------------------------------------------------------------------------


def _warm_worker(home: str) -> None:
    """A worker's start: stdout becomes stderr (the batch's stdout may be its JSON), then
    the imports every run needs and the gate's process, once for all its runs."""
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    quiet_environment(Path(home))
    try:
        from dbt.cli.main import dbtRunner  # noqa: F401  transform's slow start

        import ferry.report.html
        import ferry.run
        import ferry.target.load  # noqa: F401
        from ferry.gate.process import start_gate_worker, stop_gate_worker

        # a pool's worker exits by joining its children before any atexit hook runs: the
        # gate's process must be told to end first, before its queues' own finalizers
        # (priority 10) close them, or the worker waits for it forever
        multiprocessing.util.Finalize(None, stop_gate_worker, exitpriority=100)
        start_gate_worker()
    except Exception:  # only a head start: the run imports what it needs itself
        pass


def _quiet(message: str) -> None:
    """Runs of a batch wait for each other's warehouse work as a matter of course."""


def run_job(job: Job) -> dict:
    """One row's run, in a worker: its record (RUN_KEYS, plus `rows` for the page). Every
    outcome is a record, never an exception, so one tenant never stops the others."""
    from ferry.run import migrate

    record = {"tenant": job.opts.tenant, "file": str(job.opts.file), "run_id": None, "error": None, "rows": None}
    try:
        outcome = migrate(job.opts, notice=_quiet)
    except InputError as exc:
        return {**record, "status": "input_error", "exit_code": exc.exit_code, "error": str(exc)}
    except FerryError as exc:  # the warehouse stayed busy, dbt failed
        return {**record, "status": "failed", "exit_code": exc.exit_code, "error": str(exc)}
    except Exception as exc:  # the machine's fault (exit 5), or a bug with its traceback in a file (70)
        machine = machine_error(exc, job.opts.home)
        if machine is not None:
            return {**record, "status": "failed", "exit_code": machine.exit_code, "error": str(machine)}
        log = log_traceback(exc, job.opts.home)
        return {
            **record,
            "status": "failed",
            "exit_code": BUG_EXIT,
            "error": f"unexpected error ({type(exc).__name__}: {exc}); {log}",
        }
    summary = outcome.summary
    error = summary.get("error")
    if summary["status"] == "blocked":
        failed = [c["name"] for c in summary["gate"]["checks"] if not c["passed"]]
        error = "gate blocked the load: " + ", ".join(failed)
    return {
        **record,
        "status": summary["status"],
        "exit_code": outcome.exit_code,
        "run_id": summary["run_id"],
        "error": error,
        "rows": summary["rows"],
    }


class _Worker:
    """One long-lived spawned process (a pool of one): a death breaks only this pool."""

    def __init__(self, home: Path):
        self.home = home
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=_warm_worker, initargs=(str(self.home),)
        )

    def run(self, job: Job) -> dict:
        try:
            return self.pool.submit(run_job, job).result()
        except BrokenProcessPool:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()
            return {
                "tenant": job.opts.tenant,
                "file": str(job.opts.file),
                "status": "failed",
                "exit_code": 1,
                "run_id": None,
                "error": "the worker process running this row died (killed, or out of memory); the target "
                "changes only in the load's one transaction, so running the row again is safe",
                "rows": None,
            }

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class BatchResult:
    batch_id: str
    runs: list[dict]  # in manifest order: RUN_KEYS plus `rows`
    page: Path
    exit_code: int
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict:
        """What `ferry batch --json` prints (docs/CONTRACT.md §8)."""
        return {
            "runs": [{k: r[k] for k in RUN_KEYS} for r in self.runs],
            "counts": self.counts,
            "report": str(self.page),
        }


def _concurrency(value: int | None) -> int:
    if value is None:
        return os.cpu_count() or 1
    if value < 1:
        raise InputError(f"--concurrency must be 1 or more, got {value}")
    return value


def run_batch(
    jobs: list[Job],
    home: Path,
    concurrency: int | None = None,
    on_done: Callable[[dict, int, int], None] | None = None,
) -> BatchResult:
    """Run every job, at most `concurrency` (default: the CPU count) at once, each in a
    worker process; `on_done(record, done, total)` hears each one as it ends. Writes the
    batch page and returns every record in manifest order."""
    from ferry.run import new_run_id

    concurrency = _concurrency(concurrency)
    home = Path(home).resolve()
    batch_id = new_run_id()
    todo: queue.Queue[tuple[int, Job]] = queue.Queue()
    for item in enumerate(jobs):
        todo.put(item)
    records: list[dict | None] = [None] * len(jobs)
    done_lock = threading.Lock()
    done = 0

    def serve() -> None:
        nonlocal done
        worker = _Worker(home)
        try:
            while True:
                try:
                    index, job = todo.get_nowait()
                except queue.Empty:
                    return
                record = worker.run(job)
                records[index] = record
                with done_lock:
                    done += 1
                    if on_done:
                        on_done(record, done, len(jobs))
        finally:
            worker.close()

    threads = [
        threading.Thread(target=serve, name=f"ferry-batch-{i}", daemon=True) for i in range(min(concurrency, len(jobs)))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = [r for r in records if r is not None]
    counts = {s: sum(r["status"] == s for r in runs) for s in STATUSES}
    exit_code = max((r["exit_code"] for r in runs), default=0)
    page = write_batch_page(home, batch_id, runs, counts)
    return BatchResult(batch_id, runs, page, exit_code, counts)


def migrate_many(
    manifest: Path,
    *,
    concurrency: int | None = None,
    home: Path | None = None,
    target: str | None = None,
    dry_run: bool = False,
    on_done: Callable[[dict, int, int], None] | None = None,
) -> BatchResult:
    """`ferry batch`'s body: the manifest checked whole, then every row run."""
    _concurrency(concurrency)
    home = Path(home or default_home()).resolve()
    jobs = load_manifest(manifest, home=home, target=target, dry_run=dry_run)
    return run_batch(jobs, home, concurrency, on_done)


def migrate_many_in_prefect(
    manifest: Path,
    *,
    concurrency: int | None = None,
    home: Path | None = None,
    target: str | None = None,
    dry_run: bool = False,
) -> BatchResult:
    """`ferry batch` when a Prefect API is configured: the flow `migrate_batch` runs here and
    hands each row to the work pool as a child run of `migrate-clients` (docs/CONTRACT.md §8).
    The manifest is checked here first, so a bad one is exit 2 before anything starts."""
    import asyncio

    from ferry import orchestrator
    from ferry.run import new_run_id

    _concurrency(concurrency)
    home = Path(home or default_home()).resolve()
    load_manifest(manifest, home=home, target=target, dry_run=dry_run)
    orchestrator.require_pool_ready()
    orchestrator.enter_prefect()
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.batch import migrate_batch

    with temporary_settings({PREFECT_API_URL: orchestrator.api_url()}):
        result = asyncio.run(
            migrate_batch(
                manifest=str(Path(manifest).resolve()),
                concurrency=concurrency,
                home=str(home),
                target=target,
                dry_run=dry_run,
            )
        )
    runs, counts = result["runs"], result["counts"]
    batch_id = new_run_id()
    page = write_batch_page(home, batch_id, runs, counts)
    return BatchResult(batch_id, runs, page, max((r["exit_code"] for r in runs), default=0), counts)


# --------------------------------------------------------------------------------------
# the batch page
# --------------------------------------------------------------------------------------

_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3em .7em;text-align:left}
td.n{text-align:right}.s-loaded,.s-dry_run{color:#176f2c}.s-blocked,.s-failed,.s-input_error{color:#b00020}
.muted{color:#666}code{font-size:90%}"""


def write_batch_page(home: Path, batch_id: str, runs: list[dict], counts: dict[str, int]) -> Path:
    """`<home>/batches/<batch_id>/`: batch.html (offline, every value escaped, each run's
    report.html linked relatively, so the home can be moved or zipped), batch.csv
    (formula-safe) and batch.json (what --json prints)."""
    from ferry.report.csvsafe import write_safe_csv

    folder = home / "batches" / batch_id
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "batch.html"

    def report(run: dict) -> str | None:
        if run["run_id"] and (home / "runs" / run["run_id"] / "report.html").is_file():
            return f"../../runs/{run['run_id']}/report.html"
        return None

    body = []
    for run in runs:
        rows = run.get("rows") or {}
        link = report(run)
        body.append(
            "<tr>"
            f"<td>{escape(run['tenant'])}</td>"
            f'<td class="s-{escape(run["status"])}">{escape(run["status"].replace("_", " "))}</td>'
            f'<td class="n">{run["exit_code"]}</td>'
            + "".join(f'<td class="n">{escape(str(rows.get(k, "")))}</td>' for k in ("read", "loaded", "rejected"))
            + f"<td>{escape(run['file'])}</td>"
            + (f'<td><a href="{escape(link)}">report</a></td>' if link else "<td></td>")
            + f"<td>{escape(run['error'] or '')}</td>"
            "</tr>"
        )
    summary = ", ".join(f"{escape(s.replace('_', ' '))} {n}" for s, n in counts.items() if n)
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>Ferry batch {escape(batch_id)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Ferry batch <code>{escape(batch_id)}</code></h1>"
        f'<p class="muted">{len(runs)} runs: {summary}</p>'
        "<table><tr><th>tenant</th><th>status</th><th>exit</th><th>read</th><th>loaded</th><th>rejected</th>"
        "<th>file</th><th>report</th><th>error</th></tr>" + "".join(body) + "</table></body></html>\n"
    )
    page.write_text(html, encoding="utf-8")
    write_safe_csv(
        folder / "batch.csv",
        [*RUN_KEYS, "report"],
        ([*(r[k] for k in RUN_KEYS), report(r) or ""] for r in runs),
    )
    doc = {"runs": [{k: r[k] for k in RUN_KEYS} for r in runs], "counts": counts, "report": str(page)}
    (folder / "batch.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return page
