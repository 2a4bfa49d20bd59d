"""The target schema (docs/CONTRACT.md §6): created when absent, the same on SQLite and PostgreSQL,
versioned, and never created by anything that only reads."""

from __future__ import annotations

import json
import sqlite3
import uuid

import psycopg
import pytest
from sqlalchemy import inspect

from ferry import config
from ferry.errors import TargetError
from ferry.target.db import SCHEMA_VERSION, ensure_schema, make_engine, parse_target
from ferry.target.plan import NOT_EMAIL_KEY
from ferry.target.snapshot import read_target_snapshot
from tests.target_fixtures import (
    PG_URL,
    client,
    indexes,
    load,
    needs_pg,
    scalar,
    sql,
)

CONTRACT_COLUMNS = {
    "clients": {
        "id",
        "tenant",
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
        "registration_status",
        "account_id",
        "login_id",
        "password_hash",
        "must_change_password",
        "tags",
        "extra",
        "external_id",
        "run_id",
        "created_at",
        "updated_at",
    },
    "balances": {"id", "tenant", "client_id", "kind", "card_template", "amount", "tier", "run_id"},
    "invite_queue": {"id", "tenant", "client_id", "email", "status", "created_at", "run_id"},
    "accounts": {"id", "email", "created_by_tenant", "created_at"},
    "appointments": {"id", "tenant", "client_id", "client_name", "starts_at"},
}


def columns(url: str) -> dict[str, list[str]]:
    engine = make_engine(parse_target(url))
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            return {t: [c["name"] for c in insp.get_columns(t)] for t in sorted(insp.get_table_names())}
    finally:
        engine.dispose()


def test_schema_has_the_contract_columns_and_a_version(target_url):
    ensure_schema(parse_target(target_url))
    ensure_schema(parse_target(target_url))  # idempotent
    found = columns(target_url)
    for table, wanted in CONTRACT_COLUMNS.items():
        assert wanted <= set(found[table]), table
    assert scalar(target_url, "SELECT max(version) FROM schema_version") == SCHEMA_VERSION
    assert scalar(target_url, "SELECT count(*) FROM schema_version") == 1


@needs_pg
def test_schema_is_identical_on_sqlite_and_postgresql(tmp_path, pg_schema):
    sqlite_url = f"sqlite:///{tmp_path / 'b.db'}"
    for url in (sqlite_url, pg_schema[1]):
        ensure_schema(parse_target(url))
    assert columns(sqlite_url) == columns(pg_schema[1])


def test_ids_and_defaults_come_from_the_database(target_url):
    ensure_schema(parse_target(target_url))
    sql(target_url, "INSERT INTO clients (tenant, full_name, email) VALUES ('t', 'Hand Added', 'h@x.cz')")
    row = sql(target_url, "SELECT * FROM clients")[0]
    assert isinstance(row["id"], int)
    assert row["registration_status"] == "unregistered"
    assert json.loads(row["tags"]) == [] and json.loads(row["extra"]) == {}
    assert row["created_at"] is not None


@pytest.mark.parametrize("column, value", [("tags", '{"a": 1}'), ("tags", "not json"), ("extra", "[1]")])
def test_tags_and_extra_must_be_json_of_the_right_shape(target_url, column, value):
    ensure_schema(parse_target(target_url))
    with pytest.raises(Exception):
        sql(target_url, f"INSERT INTO clients (tenant, {column}) VALUES ('t', :v)", v=value)


def test_a_newer_schema_is_refused(target_url):
    ensure_schema(parse_target(target_url))
    sql(target_url, "INSERT INTO schema_version (version) VALUES (:v)", v=SCHEMA_VERSION + 1)
    with pytest.raises(TargetError, match="newer"):
        ensure_schema(parse_target(target_url))


