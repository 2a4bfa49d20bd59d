"""Transform: run the dbt project in-process on the warehouse (raw.* -> marts.*).

dbt reads the run to transform from raw.current_run, so every run invokes dbt with the
same arguments and partial parsing stays valid (a changing --vars forces a re-parse).
"""

from __future__ import annotations

import os
from pathlib import Path

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


def transform(warehouse: Path, home: Path) -> None:
    """Build seeds and models for the run in raw.current_run (dbt's own tests run in CI)."""
    result = run_dbt(
        dbt_args("build", home, "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"),
        warehouse,
    )
    if not result.success:
        raise TransformError(f"dbt failed: {_first_error(result)}")


def _first_error(result) -> str:
    if result.exception is not None:
        return str(result.exception)
    for node in getattr(result.result, "results", None) or []:
        if str(getattr(node, "status", "")) in ("error", "fail"):
            return f"{node.node.name}: {node.message}"
    return "unknown error (see the dbt log in <home>/dbt/logs)"
