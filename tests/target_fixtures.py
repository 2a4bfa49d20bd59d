"""Fixtures and helpers for the target tests.

`target_url` gives every test a fresh, empty target: a SQLite file, and (when
FERRY_TEST_PG_URL is set) a PostgreSQL schema of its own, so the same test body runs on
both. `Warehouse` writes marts.clients / marts.balances by hand, the way dbt would, so
load_run is driven exactly as the flow drives it.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from pathlib import Path

import duckdb
import psycopg
import pytest
from sqlalchemy import text

from ferry.config import RunOptions
from ferry.target.db import make_engine, parse_target
from ferry.target.load import LoadResult, load_run

PG_URL = os.environ.get("FERRY_TEST_PG_URL")
PG_MARKS = [pytest.mark.pg, pytest.mark.skipif(not PG_URL, reason="FERRY_TEST_PG_URL not set")]


def needs_pg(test):
    """Mark a test `pg`: it runs against FERRY_TEST_PG_URL and skips when that is unset."""
    for mark in PG_MARKS:
        test = mark(test)
    return test


def pg_schema_url(schema: str, app: str | None = None) -> str:
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    return url + (f"&application_name={app}" if app else "")


@pytest.fixture
def pg_schema():
    """A fresh PostgreSQL schema; yields (schema name, URL with search_path set)."""
    schema = f"ferry_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema, pg_schema_url(schema)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=PG_MARKS)])
def target_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'booking.db'}"
        return
    yield request.getfixturevalue("pg_schema")[1]


def sql(url: str, statement: str, **params) -> list[dict]:
    """Run one statement on the target in its own transaction; rows as dicts."""
    engine = make_engine(parse_target(url))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return [dict(r._mapping) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def scalar(url: str, statement: str, **params):
    rows = sql(url, statement, **params)
    return next(iter(rows[0].values())) if rows else None


CLIENT_DDL = """
create schema if not exists marts;
create table if not exists marts.clients (
    run_id varchar, client_key integer, match_key varchar, full_name varchar,
    first_name varchar, last_name varchar, salutation varchar, email varchar, phone varchar,
    phone_raw varchar, postal_code varchar, birth_date date, newsletter_consent boolean,
    login_id varchar, password_hash varchar, must_change_password boolean, tags varchar,
    extra varchar, external_id varchar, source_rows integer[], has_balance boolean);
create table if not exists marts.balances (
    run_id varchar, client_key integer, kind varchar, card_template varchar,
    amount decimal(20, 4), tier varchar);