def test_a_version_1_target_is_upgraded_in_place(target_url, warehouse):
    """Version 2 indexes balances.account_id: deleting an account (undo of a login import)
    sets that column to NULL, and without the index each deleted account read every balance."""
    load(warehouse, target_url, [client("Ann Lee", "ann@example.com", balances={"entries": 3})])
    sql(target_url, "DROP INDEX balances_account")
    sql(target_url, "DELETE FROM schema_version")
    sql(target_url, "INSERT INTO schema_version (version) VALUES (1)")
    ensure_schema(parse_target(target_url))
    assert [r["version"] for r in sql(target_url, "SELECT version FROM schema_version ORDER BY version")] == list(
        range(1, SCHEMA_VERSION + 1)
    )
    assert "balances_account" in {name for name, _ in indexes(target_url)}
    assert scalar(target_url, "SELECT count(*) FROM balances") == 1  # the data stayed


def upgraded_from(url: str, version: int, index: str, as_it_was: str) -> None:
    """Make the target a version `version` one whose index `index` is `as_it_was`, then let
    Ferry bring it up to date."""
    sql(url, f"DROP INDEX {index}")
    sql(url, as_it_was)
    sql(url, "DELETE FROM schema_version")
    sql(url, "INSERT INTO schema_version (version) VALUES (:v)", v=version)
    ensure_schema(parse_target(url))


def test_a_version_2_target_gets_the_partial_match_key_index_and_still_matches(target_url, warehouse):
    """Version 3 leaves e-mail keys out of clients_match_key (a file client with an e-mail
    matches by e-mail, one without never has an e-mail key): the index of a 1M-client
    import shrinks to the few clients without an e-mail. Matching by key is unchanged."""
    people = [client("Petr Novák", postal_code="602 00"), client("Ann Lee", "ann@example.com")]
    assert load(warehouse, target_url, people).clients_new == 2
    upgraded_from(target_url, 2, "clients_match_key", "CREATE INDEX clients_match_key ON clients (tenant, match_key)")
    assert [r["version"] for r in sql(target_url, "SELECT version FROM schema_version ORDER BY version")] == list(
        range(2, SCHEMA_VERSION + 1)
    )
    definition = dict(indexes(target_url))["clients_match_key"]
    assert "WHERE" in definition.upper() and "'email:'" in definition, definition
    again = load(
        warehouse, target_url, [client("Petr Novák", postal_code="602 00"), client("Ann Lee", "ann@example.com")]
    )
    assert (again.clients_new, again.clients_unchanged) == (0, 2)


def test_a_version_4_target_indexes_only_balances_with_an_account(target_url, warehouse):
    """Version 5 leaves balances without an account (all a load inserts for clients who do
    not register) out of balances_account; deleting an account still finds its balances
    through it and sets them to NULL."""
    people = [
        client("Ann Lee", "ann@example.com", balances={"entries": 3}),
        client("Cyril Login", "cyril@example.cz", login_id="cyril", password_hash="h", balances={"credits": 2}),
    ]
    assert load(warehouse, target_url, people).accounts_created == 1
    upgraded_from(target_url, 4, "balances_account", "CREATE INDEX balances_account ON balances (account_id)")
    assert scalar(target_url, "SELECT max(version) FROM schema_version") == SCHEMA_VERSION == 5
    definition = dict(indexes(target_url))["balances_account"]
    assert "account_id IS NOT NULL" in definition.replace("(", "").replace(")", ""), definition
    if target_url.startswith("sqlite"):
        seen = sql(target_url, "EXPLAIN QUERY PLAN SELECT id FROM balances WHERE account_id = 1")
        assert any("INDEX balances_account" in row["detail"] for row in seen), seen
    sql(target_url, "DELETE FROM accounts")
    rows = sql(target_url, "SELECT kind, account_id FROM balances ORDER BY kind")
    assert [(r["kind"], r["account_id"]) for r in rows] == [("credits", None), ("entries", None)]


def test_sqlite_finds_a_client_by_key_through_the_index(tmp_path):
    """The plan's look-up by match_key must satisfy the partial index's condition word for
    word, or SQLite scans every client once per file client without an e-mail."""
    url = f"sqlite:///{tmp_path / 'b.db'}"
    ensure_schema(parse_target(url))
    plan = sql(
        url,
        f"EXPLAIN QUERY PLAN SELECT min(c.id) FROM clients c "
        f"WHERE c.match_key = 'name:x' AND c.tenant = 't' AND {NOT_EMAIL_KEY}",
    )
    assert any("INDEX clients_match_key" in row["detail"] for row in plan), plan


