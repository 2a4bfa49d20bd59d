"""Where a run does its warehouse work: a DuckDB file of its own, or the home's warehouse.

A run of a small file lands, transforms, gates and stages in a work file of its own,
`<home>/work/<run_id>/warehouse.duckdb`: a copy of an empty warehouse built once per
project version. Runs on one home then use every core instead of queueing for the
warehouse (DuckDB lets one process write a file, and dbt holds it for the whole build).
At the end the run merges its raw rows, its marts and its result into the home's
warehouse in one transaction, under the warehouse lock: a fraction of a second.

A big file works in the home's warehouse itself, under the lock from land until the gate
has answered: copying a million rows into the warehouse a second time would cost more
than the wait it saves (docs/DESIGN.md, "Where a run works").

Everything a run leaves in `<home>/work/<run_id>/` (the work file, dbt's compiled SQL,
the load's scratch stage) goes when the run ends; a killed run's folder goes with the
next run on the home, found by its claim (an flock the living run holds).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ferry import config
from ferry.config import RunOptions
from ferry.ingest.raw import ensure_raw_schema
from ferry.warehouse import WarehouseLock

WORK = "work"
# dbt names the database after its file, and the views it builds name that database:
# every copy of the warehouse keeps the file name
DB_NAME = "warehouse.duckdb"
CLAIM = "claim"
UNMERGED = "unmerged-"  # a committed run's work folder waiting for its merge
RESULT = "result.json"
# raw tables that hold one run's rows (by run_id): what a work file adds to the warehouse
RUN_RAW_TABLES = (
    "runs",
    "columns",
    "rows",
    "phone_numbers",
    "file_issues",
    "card_templates",
    "target_logins",
    "target_accounts",
)
ABANDONED_NEW_SECONDS = 3600  # a folder still being set up this long ago: its run died


class _NoLock:
    """The lock of a run that works in its own file: nothing to wait for."""

    def acquire(self) -> None:
        pass

    def release(self) -> None:
        pass

    def __enter__(self) -> _NoLock:
        return self

    def __exit__(self, *exc) -> None:
        pass


@dataclass
class RunSpace:
    """One run's place to work. `db` is the DuckDB file its steps use; `lock` is what they
    hold while they use it (the home's warehouse lock, or nothing for a file of its own)."""

    opts: RunOptions
    run_id: str
    folder: Path
    own: bool
    warehouse_lock: WarehouseLock
    _claim: int | None = field(default=None, repr=False)
    published: bool = False
    _kept: bool = field(default=False, repr=False)

    @property
    def db(self) -> Path:
        return self.folder / DB_NAME if self.own else self.opts.warehouse

    @property
    def lock(self) -> WarehouseLock | _NoLock:
        return _NoLock() if self.own else self.warehouse_lock

    @property
    def dbt_target(self) -> Path:
        return self.folder / "dbt"

    def publish(self, record) -> None:
        """Make the run part of the home's warehouse. `record(con)` writes the run's result
        row on the warehouse's connection, in the same transaction as the merge. Runs an
        earlier publish could not merge (kept by `keep_unmerged`) are merged first."""
        if not self.own:  # the caller holds the warehouse lock for the report
            with _connect(self.opts.warehouse) as con:
                record(con)
            self.published = True
            return
        with self.warehouse_lock:
            self._ensure_warehouse()
            con = open_waiting(self.opts.warehouse, self.warehouse_lock.on_wait)
            try:
                ensure_raw_schema(con)
                merge_unmerged(con, self.folder.parent)
                merge_run(con, self.db, self.run_id, record)
            finally:
                con.close()
        self.published = True

    def keep_unmerged(self, summary: dict) -> bool:
        """After a committed load whose publish failed (the warehouse held open elsewhere,
        the disk full): keep the work file and the result as `<home>/work/unmerged-<run_id>/`
        for the next run's publish, so the warehouse still gets every run. False when
        there is nothing to keep (a run that worked in the warehouse, or published)."""
        if not self.own or self.published:
            return False
        try:
            (self.folder / RESULT).write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
            kept = self.folder.parent / f"{UNMERGED}{self.run_id}"
            os.replace(self.folder, kept)
        except OSError:
            return False
        self.folder, self._kept = kept, True
        return True

    def _ensure_warehouse(self) -> None:
        """The home's warehouse, built by this project version: a copy of the empty one
        when there is none yet; rebuilt by dbt when an older Ferry built it."""
        from ferry.transform.dbt import project_fingerprint, transform

        warehouse = self.opts.warehouse
        if not warehouse.exists():
            _copy_whole(empty_warehouse(self.opts.home), warehouse)
            return
        con = open_waiting(warehouse, self.warehouse_lock.on_wait)
        try:
            ensure_raw_schema(con)
            built = con.execute("select fingerprint from raw.dbt_state order by built_at desc limit 1").fetchall()
            if built and built[0][0] == project_fingerprint():
                return
            con.execute("delete from raw.current_run")  # the rebuild transforms no run
        finally:
            con.close()
        transform(warehouse, self.opts.home, target=self.dbt_target, logs=self.opts.run_dir(self.run_id))

    def close(self) -> None:
        """Remove the run's folder (its work file, dbt's files, any scratch) and its claim;
        a folder kept for a later merge stays."""
        claim, self._claim = self._claim, None
        if not self._kept:
            shutil.rmtree(self.folder, ignore_errors=True)
        if claim is not None:
            os.close(claim)


def open_waiting(path: Path, on_wait=None):
    """A write connection to the DuckDB file `path`, waiting (FERRY_LOCK_TIMEOUT seconds at
    most) while another process has it open, an analyst's session for one, and saying once
    whom it waits for."""
    deadline = time.monotonic() + config.lock_timeout()
    told = False
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            if not told and on_wait is not None:
                held = str(exc).split("Conflicting lock is held in", 1)[-1].split(". See", 1)[0].strip()
                on_wait(f"waiting for another process that has {path.name} open ({held})")
                told = True
            time.sleep(0.2)


def merge_unmerged(con, root: Path) -> None:
    """Merge the runs kept by `RunSpace.keep_unmerged`, oldest first, each with its result."""
    from ferry.report.summary import insert_result

    for folder in sorted(root.glob(f"{UNMERGED}*")):
        try:
            summary = json.loads((folder / RESULT).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not complete: left for a look, never guessed at
        merge_run(con, folder / DB_NAME, summary["run_id"], lambda c, s=summary: insert_result(c, s))
        shutil.rmtree(folder, ignore_errors=True)


def open_run_space(opts: RunOptions, run_id: str, notice=None) -> RunSpace:
    """The run's folder under `<home>/work/`, claimed; with its work file when the export
    is small (config.work_file_below())."""
    root = Path(opts.home) / WORK
    sweep(root)
    root.mkdir(parents=True, exist_ok=True)
    # set up under a hidden name and claimed before it gets its own: a sweep never sees
    # a living run's folder unclaimed
    new = root / f".{run_id}.new"
    new.mkdir()
    claim = os.open(new / CLAIM, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
    folder = root / run_id
    os.replace(new, folder)
    own = Path(opts.file).stat().st_size < config.work_file_below()
    space = RunSpace(opts, run_id, folder, own, WarehouseLock(opts.home, run_id, opts.tenant, on_wait=notice), claim)
    if own:
        try:
            _copy(empty_warehouse(opts.home), space.db)
        except BaseException:
            space.close()
            raise
    return space


def sweep(root: Path) -> None:
    """Remove what killed runs left under `<home>/work/`: folders nobody claims."""
    if not root.is_dir():
        return
    for path in root.iterdir():
        if not path.is_dir():
            continue
        if path.name.startswith(UNMERGED):
            continue  # a committed run waiting for its merge: only a publish removes it
        if path.name.startswith("."):
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > ABANDONED_NEW_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)
            continue
        try:
            fd = os.open(path / CLAIM, os.O_RDWR)
        except OSError:
            continue  # no claim: not a run's folder
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its run is alive
        finally:
            os.close(fd)
        shutil.rmtree(path, ignore_errors=True)


def merge_run(con, db: Path, run_id: str, record) -> None:
    """Append run `run_id`'s raw rows and marts from its work file `db` to the warehouse
    open on `con`, and its result (`record(con)`), in one transaction. Columns are matched
    by name: a warehouse that kept a column an earlier version dropped gets nulls there."""
    literal = "'" + str(db).replace("'", "''") + "'"
    con.execute(f"ATTACH {literal} AS run_db (READ_ONLY)")
    try:
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = 'run_db' and schema_name = 'marts'"
            ).fetchall()
        ]
        con.execute("BEGIN")
        for schema, table in [("raw", t) for t in RUN_RAW_TABLES] + [("marts", t) for t in marts]:
            name = f'{schema}."{table}"'
            con.execute(f"DELETE FROM {name} WHERE run_id = ?", [run_id])  # a retried publish
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM run_db.{name} WHERE run_id = ?", [run_id])
        con.execute("DELETE FROM raw.run_results WHERE run_id = ?", [run_id])
        record(con)
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DETACH run_db")


