"""Bulk staging: one run's marts.clients / marts.balances into temp tables on the target.

The stage tables are written once and never updated (on PostgreSQL every UPDATE rewrites
each row it touches); all the matching and writing afterwards is set-based SQL between
them, the plan tables and the target's tables, so the only per-row work is the copy:
- PostgreSQL: DuckDB writes CSV, psycopg streams it with COPY (≈1M rows/s);
- SQLite: rows fetched from DuckDB, executemany in the open transaction.
The warehouse is opened read-only and closed before any target table is touched.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import duckdb
from sqlalchemy import Connection

from flows.errors import FerryError
from flows.target.db import Dialect, Target

CLIENT_COLUMNS = (
    "client_key", "match_key", "full_name", "first_name", "last_name", "salutation", "email",
    "phone", "phone_raw", "postal_code", "birth_date", "newsletter_consent", "login_id",
    "password_hash", "must_change_password", "tags", "extra", "external_id", "has_balance",
    "has_login",
)
BALANCE_COLUMNS = ("client_key", "kind", "card_template", "amount", "tier")

# What the warehouse gives, already in the target's shape (NULL-safe defaults, ISO dates).
CLIENTS_QUERY = """
select client_key, match_key, full_name, first_name, last_name, salutation, lower(email),
       phone, phone_raw, postal_code, cast(birth_date as varchar),
       coalesce(newsletter_consent, false), login_id, password_hash,
       coalesce(must_change_password, false), coalesce(tags, '[]'), coalesce(extra, '{}'),
       external_id, coalesce(has_balance, false),
       login_id is not null and email is not null
from marts.clients where run_id = ? order by client_key
"""
BALANCES_QUERY = """
select client_key, kind, card_template, cast(amount as varchar), tier
from marts.balances where run_id = ? order by client_key, kind, card_template
"""
TOTALS_QUERY = "select kind, sum(amount) from marts.balances where run_id = ? group by kind order by kind"


def create_stage_tables(conn: Connection, d: Dialect) -> None:
    b, flag = d.bigint, d.boolean
    if d.name == "postgresql":
        # temp tables live in temp_buffers (8 MB by default): a 1M-row stage would spill to
        # disk on every pass. Allowed only before the session's first temp table, and each
        # load has a session of its own. Limits, not allocations. JIT compiles each big
        # one-shot statement for ~0.5 s and never wins it back here.
        conn.exec_driver_sql("SELECT set_config('temp_buffers', '1GB', true), set_config('work_mem', '256MB', true), "
                             "set_config('jit', 'off', true)")
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE stage_clients (
            client_key {b} PRIMARY KEY, match_key text, full_name text, first_name text,
            last_name text, salutation text, email text, phone text, phone_raw text,
            postal_code text, birth_date {d.date}, newsletter_consent {flag} NOT NULL,
            login_id text, password_hash text, must_change_password {flag} NOT NULL,
            tags text NOT NULL, extra text NOT NULL, external_id text,
            has_balance {flag} NOT NULL, has_login {flag} NOT NULL
        ) {d.on_commit}""")
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE stage_balances (
            client_key {b} NOT NULL, kind text NOT NULL, card_template text,
            amount numeric NOT NULL, tier text
        ) {d.on_commit}""")


def stage_run(conn: Connection, target: Target, d: Dialect, warehouse: Path, run_id: str) -> dict[str, Decimal]:
    """Fill the stage tables with the run's marts; returns the source sum per balance kind."""
    create_stage_tables(conn, d)
    with tempfile.TemporaryDirectory(prefix="ferry-stage-") as tmp:
        duck = _open_warehouse(warehouse)
        try:
            totals = {kind: amount for kind, amount in _read(duck, TOTALS_QUERY, run_id, warehouse)}
            if target.is_pg:
                files = {}
                for name, query in (("clients", CLIENTS_QUERY), ("balances", BALANCES_QUERY)):
                    files[name] = Path(tmp) / f"{name}.csv"
                    quoted = str(files[name]).replace("'", "''")
                    _read(duck, f"copy ({query}) to '{quoted}' (header false)", run_id, warehouse)
            else:
                # streamed in batches: a 1M-client run never sits in Python lists whole
                cur = conn.connection.driver_connection.cursor()
                cur.executemany(_insert_sql("stage_clients", CLIENT_COLUMNS),
                                _stream(duck, CLIENTS_QUERY, run_id, warehouse))
                cur.executemany(_insert_sql("stage_balances", BALANCE_COLUMNS),
                                _stream(duck, BALANCES_QUERY, run_id, warehouse))
        finally:
            duck.close()
        if target.is_pg:
            _copy_csv(conn, "stage_clients", CLIENT_COLUMNS, files["clients"])
            _copy_csv(conn, "stage_balances", BALANCE_COLUMNS, files["balances"])
            conn.exec_driver_sql("ANALYZE stage_clients")  # temp tables get no autovacuum stats
    conn.exec_driver_sql("CREATE INDEX stage_balances_client ON stage_balances (client_key)")
    if target.is_pg:
        conn.exec_driver_sql("ANALYZE stage_balances")
    return totals


def _open_warehouse(warehouse: Path):
    try:
        return duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        raise FerryError(f"cannot read the warehouse {warehouse}: {exc}") from exc


def _read(duck, query: str, run_id: str, warehouse: Path) -> list:
    try:
        return duck.execute(query, [run_id]).fetchall()
    except duckdb.Error as exc:
        raise FerryError(f"cannot read run {run_id} from the marts in {warehouse}: {exc}") from exc


def _stream(duck, query: str, run_id: str, warehouse: Path, batch: int = 50_000):
    try:
        result = duck.execute(query, [run_id])
        while rows := result.fetchmany(batch):
            yield from rows
    except duckdb.Error as exc:
        raise FerryError(f"cannot read run {run_id} from the marts in {warehouse}: {exc}") from exc


def _copy_csv(conn: Connection, table: str, columns: tuple[str, ...], path: Path) -> None:
    """COPY a DuckDB CSV (NULL = empty field, '' = quoted empty) into a temp table."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                copy.write(chunk)


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