"""
CLIENT_FIELDS = (
    "client_key",
    "match_key",
    "full_name",
    "first_name",
    "last_name",
    "salutation",
    "email",
    "phone",
    "phone_raw",
    "postal_code",
    "birth_date",
    "newsletter_consent",
    "login_id",
    "password_hash",
    "must_change_password",
    "tags",
    "extra",
    "external_id",
    "has_balance",
)


def client(full_name: str, email: str | None = None, *, balances: dict | None = None, **fields) -> dict:
    """A marts.clients row; `balances` = {kind: amount} or {(kind, template): (amount, tier)}."""
    first, _, last = full_name.rpartition(" ")
    row = {
        "full_name": full_name,
        "first_name": first or None,
        "last_name": last,
        "email": email,
        "newsletter_consent": False,
        "must_change_password": False,
        "tags": json.dumps(fields.pop("tag_list", [])),
        "extra": "{}",
        **fields,
    }
    row["_balances"] = balances or {}
    return row


class Warehouse:
    """A DuckDB warehouse holding marts the way dbt leaves them."""

    _runs = itertools.count(1)

    def __init__(self, path: Path):
        self.path = path

    def write(self, clients: list[dict], run_id: str | None = None) -> str:
        run_id = run_id or f"run-{next(self._runs):04d}-{uuid.uuid4().hex[:6]}"
        client_rows, balance_rows = [], []
        for key, c in enumerate(clients, start=2):
            c = dict(c)
            bal = c.pop("_balances", {})
            c.setdefault("client_key", key)
            c.setdefault("match_key", f"email:{c['email']}" if c.get("email") else f"name:{c['full_name'].lower()}")
            for kind, amount in bal.items():
                template, tier = None, None
                if isinstance(kind, tuple):
                    kind, template = kind
                if isinstance(amount, tuple):
                    amount, tier = amount
                balance_rows.append((run_id, c["client_key"], kind, template, amount, tier))
            c.setdefault("has_balance", any((a[0] if isinstance(a, tuple) else a) > 0 for a in bal.values()))
            client_rows.append((run_id, *[c.get(f) for f in CLIENT_FIELDS]))
        con = duckdb.connect(str(self.path))
        try:
            con.execute(CLIENT_DDL)
            cols = ", ".join(("run_id", *CLIENT_FIELDS))
            if client_rows:
                con.executemany(
                    f"insert into marts.clients ({cols}) values ({', '.join('?' * (len(CLIENT_FIELDS) + 1))})",
                    client_rows,
                )
            if balance_rows:
                con.executemany("insert into marts.balances values (?, ?, ?, ?, ?, ?)", balance_rows)
        finally:
            con.close()
        return run_id

    def write_bulk(self, n: int, run_id: str, *, offset: int = 0, logins_every: int = 0) -> str:
        """n synthetic clients (e-mail c<i>@example.com) with one credits and one entries
        balance each; every `logins_every`-th client has a login."""
        con = duckdb.connect(str(self.path))
        try:
            con.execute(CLIENT_DDL)
            login = f"i % {logins_every} = 0" if logins_every else "false"
            con.execute(
                f"""
                insert into marts.clients
                select ?, i + 2, 'email:c' || i || '@example.com', 'Client ' || i, 'Client', cast(i as varchar),
                       null, 'c' || i || '@example.com', '+42060' || lpad(cast(i as varchar), 7, '0'), null,
                       lpad(cast(i % 99999 as varchar), 5, '0'), date '1980-01-01' + cast(i % 9000 as integer),
                       i % 2 = 0,
                       case when {login} then 'login' || i end,
                       case when {login} then '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA' end,
                       false, '["vip"]', '{{"note": "n' || i || '"}}', cast(i as varchar), [i + 2], i % 3 <> 0
                from range(?, ?) t(i)""",
                [run_id, offset, offset + n],
            )
            con.execute(
                """
                insert into marts.balances
                select ?, i + 2, 'credits', null, cast((i % 3) * 2.5 as decimal(20, 4)), null from range(?, ?) t(i)
                union all
                select ?, i + 2, 'entries', null, cast(i % 3 as decimal(20, 4)), null from range(?, ?) t(i)""",
                [run_id, offset, offset + n, run_id, offset, offset + n],
            )
        finally:
            con.close()
        return run_id


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    return Warehouse(tmp_path / "warehouse.duckdb")


def options(target_url: str, tenant: str = "studio-a", **kw) -> RunOptions:
    return RunOptions(file=Path("clients.csv"), tenant=tenant, target=target_url, **kw)


def load(
    warehouse: Warehouse, target_url: str, clients: list[dict], tenant: str = "studio-a", dry_run: bool = False, **kw
) -> LoadResult:
    """Write `clients` as a new run's marts and load it; the result carries .run_id."""
    run_id = warehouse.write(clients)
    result = load_run(warehouse.path, run_id, options(target_url, tenant, **kw), dry_run=dry_run)
    result.run_id = run_id
    return result


def counts(result: LoadResult) -> tuple[int, int, int, int]:
    return result.clients_new, result.clients_updated, result.clients_unchanged, result.invites_queued


TABLES = ("clients", "balances", "invite_queue", "accounts", "appointments")


def dump(url: str, tables=TABLES) -> dict[str, list[dict]]:
    """Every row of the booking tables, by id: compare before/after to prove "nothing changed"."""
    return {t: sql(url, f"SELECT * FROM {t} ORDER BY id") for t in tables}


def indexes(url: str) -> list[tuple[str, str]]:
    """Every index of the booking database, with its definition (a load may rebuild them)."""
    if url.startswith("sqlite"):
        rows = sql(url, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
        return [(r["name"], r["sql"]) for r in rows]
    rows = sql(url, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname")
    return [(r["indexname"], r["indexdef"]) for r in rows]


def balances_of(url: str, tenant: str) -> dict[tuple[str, str], float]:
    """(email or name, kind) -> amount for the tenant."""
    rows = sql(
        url,
        """SELECT coalesce(c.email, c.full_name) AS who, b.kind, b.amount
                         FROM balances b JOIN clients c ON c.id = b.client_id
                        WHERE b.tenant = :t""",
        t=tenant,
    )
    return {(r["who"], r["kind"]): float(r["amount"]) for r in rows}
