"""Transform: run the dbt project in-process on the warehouse (raw.* -> marts.*).

dbt reads the run to transform from raw.current_run, so every run invokes dbt with the
same arguments and partial parsing stays valid (a changing --vars forces a re-parse).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import threading
from pathlib import Path

import duckdb

from ferry.config import PROJECT_DIR, quiet_environment
from ferry.errors import BUG_EXIT, FerryError, machine_error
from ferry.ingest.raw import ensure_raw_schema


class TransformError(FerryError):
    """dbt failed, and not for want of disk or memory: a bug or a broken warehouse, not
    bad input (exit 70, as any bug)."""

    exit_code = BUG_EXIT


def dbt_dir(home: Path) -> Path:
    """dbt's target and log folders: in the home (FERRY_DBT_DIR: one for many homes)."""
    return Path(os.environ.get("FERRY_DBT_DIR") or Path(home) / "dbt").resolve()


def dbt_args(command: str, home: Path, *extra: str, target: Path | None = None, logs: Path | None = None) -> list[str]:
    """dbt's arguments; `target` and `logs` default to the home's dbt folder. Absolute:
    dbt reads a relative target path from the project's folder and a relative log path
    from the working directory, which is the warehouse's folder while dbt runs (run_dbt),
    so a relative --home put dbt's files into Ferry's installation and lost dbt.log."""
    folder = dbt_dir(home)
    return [
        command,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(Path(target or folder / "target").resolve()),
        "--log-path",
        str(Path(logs or folder / "logs").resolve()),
        # dbt says nothing on the terminal: its whole log is the run's dbt.log, and a
        # failure reaches the user as the step's one-line error (docs/CONTRACT.md §1)
        "--log-level",
        "none",
        "--log-level-file",
        "debug",
        "--quiet",
        *extra,
    ]


_DBT_LOCK = threading.Lock()


def run_dbt(args: list[str], warehouse: Path):
    """Invoke dbt in-process and release its DuckDB connection afterwards.

    dbt-duckdb keeps the warehouse open in a class-level environment; until it is
    closed no other step (or process) can open the file.

    The profile names the warehouse by its file name, relative to the working directory,
    which is the warehouse's folder while dbt runs: dbt re-parses the whole project
    (its slowest start) whenever the profile changes, and an absolute path would change it for every
    home. The same parse then serves every home (see _seed_parse).
    """
    quiet_environment()
    warehouse = Path(warehouse).resolve()
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    with _DBT_LOCK:  # one dbt at a time per process: it has global state, and the cwd is ours
        previous = os.getcwd()
        os.environ["FERRY_WAREHOUSE"] = warehouse.name
        os.chdir(warehouse.parent)
        try:
            # dbt prints a failing node's lines on stdout even when --quiet: stdout is the
            # summary's alone under --json (docs/CONTRACT.md §1), so dbt speaks on stderr
            with contextlib.redirect_stdout(sys.stderr):
                result = dbtRunner().invoke(args)
        finally:
            os.chdir(previous)
            env = DuckDBConnectionManager._ENV
            if env is not None:
                env.close()
            DuckDBConnectionManager._ENV = None
    return result


def project_fingerprint() -> str:
    """A hash of everything dbt builds from: when it changes, seeds and views are rebuilt."""
    digest = hashlib.sha256()
    for folder in ("models", "seeds", "macros"):
        for path in sorted((PROJECT_DIR / folder).rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(PROJECT_DIR)).encode())
                digest.update(path.read_bytes())
    digest.update((PROJECT_DIR / "dbt_project.yml").read_bytes())
    return digest.hexdigest()


def built_fingerprint(warehouse: Path) -> str | None:
    """The project version that built the warehouse's seeds and views (None: none did)."""
    con = duckdb.connect(str(warehouse))
    try:
        ensure_raw_schema(con)
        row = con.execute("select fingerprint from raw.dbt_state order by built_at desc limit 1").fetchone()
        return row[0] if row else None
    finally:
        con.close()


def _record_fingerprint(warehouse: Path, fingerprint: str) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("insert into raw.dbt_state values (?, now())", [fingerprint])
    finally:
        con.close()