def test_a_sqlite_target_ferry_creates_has_big_pages_and_an_existing_one_keeps_its_own(tmp_path, warehouse):
    """A booking database Ferry creates gets config.SQLITE_PAGE_SIZE pages (a big load
    writes fewer, fuller pages); one the booking system made keeps its page size through a
    load, and loads the same."""
    new = f"sqlite:///{tmp_path / 'new.db'}"
    assert load(warehouse, new, [client("Ann Lee", "ann@example.com", balances={"entries": 3})]).clients_new == 1
    existing_path = tmp_path / "existing.db"
    made_elsewhere = sqlite3.connect(existing_path)
    made_elsewhere.execute("PRAGMA page_size = 4096")
    made_elsewhere.execute("CREATE TABLE appointments_of_the_old_app (id INTEGER PRIMARY KEY)")
    made_elsewhere.close()
    existing = f"sqlite:///{existing_path}"
    assert load(warehouse, existing, [client("Ann Lee", "ann@example.com", balances={"entries": 3})]).clients_new == 1
    assert page_size(tmp_path / "new.db") == config.SQLITE_PAGE_SIZE != 4096
    assert page_size(existing_path) == 4096
    for url in (new, existing):
        assert [(r["email"], r["amount"]) for r in sql(url, BALANCES)] == [("ann@example.com", 3)]


BALANCES = "SELECT c.email, b.amount FROM clients c JOIN balances b ON b.client_id = c.id"


def page_size(path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA page_size").fetchone()[0]
    finally:
        con.close()


def test_snapshot_of_a_missing_sqlite_target_is_empty_and_creates_nothing(tmp_path):
    path = tmp_path / "sub" / "booking.db"
    snap = read_target_snapshot(f"sqlite:///{path}", "t")
    assert (snap.logins, snap.account_emails) == ([], [])
    assert not path.exists() and not path.parent.exists()


@needs_pg
def test_snapshot_of_a_missing_pg_database_or_schema_is_empty_and_creates_nothing(pg_schema):
    base = PG_URL.rsplit("/", 1)[0]
    missing = f"ferry_missing_{uuid.uuid4().hex[:8]}"
    assert read_target_snapshot(f"{base}/{missing}", "t").logins == []
    schema, url = pg_schema
    assert read_target_snapshot(url, "t").account_emails == []
    with psycopg.connect(PG_URL) as con:
        assert con.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [missing]).fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema]).fetchone()[0] == 0


def test_snapshot_reads_the_tenants_logins_and_every_account(target_url, warehouse):
    load(warehouse, target_url, [client("Anna Nova", "anna@x.cz", login_id="Anna", password_hash="h1")], tenant="a")
    load(warehouse, target_url, [client("Bea Nova", "bea@x.cz", login_id="bea", password_hash="h2")], tenant="b")
    snap = read_target_snapshot(target_url, "a")
    assert snap.logins == [("anna", "anna@x.cz")]
    assert snap.account_emails == ["anna@x.cz", "bea@x.cz"]


def test_dry_run_on_a_missing_target_creates_nothing(target_url, warehouse, tmp_path):
    result = load(warehouse, target_url, [client("Anna Nova", "anna@x.cz", balances={"credits": 5})], dry_run=True)
    assert (result.clients_new, result.invites_queued) == (1, 1)
    assert result.control_totals == {"credits": {"source": 5.0, "target": 5.0}}
    if target_url.startswith("sqlite"):
        assert not (tmp_path / "booking.db").exists()
    else:
        schema = target_url.rsplit("%3D", 1)[1]
        with psycopg.connect(PG_URL) as con:
            assert con.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema]).fetchone()[0] == 0


def test_bad_target_url_is_a_target_error():
    with pytest.raises(TargetError):
        parse_target("mysql://x/y")
