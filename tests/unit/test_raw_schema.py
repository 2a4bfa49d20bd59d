"""The raw layer's DDL: one versioned file (ferry/ingest/raw_schema.sql), one function."""

import re
from pathlib import Path

import duckdb
import yaml

from ferry.config import PROJECT_DIR
from ferry.ingest.raw import RAW_SCHEMA_VERSION, ensure_raw_schema, raw_schema_script, recorded_version

PACKAGE = Path(__file__).resolve().parents[2] / "ferry"


def raw_tables(con) -> dict[str, list[tuple[str, str]]]:
    names = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' ORDER BY table_name"
    ).fetchall()
    return {n: [(c[0], c[1]) for c in con.execute(f"DESCRIBE raw.{n}").fetchall()] for (n,) in names}


def test_every_dbt_source_table_is_created():
    sources = yaml.safe_load((PROJECT_DIR / "models" / "staging" / "_raw__sources.yml").read_text())
    wanted = {t["name"] for s in sources["sources"] if s["name"] == "raw" for t in s["tables"]}
    con = duckdb.connect()
    ensure_raw_schema(con)
    assert wanted <= set(raw_tables(con))
    assert {"dbt_state", "schema_version"} <= set(raw_tables(con))


def test_applied_once_and_version_recorded_once():
    con = duckdb.connect()
    assert recorded_version(con) is None
    con.execute("BEGIN")  # inside a caller's transaction, as land calls it
    ensure_raw_schema(con)
    ensure_raw_schema(con)
    con.execute("COMMIT")
    assert recorded_version(con) == RAW_SCHEMA_VERSION
    assert con.execute("SELECT count(*) FROM raw.schema_version").fetchone() == (1,)


def test_a_warehouse_from_before_the_version_is_upgraded():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute(
        "CREATE TABLE raw.card_templates (run_id VARCHAR, template VARCHAR, type VARCHAR, "
        "first_visit_reward DECIMAL(20, 4), tier VARCHAR, min_spend DECIMAL(20, 4), position INTEGER)"
    )
    con.execute("INSERT INTO raw.card_templates (run_id, template) VALUES ('old-run', 'stamp')")
    ensure_raw_schema(con)
    assert raw_tables(con)["card_templates"][-1] == ("kind", "VARCHAR")
    assert con.execute("SELECT run_id, kind FROM raw.card_templates").fetchall() == [("old-run", None)]
    assert recorded_version(con) == RAW_SCHEMA_VERSION


def test_the_columns_dbt_and_analysts_read():
    con = duckdb.connect()
    ensure_raw_schema(con)
    tables = raw_tables(con)
    assert [c for c, _ in tables["rows"]] == ["run_id", "row_number", "cells"]
    assert dict(tables["rows"])["cells"] == "VARCHAR[]"
    assert [c for c, _ in tables["run_results"]] == ["run_id", "tenant", "status", "finished_at", "summary"]
    assert [c for c, _ in tables["target_logins"]] == ["run_id", "login_key", "email_key"]
    # the mapping's decisions: why each column maps as it does (docs/CONTRACT.md §2)
    assert {"confidence", "reason", "warning"} <= {c for c, _ in tables["columns"]}


def test_no_module_creates_raw_tables_itself():
    ddl = re.compile(r"create\s+(table|schema)\s+(if\s+not\s+exists\s+)?raw\b", re.IGNORECASE)
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if ddl.search(p.read_text("utf-8"))]
    assert offenders == []
    assert "raw schema version" in raw_schema_script()