def transform(warehouse: Path, home: Path, target: Path | None = None, logs: Path | None = None) -> None:
    """Build the models for the run in raw.current_run of `warehouse` (dbt's own tests run
    in CI). `target`: dbt's folder for this run (compiled SQL, its copy of the parse);
    `logs`: where dbt.log goes. Both default to the home's dbt folder.

    Seeds and views only change with the project, so they are built on the first run of a
    warehouse (or after an upgrade) and skipped afterwards; tables are rebuilt every run.
    dbt writes no manifest or run results here: nothing reads them, and writing them cost
    a tenth of a small run's transform.
    """
    fingerprint = project_fingerprint()
    target = Path(target or dbt_dir(home) / "target")
    parse = target / PARSE_FILE
    _seed_parse(parse, fingerprint, home)
    up_to_date = built_fingerprint(warehouse) == fingerprint
    extra = ["--no-write-json", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    if up_to_date:
        extra += ["--select", "config.materialized:table", "config.materialized:run_partition"]
    result = run_dbt(dbt_args("build", home, *extra, target=target, logs=logs), warehouse)
    if not result.success:
        problem = RuntimeError(_first_error(result))
        raise machine_error(problem, warehouse.parent) or TransformError(
            f"dbt failed: {problem}; please report this (dbt.log is in the run's folder)"
        )
    if not up_to_date:
        _record_fingerprint(warehouse, fingerprint)
    _keep_parse(parse, fingerprint, home)


PARSE_FILE = "partial_parse.msgpack"


def cache_file(kind: str, fingerprint: str, suffix: str) -> Path:
    """Where this user keeps what is built from this project version and no data
    (dbt's parse, the empty warehouse), shared by every home."""
    from dbt.version import __version__ as dbt_version

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    # the parse holds the project's absolute paths: one per installed copy of Ferry
    where = hashlib.sha256(str(PROJECT_DIR).encode()).hexdigest()[:8]
    return root / "ferry" / kind / f"{dbt_version}-{fingerprint[:16]}-{where}{suffix}"


def parse_cache(fingerprint: str) -> Path:
    """Where this user's dbt parse of this project version is kept for new homes."""
    return cache_file("dbt-parse", fingerprint, ".msgpack")


def _home_parse(home: Path, fingerprint: str) -> Path:
    return dbt_dir(home) / "parse" / f"{fingerprint[:16]}.msgpack"


def _seed_parse(parse: Path, fingerprint: str, home: Path) -> None:
    """A run's dbt folder starts from the parse an earlier run left (the home's, else
    the user's cache; dbt itself checks every file against it and re-parses what changed)
    instead of parsing the project anew."""
    if parse.exists():
        return
    for kept in (_home_parse(home, fingerprint), parse_cache(fingerprint)):
        if kept.is_file():
            try:
                parse.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(kept, parse)
                return
            except OSError:
                pass  # only a speed-up


def _keep_parse(parse: Path, fingerprint: str, home: Path) -> None:
    if not parse.is_file():
        return
    for kept in (_home_parse(home, fingerprint), parse_cache(fingerprint)):
        if kept.is_file() or kept == parse:
            continue
        try:
            kept.parent.mkdir(parents=True, exist_ok=True)
            partial = kept.with_name(f"{kept.name}.{os.getpid()}.tmp")
            shutil.copyfile(parse, partial)
            os.replace(partial, kept)  # whole or not at all, even with runs side by side
        except OSError:
            pass  # a read-only folder: only a speed-up lost


def _first_error(result) -> str:
    if result.exception is not None:
        return str(result.exception)
    for node in getattr(result.result, "results", None) or []:
        if str(getattr(node, "status", "")) in ("error", "fail"):
            return f"{node.node.name}: {node.message}"
    return "unknown error (see dbt.log in the run's folder)"


def generate_docs(warehouse: Path, home: Path) -> Path:
    """`dbt docs generate --static` next to the warehouse: one HTML file that opens offline."""
    out = (Path(home) / "dbt-docs").resolve()
    args = dbt_args("docs", home, "--static")
    args.insert(1, "generate")
    args[args.index("--target-path") + 1] = str(out)
    result = run_dbt(args, warehouse)
    if not result.success:
        raise TransformError(f"dbt docs generate failed: {_first_error(result)}")
    return out / "static_index.html"
