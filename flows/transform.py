"""Transform: run the dbt project in-process on the warehouse (raw.* -> marts.*).

dbt reads the run to transform from raw.current_run, so every run invokes dbt with the
same arguments and partial parsing stays valid (a changing --vars forces a re-parse).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb

from flows.errors import FerryError
from flows.settings import PROJECT_DIR, quiet_environment


class TransformError(FerryError):
    """dbt failed: a bug or a broken warehouse, not bad input."""

    exit_code = 1


def dbt_args(command: str, home: Path, *extra: str) -> list[str]:
    # FERRY_DBT_DIR lets many homes share one parse (the test suite does)
    dbt_dir = Path(os.environ.get("FERRY_DBT_DIR") or home / "dbt").resolve()
    return [
        command,
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR),
        "--target-path", str(dbt_dir / "target"),
        "--log-path", str(dbt_dir / "logs"),
        "--quiet",
        *extra,
    ]


def run_dbt(args: list[str], warehouse: Path):
    """Invoke dbt in-process and release its DuckDB connection afterwards.

    dbt-duckdb keeps the warehouse open in a class-level environment; until it is
    closed no other step (or process) can open the file.
    """
    quiet_environment()
    os.environ["FERRY_WAREHOUSE"] = str(Path(warehouse).resolve())
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    try:
        result = dbtRunner().invoke(args)
    finally:
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


def _built_fingerprint(warehouse: Path) -> str | None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists raw")
        con.execute("create table if not exists raw.dbt_state (fingerprint varchar, built_at timestamp)")
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


def transform(warehouse: Path, home: Path) -> None:
    """Build the models for the run in raw.current_run (dbt's own tests run in CI).

    Seeds and views only change with the project, so they are built on the first run of a
    warehouse (or after an upgrade) and skipped afterwards; tables are rebuilt every run.
    """
    fingerprint = project_fingerprint()
    up_to_date = _built_fingerprint(warehouse) == fingerprint
    if up_to_date:
        extra = ["--select", "config.materialized:table", "config.materialized:incremental",
                 "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    else:
        extra = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    result = run_dbt(dbt_args("build", home, *extra), warehouse)
    if not result.success:
        raise TransformError(f"dbt failed: {_first_error(result)}")
    if not up_to_date:
        _record_fingerprint(warehouse, fingerprint)


def _first_error(result) -> str:
    if result.exception is not None:
        return str(result.exception)
    for node in getattr(result.result, "results", None) or []:
        if str(getattr(node, "status", "")) in ("error", "fail"):
            return f"{node.node.name}: {node.message}"
    return "unknown error (see the dbt log in <home>/dbt/logs)"


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
