"""Shared fixtures: a clean Ferry home per test, one dbt parse for the whole session, and a
`migrate` helper that runs the real CLI (real DuckDB, dbt, GX and target database).

The suite mirrors the package: `unit/` (plain functions, no dbt), `target/` (the load on
real SQLite and PostgreSQL targets), `integration/` (whole runs: marked `slow`). Tests
that need PostgreSQL are marked `pg` and skip when FERRY_TEST_PG_URL is unset.
A fast loop: `pytest -m "not slow"`.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.pop("FERRY_TARGET_URL", None)
os.environ.pop("FERRY_HOME", None)
os.environ.pop("PREFECT_API_URL", None)

PG_URL = os.environ.get("FERRY_TEST_PG_URL")
pytest_plugins = ["tests.target_fixtures"]  # target_url, pg_schema, warehouse


def pytest_collection_modifyitems(config, items):
    """Every test of tests/integration/ runs the whole pipeline: `slow`. Every test (or
    parametrized case) that reaches PostgreSQL: `pg`."""
    integration = Path(__file__).parent / "integration"
    for item in items:
        if integration in Path(item.fspath).parents:
            item.add_marker(pytest.mark.slow)
        if "pg_schema" in getattr(item, "fixturenames", ()) or "postgresql" in item.name:
            item.add_marker(pytest.mark.pg)


@pytest.fixture(scope="session", autouse=True)
def shared_dbt_dir(tmp_path_factory):
    """One dbt target dir for all homes, so dbt parses the project once per session."""
    path = tmp_path_factory.mktemp("dbt")
    os.environ["FERRY_DBT_DIR"] = str(path)
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect"))
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))  # dbt's parse cache
    yield path


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    summary: dict | None

    @property
    def run_dir(self) -> Path:
        return Path(self.summary["paths"]["report"]).parent

    def rejects(self) -> list[dict]:
        with open(self.summary["paths"]["rejects"], encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    def codes(self) -> dict[str, int]:
        return {k: v for k, v in self.summary["issue_counts"].items() if v}


def json_error(stdout: str, code: int) -> dict:
    """Under --json a command that fails prints one JSON document: its status, exit code
    and error (docs/CONTRACT.md §1)."""
    doc = json.loads(stdout)
    assert doc["exit_code"] == code and doc["run_id"] is None and doc["error"], doc
    assert doc["status"] == ("input_error" if code == 2 else "failed"), doc
    return doc


def run_cli(*args: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from ferry.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def migrate(home):
    """migrate(file, "--tenant", "t", ...) -> Run; defaults to --json and the test's home."""

    def _migrate(file, *args, tenant="studio", json_output=True) -> Run:
        argv = ["migrate", str(file), "--home", str(home)]
        if "--tenant" not in args:
            argv += ["--tenant", tenant]
        argv += list(args)
        if json_output:
            argv.append("--json")
        code, out, err = run_cli(*argv)
        summary = json.loads(out) if json_output and out.strip() else None
        return Run(code, out, err, summary)

    return _migrate


@pytest.fixture
def write_csv(tmp_path):
    """write_csv(text, name="clients.csv", encoding="utf-8") -> Path."""

    def _write(text: str, name: str = "clients.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return _write


def sqlite_rows(home: Path, sql: str, params=()) -> list[tuple]:
    db = home / "booking.db"
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()