def empty_warehouse(home: Path) -> Path:
    """A warehouse with every seed, view, macro and (empty) table of this project version
    and no run: built once into the user's cache (it holds no client data), or into the
    home when the cache cannot be written."""
    from ferry.transform.dbt import cache_file, project_fingerprint

    fingerprint = project_fingerprint()
    places = [cache_file("warehouse", fingerprint, ".duckdb"), Path(home) / WORK / f"empty-{fingerprint[:16]}.duckdb"]
    for path in places:
        if path.is_file():
            return path
    error: OSError | None = None
    for path in places:
        try:
            return _build_empty(path, home)
        except OSError as exc:
            error = exc
    raise error  # type: ignore[misc]


def _build_empty(path: Path, home: Path) -> Path:
    from ferry.transform.dbt import transform

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one builder; the others wait and use its file
        if path.is_file():
            return path
        folder = path.parent / f".build-{os.getpid()}-{secrets.token_hex(3)}"
        folder.mkdir()
        try:
            db = folder / DB_NAME
            with _connect(db) as con:
                ensure_raw_schema(con)
            transform(db, home, target=folder / "dbt", logs=folder)
            os.replace(db, path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return path
    finally:
        os.close(fd)


def _copy_whole(source: Path, dest: Path) -> None:
    """Copy under a temporary name, then rename: a reader never opens half a file."""
    partial = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    try:
        _copy(source, partial)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)


def _copy(source: Path, dest: Path) -> None:
    """shutil.copyfile, whose error names the file it could not write (a full disk is
    the destination's, not the source's)."""
    try:
        shutil.copyfile(source, dest)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or exc.filename == str(dest):
            raise
        raise OSError(exc.errno, exc.strerror, str(dest)) from exc


@contextlib.contextmanager
def _connect(path: Path):
    con = duckdb.connect(str(path))
    try:
        yield con
    finally:
        con.close()
