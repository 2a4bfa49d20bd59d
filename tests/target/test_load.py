"""Loading a run into the target (docs/CONTRACT.md §6): matching, set-not-add balances, idempotent
reruns, invitations, logins, --replace-existing, dry runs, control totals, tenant lock.
Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

import ferry.target.stage as stage_module
from ferry import config
from ferry.errors import TargetError
from ferry.target.db import LOCK_NAMESPACE, ensure_schema, parse_target
from ferry.target.load import load_run
from tests.target_fixtures import (
    balances_of,
    client,
    counts,
    dump,
    indexes,
    load,
    needs_pg,
    options,
    scalar,
    sql,
)

ANNA = dict(full_name="Anna Nováková", email="anna@example.cz")


def test_new_clients_are_loaded_unregistered_with_their_balances(target_url, warehouse):
    result = load(
        warehouse,
        target_url,
        [
            client(
                "Anna Nováková",
                "anna@example.cz",
                phone="+420601123456",
                birth_date="1980-12-31",
                newsletter_consent=True,
                tag_list=["vip", "yoga"],
                extra='{"Member since": "2019"}',
                external_id="007",
                postal_code="01001",
                balances={"entries": 3, "credits": 12.5},
            ),
            client("Bob Li", None, balances={"entries": 0, "credits": 0}),
        ],
    )
    assert counts(result) == (2, 0, 0, 1)
    assert result.control_totals == {
        "credits": {"source": 12.5, "target": 12.5},
        "entries": {"source": 3.0, "target": 3.0},
    }
    anna = sql(target_url, "SELECT * FROM clients WHERE email = 'anna@example.cz'")[0]
    assert anna["tenant"] == "studio-a" and anna["registration_status"] == "unregistered"
    assert anna["account_id"] is None and anna["run_id"] == result.run_id
    assert json.loads(anna["tags"]) == ["vip", "yoga"] and json.loads(anna["extra"]) == {"Member since": "2019"}
    assert str(anna["birth_date"]) == "1980-12-31" and bool(anna["newsletter_consent"]) is True
    assert (anna["postal_code"], anna["external_id"], anna["phone"]) == ("01001", "007", "+420601123456")
    assert anna["created_at"] is not None and anna["updated_at"] is not None
    assert balances_of(target_url, "studio-a") == {
        ("anna@example.cz", "entries"): 3,
        ("anna@example.cz", "credits"): 12.5,
        ("Bob Li", "entries"): 0,
        ("Bob Li", "credits"): 0,
    }
    assert sql(target_url, "SELECT email, status, run_id FROM invite_queue") == [
        {"email": "anna@example.cz", "status": "pending", "run_id": result.run_id}
    ]


def test_running_the_same_file_again_changes_nothing(target_url, warehouse):
    file = [
        client(**ANNA, balances={"credits": 10}, tag_list=["a"]),
        client("Cyril Login", "cyril@example.cz", login_id="cyril", password_hash="$argon2id$one"),
        client("No Mail", None, balances={"credits": 3}),
    ]
    load(warehouse, target_url, file)
    before = dump(target_url)
    again = file[:]
    again[1] = dict(file[1], password_hash="$argon2id$two")  # a fresh salt: same password, new hash
    result = load(warehouse, target_url, again)
    assert counts(result) == (0, 0, 3, 0)
    assert dump(target_url) == before


def test_a_corrected_file_updates_fields_and_sets_balances(target_url, warehouse):
    load(
        warehouse,
        target_url,
        [
            client(**ANNA, balances={"credits": 10, "entries": 4}),
            client("Bob Li", "bob@example.cz", balances={"credits": 1}),
        ],
    )
    result = load(
        warehouse,
        target_url,
        [
            client(**ANNA, balances={"credits": 12, "entries": 4}),
            client("Bob Li", "bob@example.cz", phone="+420777000111", balances={"credits": 1}),
        ],
    )
    assert counts(result) == (0, 2, 0, 0)
    assert balances_of(target_url, "studio-a") == {
        ("anna@example.cz", "credits"): 12,
        ("anna@example.cz", "entries"): 4,
        ("bob@example.cz", "credits"): 1,
    }
    assert scalar(target_url, "SELECT phone FROM clients WHERE email = 'bob@example.cz'") == "+420777000111"
    assert scalar(target_url, "SELECT count(*) FROM clients") == 2


def test_a_hand_added_client_is_matched_by_email_not_duplicated(target_url, warehouse):
    ensure_schema(parse_target(target_url))
    sql(target_url, "INSERT INTO clients (tenant, full_name, email) VALUES ('studio-a', 'Anna N.', 'Anna@Example.CZ')")
    result = load(warehouse, target_url, [client(**ANNA, balances={"credits": 2})])
    assert counts(result) == (0, 1, 0, 1)
    rows = sql(target_url, "SELECT full_name, email FROM clients")
    assert rows == [{"full_name": "Anna Nováková", "email": "anna@example.cz"}]


def test_a_client_without_email_is_matched_by_match_key(target_url, warehouse):
    load(warehouse, target_url, [client("Bob Li", None, external_id="17", match_key="external_id:17")])
    result = load(
        warehouse,
        target_url,
        [client("Bob Li", None, external_id="17", match_key="external_id:17", phone="+420777000111")],
    )
    assert counts(result) == (0, 1, 0, 0)
    assert scalar(target_url, "SELECT count(*) FROM clients") == 1


def test_tenants_never_touch_each_other_even_with_shared_emails(target_url, warehouse):
    load(warehouse, target_url, [client(**ANNA, balances={"credits": 5})], tenant="a")
    tenant_a = dump(target_url)
    result = load(
        warehouse, target_url, [client(**ANNA, balances={"credits": 7}), client("Bob Li", "bob@example.cz")], tenant="b"
    )
    assert counts(result) == (2, 0, 0, 2)
    load(warehouse, target_url, [client(**ANNA, balances={"credits": 9})], tenant="b")
    load(warehouse, target_url, [client("Cyd", "cyd@example.cz")], tenant="b", replace_existing=True)
    after = dump(target_url)
    for table in ("clients", "balances", "invite_queue"):
        assert [r for r in after[table] if r["tenant"] == "a"] == tenant_a[table]
    assert balances_of(target_url, "a") == {("anna@example.cz", "credits"): 5}


def test_replace_existing_deletes_clients_but_keeps_appointments(target_url, warehouse):
    load(warehouse, target_url, [client(**ANNA, balances={"credits": 5}), client("Bob Li", "bob@example.cz")])
    anna_id = scalar(target_url, "SELECT id FROM clients WHERE email = 'anna@example.cz'")
    bob_id = scalar(target_url, "SELECT id FROM clients WHERE email = 'bob@example.cz'")
    sql(
        target_url,
        "INSERT INTO appointments (tenant, client_id, client_name, starts_at) VALUES "
        "('studio-a', :a, 'Anna N.', '2026-01-05 10:00:00'), ('studio-a', :b, NULL, '2026-01-06 10:00:00')",
        a=anna_id,
        b=bob_id,
    )
    result = load(warehouse, target_url, [client(**ANNA, balances={"credits": 6})], replace_existing=True)
    assert counts(result) == (1, 0, 0, 1)
    assert scalar(target_url, "SELECT count(*) FROM clients") == 1
    assert scalar(target_url, "SELECT count(*) FROM invite_queue") == 1  # the old pending ones went
    assert balances_of(target_url, "studio-a") == {("anna@example.cz", "credits"): 6}
    appointments = sql(target_url, "SELECT client_id, client_name FROM appointments ORDER BY id")
    assert appointments == [{"client_id": None, "client_name": "Anna N."}, {"client_id": None, "client_name": "Bob Li"}]


@pytest.mark.parametrize("mode, invited, without", [("all", 2, 1), ("balances", 1, 1), ("none", 0, 2)])
def test_invitation_modes(target_url, warehouse, mode, invited, without):
    result = load(
        warehouse,
        target_url,
        [
            client(**ANNA, balances={"credits": 5}),
            client("Bob Li", "bob@example.cz", balances={"credits": 0}),
            client("No Mail", None, balances={"credits": 3}),
            client("Cyril Login", "cyril@example.cz", login_id="cyril", password_hash="h", balances={"credits": 1}),
        ],
        invites=mode,
    )
    assert (result.invites_queued, result.balance_without_invite) == (invited, without)
    assert scalar(target_url, "SELECT count(*) FROM invite_queue WHERE status = 'pending'") == invited


def test_never_a_second_invitation(target_url, warehouse):
    load(warehouse, target_url, [client(**ANNA, balances={"credits": 5})])
    sql(target_url, "UPDATE invite_queue SET status = 'sent'")
    result = load(warehouse, target_url, [client(**ANNA, balances={"credits": 5}), client("Bob Li", "bob@example.cz")])
    assert (result.invites_queued, result.balance_without_invite) == (1, 0)
    assert scalar(target_url, "SELECT count(*) FROM invite_queue") == 2


def test_a_login_creates_an_account_and_registers_the_client(target_url, warehouse):
    result = load(
        warehouse,
        target_url,
        [
            client(
                "Cyril Login",
                "cyril@example.cz",
                login_id="Cyril",
                password_hash="$argon2id$h",
                must_change_password=True,
                balances={"credits": 4},
            )
        ],
    )
    assert (result.clients_new, result.invites_queued, result.accounts_created) == (1, 0, 1)
    account = sql(target_url, "SELECT * FROM accounts")[0]
    assert (account["email"], account["created_by_tenant"]) == ("cyril@example.cz", "studio-a")
    row = sql(
        target_url, "SELECT registration_status, account_id, login_id, password_hash, must_change_password FROM clients"
    )[0]
    assert row["registration_status"] == "registered" and row["account_id"] == account["id"]
    assert (row["login_id"], row["password_hash"], bool(row["must_change_password"])) == ("Cyril", "$argon2id$h", True)
    assert scalar(target_url, "SELECT account_id FROM balances") == account["id"]


def test_a_login_for_an_existing_account_links_and_changes_nothing_of_it(target_url, warehouse):
    ensure_schema(parse_target(target_url))
    sql(target_url, "INSERT INTO accounts (email) VALUES ('cyril@example.cz')")
    account = dump(target_url, ("accounts",))
    result = load(
        warehouse,
        target_url,
        [client("Cyril Login", "cyril@example.cz", login_id="cyril", password_hash="h")],
        tenant="b",
    )
    assert (result.accounts_created, result.accounts_linked) == (0, 1)
    assert dump(target_url, ("accounts",)) == account
    row = sql(target_url, "SELECT registration_status, account_id FROM clients")[0]
    assert row == {"registration_status": "registered", "account_id": account["accounts"][0]["id"]}


def test_an_existing_client_gaining_a_login_counts_as_updated(target_url, warehouse):
    load(warehouse, target_url, [client(**ANNA)])
    result = load(warehouse, target_url, [client(**ANNA, login_id="anna", password_hash="h")])
    assert counts(result) == (0, 1, 0, 0)
    assert scalar(target_url, "SELECT registration_status FROM clients") == "registered"
    changed = load(warehouse, target_url, [client(**ANNA, login_id="anna2", password_hash="h2")])
    assert counts(changed) == (0, 1, 0, 0)
    assert scalar(target_url, "SELECT password_hash FROM clients") == "h2"


def test_card_balances_keep_template_and_tier(target_url, warehouse):
    load(warehouse, target_url, [client(**ANNA, balances={("discount_spend", "discount"): (3500, "10%")})])
    result = load(warehouse, target_url, [client(**ANNA, balances={("discount_spend", "discount"): (5200, "15%")})])
    assert counts(result) == (0, 1, 0, 0)
    row = sql(target_url, "SELECT kind, card_template, amount, tier FROM balances")[0]
    assert (row["kind"], row["card_template"], float(row["amount"]), row["tier"]) == (
        "discount_spend",
        "discount",
        5200,
        "15%",
    )


def test_a_dry_run_reports_what_the_load_will_do_and_changes_nothing(target_url, warehouse):
    load(warehouse, target_url, [client(**ANNA, balances={"credits": 5}), client("Bob Li", "bob@example.cz")])
    before = dump(target_url)
    file = [
        client(**ANNA, balances={"credits": 6}),
        client("Bob Li", "bob@example.cz"),
        client("Cyd", "cyd@example.cz", balances={"credits": 1}),
        client("Dan", "dan@example.cz", login_id="dan", password_hash="h"),
    ]
    dry = load(warehouse, target_url, file, dry_run=True)
    assert dump(target_url) == before
    real = load(warehouse, target_url, file)
    assert counts(dry) == counts(real) == (2, 1, 1, 1)
    assert (dry.balance_without_invite, dry.accounts_created) == (real.balance_without_invite, real.accounts_created)
    replace = load(warehouse, target_url, file, dry_run=True, replace_existing=True)
    assert counts(replace) == (4, 0, 0, 3)


def test_control_totals_catch_a_target_that_changes_amounts(target_url, warehouse):
    """A trigger in the target that alters amounts on insert: the re-read sums differ."""
    ensure_schema(parse_target(target_url))
    if target_url.startswith("sqlite"):
        sql(
            target_url,
            "CREATE TRIGGER skim AFTER INSERT ON balances BEGIN "
            "UPDATE balances SET amount = amount - 1 WHERE id = NEW.id; END",
        )
    else:
        sql(
            target_url,
            "CREATE FUNCTION skim() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN NEW.amount := NEW.amount - 1; RETURN NEW; END $$",
        )
        sql(target_url, "CREATE TRIGGER skim BEFORE INSERT ON balances FOR EACH ROW EXECUTE FUNCTION skim()")
    with pytest.raises(TargetError, match="control totals differ: credits source 5.00 vs target 4.00"):
        load(warehouse, target_url, [client(**ANNA, balances={"credits": 5})])
    assert scalar(target_url, "SELECT count(*) FROM clients") == 0
    assert scalar(target_url, "SELECT count(*) FROM ferry_runs") == 0


def test_control_totals_read_only_the_runs_rows_among_other_tenants(target_url, warehouse):
    """Other tenants' and earlier runs' balances are in the target: each load's totals are
    its own sums, the matched client's updated balance included, and on SQLite the re-read
    of the new rows is one id range, not a scan of every balance in the target."""
    load(warehouse, target_url, [client(**ANNA, balances={"credits": 5, "entries": 2})], tenant="studio-b")
    first = load(warehouse, target_url, [client(**ANNA, balances={"credits": 7})])
    assert first.control_totals == {"credits": {"source": 7.0, "target": 7.0}}
    second = load(
        warehouse,
        target_url,
        [client(**ANNA, balances={"credits": 9}), client("Bob Li", "bob@example.cz", balances={"entries": 3})],
    )
    assert second.control_totals == {
        "credits": {"source": 9.0, "target": 9.0},
        "entries": {"source": 3.0, "target": 3.0},
    }
    if target_url.startswith("sqlite"):
        from ferry.target.write import CONTROL_TOTALS, new_rows_totals

        query, binds = new_rows_totals(["credits", "entries"])
        con = sqlite3.connect(target_url.removeprefix("sqlite:///"))
        try:
            con.execute("CREATE TEMP TABLE plan_balances (balance_id INTEGER)")
            params = {"since": 5, "tenant": "studio-a", "run": "r"}
            for statement in (query, CONTROL_TOTALS):
                seen = [row[3] for row in con.execute("EXPLAIN QUERY PLAN " + statement, {**params, **binds})]
                assert any("balances USING INTEGER PRIMARY KEY (rowid>?)" in step for step in seen), seen
            # the file's kinds are summed in one pass, without a sort by kind
            plan = [row[3] for row in con.execute("EXPLAIN QUERY PLAN " + query, {**params, **binds})]
        finally:
            con.close()
        assert not any("TEMP B-TREE" in step for step in plan), plan


def test_control_totals_name_a_kind_the_file_did_not_have(target_url, warehouse):
    """A target that adds a balance of another kind beside each inserted one (a trigger
    here): the re-read names that kind, and the load is rolled back."""
    ensure_schema(parse_target(target_url))
    extra = (
        "INSERT INTO balances (tenant, client_id, kind, amount, run_id, created_run_id) "
        "SELECT NEW.tenant, NEW.client_id, 'bonus', 2, NEW.run_id, NEW.created_run_id WHERE NEW.kind <> 'bonus'"
    )
    if target_url.startswith("sqlite"):
        sql(target_url, f"CREATE TRIGGER bonus AFTER INSERT ON balances BEGIN {extra}; END")
    else:
        sql(
            target_url,
            f"CREATE FUNCTION bonus() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {extra}; RETURN NULL; END $$",
        )
        sql(target_url, "CREATE TRIGGER bonus AFTER INSERT ON balances FOR EACH ROW EXECUTE FUNCTION bonus()")
    with pytest.raises(TargetError, match="control totals differ: bonus source 0.00 vs target 2.00"):
        load(warehouse, target_url, [client(**ANNA, balances={"credits": 5})])
    assert scalar(target_url, "SELECT count(*) FROM balances") == 0
    assert scalar(target_url, "SELECT count(*) FROM ferry_runs") == 0


def test_a_run_is_loaded_once(target_url, warehouse):
    run_id = warehouse.write([client(**ANNA)])
    load_run(warehouse.path, run_id, options(target_url))
    with pytest.raises(TargetError, match="already loaded"):
        load_run(warehouse.path, run_id, options(target_url))


def test_a_duplicate_login_in_the_target_fails_the_whole_load(target_url, warehouse):
    load(warehouse, target_url, [client(**ANNA, login_id="anna", password_hash="h")])
    before = dump(target_url)
    with pytest.raises(TargetError, match="clients_login_key"):
        load(warehouse, target_url, [client("Bob Li", "bob@example.cz", login_id="ANNA", password_hash="h")])
    assert dump(target_url) == before


# ------------------------------------------------------------------ tenant lock


@contextmanager
def holding_lock(url: str, tenant: str):
    """Another writer holds the tenant's lock (SQLite: the database write lock)."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None, check_same_thread=False)
        con.execute("BEGIN IMMEDIATE")
        release = lambda: (con.execute("ROLLBACK"), con.close())  # noqa: E731
    else:
        con = psycopg.connect(url)
        con.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, tenant])
        release = lambda: (con.rollback(), con.close())  # noqa: E731
    try:
        yield release
    finally:
        try:
            release()
        except Exception:
            pass


def test_a_second_migration_of_the_tenant_waits_then_proceeds(target_url, warehouse):
    ensure_schema(parse_target(target_url))
    with holding_lock(target_url, "studio-a") as release:
        timer = threading.Timer(0.6, release)
        timer.start()
        started = time.monotonic()
        result = load(warehouse, target_url, [client(**ANNA)])
        timer.join()
    assert time.monotonic() - started >= 0.5
    assert result.clients_new == 1


def test_a_migration_that_cannot_get_the_lock_fails_clearly(target_url, warehouse, monkeypatch):
    ensure_schema(parse_target(target_url))
    monkeypatch.setenv("FERRY_LOCK_TIMEOUT", "0.3")
    with holding_lock(target_url, "studio-a"), pytest.raises(TargetError, match="lock") as err:
        load(warehouse, target_url, [client(**ANNA)])
    assert "try again" in str(err.value)
    assert scalar(target_url, "SELECT count(*) FROM clients") == 0


@needs_pg
def test_the_pg_lock_is_per_tenant(pg_schema, warehouse, monkeypatch):
    url = pg_schema[1]
    ensure_schema(parse_target(url))
    monkeypatch.setenv("FERRY_LOCK_TIMEOUT", "5")
    with holding_lock(url, "studio-a"):
        started = time.monotonic()
        assert load(warehouse, url, [client(**ANNA)], tenant="studio-b").clients_new == 1
    assert time.monotonic() - started < 4


# ------------------------------------------------------------------ bulk loads (speed paths)


@pytest.fixture
def built_after(monkeypatch):
    """The names of the indexes each load built after its inserts (see bulk_indexes)."""
    import ferry.target.load
    import ferry.target.write

    seen: list[list[str]] = []
    real = ferry.target.load.bulk_indexes
    monkeypatch.setattr(config, "BULK_MIN_CLIENTS", 1)  # the speed path at test size

    def spy(*args, **kwargs):
        chosen = real(*args, **kwargs)
        seen.append(sorted(name for name, _ in chosen))
        return chosen

    monkeypatch.setattr(ferry.target.load, "bulk_indexes", spy)
    return seen


def test_a_first_load_builds_the_indexes_once_and_loads_the_same_rows(target_url, warehouse, built_after):
    ensure_schema(parse_target(target_url))
    schema = indexes(target_url)
    file = [client(f"Client {i}", f"c{i}@example.cz", balances={"credits": i, "entries": 1}) for i in range(5)]
    file += [
        client("No Mail", None, balances={"credits": 2}),
        client("Cyril Login", "cyril@example.cz", login_id="cyril", password_hash="h"),
    ]
    first = load(warehouse, target_url, file)
    expected = ["clients_account", "clients_email_key", "clients_login_key", "clients_match_key"]
    if not target_url.startswith("sqlite"):
        expected = sorted(
            expected
            + [
                "balances_account",
                "balances_key",
                "invite_queue_claim",
                "invite_queue_client",
                "invite_queue_one_pending",
            ]
        )
    assert built_after == [expected]
    assert indexes(target_url) == schema
    assert (first.clients_new, first.invites_queued, first.accounts_created) == (7, 5, 1)
    rows = sql(target_url, "SELECT id, email, registration_status FROM clients ORDER BY id")
    assert [r["id"] for r in rows] == list(range(rows[0]["id"], rows[0]["id"] + 7))  # file order, no gaps
    assert [r["email"] for r in rows] == [f"c{i}@example.cz" for i in range(5)] + [None, "cyril@example.cz"]
    assert rows[-1]["registration_status"] == "registered"
    assert balances_of(target_url, "studio-a")[("c4@example.cz", "credits")] == 4
    assert first.control_totals["credits"] == {"source": 12.0, "target": 12.0}
    before = dump(target_url)
    again = load(warehouse, target_url, file)
    assert counts(again) == (0, 0, 7, 0) and built_after[1] == [] and dump(target_url) == before

    from ferry.target.undo import undo_run

    undo_run(target_url, again.run_id)
    undo_run(target_url, first.run_id)
    assert scalar(target_url, "SELECT count(*) FROM clients") == 0
    assert scalar(target_url, "SELECT count(*) FROM balances") == 0
    assert indexes(target_url) == schema


@pytest.fixture
def sort_settings(monkeypatch):
    """What SQLite was set to while each load built its indexes after the inserts:
    (temp_store, temp folder, page cache KiB, sorter threads)."""
    import ferry.target.write

    seen: list[tuple] = []
    real = ferry.target.write._indexes_dropped

    @contextmanager
    def spy(conn, d, chosen):
        with real(conn, d, chosen):
            yield
            if d.name == "sqlite":
                pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
                kept = (pragma("temp_store"), pragma("temp_store_directory"))
        if d.name == "sqlite" and chosen:
            seen.append((*kept, -pragma("cache_size"), pragma("threads")))

    monkeypatch.setattr(ferry.target.write, "_indexes_dropped", spy)
    return seen


def _temp_folder() -> str:
    con = sqlite3.connect(":memory:")
    try:
        row = con.execute("PRAGMA temp_store_directory").fetchone()
        return row[0] if row else ""  # no row: SQLite's default folders
    finally:
        con.close()


def test_a_sqlite_bulk_load_sorts_in_temp_files_in_the_home(tmp_path, built_after, sort_settings):
    """The index build after a bulk insert sorts in temp files (3x faster at 10M clients
    than in memory); they hold e-mails, so they are in the load's scratch folder next to the
    warehouse, never in /tmp, and SQLite's temp folder is the default again afterwards."""
    from tests.target_fixtures import Warehouse

    home = tmp_path / "Jana's studio"  # a quote in the folder SQLite is told about
    home.mkdir()
    warehouse, sqlite_url = Warehouse(home / "warehouse.duckdb"), f"sqlite:///{tmp_path / 'booking.db'}"
    result = load(warehouse, sqlite_url, [client(f"Client {i}", f"c{i}@example.cz") for i in range(30)])
    assert result.clients_new == 30 and built_after == [["clients_email_key", "clients_match_key"]]
    [(temp_store, folder, cache_kb, threads)] = sort_settings
    assert temp_store == 1  # FILE
    assert Path(folder).parent == Path(warehouse.path).resolve().parent
    assert Path(folder).name.startswith(".ferry-stage-") and not Path(folder).exists()  # removed with the stage
    assert (cache_kb, threads) == (config.SQLITE_CACHE_KB, 0)  # the sort's settings are undone
    assert _temp_folder() == ""
    emails = [r["email"] for r in sql(sqlite_url, "SELECT email FROM clients INDEXED BY clients_email_key")]
    assert sorted(emails) == emails and len(emails) == 30


def test_a_sqlite_load_keeps_temp_data_in_memory_while_the_process_temp_folder_is_taken(
    warehouse, built_after, sort_settings, tmp_path
):
    """SQLite has one temp folder per process: a load that cannot have it for its own
    scratch folder keeps its temp data in memory (slower, never elsewhere) and loads the same."""
    from ferry.target.db import sqlite_temp_files

    sqlite_url, other = f"sqlite:///{tmp_path / 'booking.db'}", tmp_path / "other"
    other.mkdir()
    with sqlite_temp_files(other) as taken:
        assert taken and _temp_folder() == str(other)
        result = load(warehouse, sqlite_url, [client(f"Client {i}", f"c{i}@example.cz") for i in range(30)])
        assert _temp_folder() == str(other)
    assert result.clients_new == 30 and scalar(sqlite_url, "SELECT count(*) FROM clients") == 30
    [(temp_store, folder, _, _)] = sort_settings
    assert (temp_store, folder) == (2, str(other))  # MEMORY: nothing written to the folder
    assert list(other.iterdir()) == [] and _temp_folder() == ""


def test_a_load_smaller_than_the_target_keeps_its_indexes(target_url, warehouse, built_after):
    load(warehouse, target_url, [client(f"Client {i}", f"c{i}@example.cz", balances={"credits": 1}) for i in range(4)])
    schema = indexes(target_url)
    result = load(
        warehouse,
        target_url,
        [
            client("Client 0", "c0@example.cz", balances={"credits": 3}),
            client("New One", "new@example.cz", balances={"credits": 2}),
        ],
    )
    assert built_after[1] == [] and counts(result) == (1, 1, 0, 1)
    assert indexes(target_url) == schema
    assert balances_of(target_url, "studio-a")[("c0@example.cz", "credits")] == 3
    assert scalar(target_url, "SELECT max(id) FROM clients") == scalar(target_url, "SELECT min(id) FROM clients") + 4


def test_another_tenants_clients_keep_postgresql_on_the_row_by_row_path(target_url, warehouse, built_after):
    """SQLite rebuilds whenever the load at least doubles the table; PostgreSQL only into a
    booking database without clients (dropping an index would lock out every tenant's readers)."""
    load(warehouse, target_url, [client(**ANNA, balances={"credits": 5})], tenant="b")
    tenant_b = dump(target_url)
    schema = indexes(target_url)
    result = load(warehouse, target_url, [client(**ANNA, balances={"credits": 7}), client("Bob Li", "bob@example.cz")])
    assert counts(result) == (2, 0, 0, 2)
    assert built_after[1] == (["clients_email_key", "clients_match_key"] if target_url.startswith("sqlite") else [])
    assert indexes(target_url) == schema
    after = dump(target_url)
    assert [r for r in after["clients"] if r["tenant"] == "b"] == tenant_b["clients"]
    assert balances_of(target_url, "studio-a") == {("anna@example.cz", "credits"): 7}


@needs_pg
def test_a_pg_first_load_never_waits_for_a_reader_of_the_booking_tables(pg_schema, warehouse, built_after):
    """Someone reads clients (the app): the exclusive lock is not free, so the load keeps the
    indexes and goes on at once instead of waiting (or deadlocking) for that reader."""
    url = pg_schema[1]
    ensure_schema(parse_target(url))
    schema = indexes(url)
    reader = psycopg.connect(url)
    try:
        reader.execute("SELECT count(*) FROM clients")  # holds its lock until it commits
        started = time.monotonic()
        result = load(warehouse, url, [client(**ANNA, balances={"credits": 5})])
        assert time.monotonic() - started < 5
    finally:
        reader.rollback()
        reader.close()
    assert built_after == [[]] and result.clients_new == 1
    assert indexes(url) == schema


def test_a_unique_index_rebuilt_after_the_inserts_still_fails_the_whole_load(target_url, warehouse, built_after):
    """Two clients of one run with one login (marts written by hand: the gate would stop it)."""
    ensure_schema(parse_target(target_url))
    schema = indexes(target_url)
    with pytest.raises(TargetError, match="clients_login_key"):
        load(
            warehouse,
            target_url,
            [
                client(**ANNA, login_id="anna", password_hash="h"),
                client("Anna Two", "anna2@example.cz", login_id="ANNA", password_hash="h"),
            ],
        )
    assert "clients_login_key" in built_after[0]
    assert scalar(target_url, "SELECT count(*) FROM clients") == 0
    assert scalar(target_url, "SELECT count(*) FROM accounts") == 0
    assert indexes(target_url) == schema


def _comparable(tables: dict) -> dict:
    """The booking tables without times and run ids; balances without their ids, whose
    order PostgreSQL's join order decides (it always did)."""
    out = {
        t: [
            {k: v for k, v in r.items() if k not in ("created_at", "updated_at", "run_id", "created_run_id")}
            for r in rows
        ]
        for t, rows in tables.items()
    }
    out["balances"] = sorted(
        (r["client_id"], r["kind"], r["card_template"] or "", float(r["amount"]), r["tier"]) for r in out["balances"]
    )
    return out


@pytest.mark.parametrize("pairs", [0, 2, 9])
def test_balances_staged_in_the_clients_rows_or_as_rows_load_the_same(
    target_url, warehouse, tmp_path, monkeypatch, pairs
):
    """A run's few (kind, card template) pairs ride in the clients' stage rows; more than
    MAX_PAIRS (here 9) are staged as rows. Both give the same target as the other way."""
    file = _clients_with_cards(6, pairs)
    _loads_the_same_either_way(
        target_url,
        warehouse,
        tmp_path,
        file,
        lambda: monkeypatch.setattr(config, "STAGE_MAX_PAIRS", 0 if pairs <= config.STAGE_MAX_PAIRS else 99),
    )


@pytest.mark.parametrize("pairs", [2, 9], ids=["pairs-in-rows", "balance-rows"])
def test_a_run_staged_in_parts_loads_the_same_as_in_one(target_url, warehouse, tmp_path, monkeypatch, pairs):
    """A big run is staged in client_key ranges of config.STAGE_PART_CLIENTS clients, each
    sorted on its own (ferry/target/stage.py: _jobs): the target gets the same clients,
    balances and invitations as from one part."""
    file = _clients_with_cards(7, pairs)
    ranges = []
    real = stage_module._key_ranges

    def spied(*args):
        ranges.append(real(*args))
        return ranges[-1]

    def in_parts() -> None:
        monkeypatch.setattr(config, "STAGE_PART_CLIENTS", 2)
        monkeypatch.setattr(stage_module, "_key_ranges", spied)

    _loads_the_same_either_way(target_url, warehouse, tmp_path, file, in_parts)
    # every load of the other target was staged in parts, and the parts cover every key
    assert ranges and all(len(r) >= 4 and None not in r for r in ranges)
    assert all(r[i][1] == r[i + 1][0] for r in ranges for i in range(len(r) - 1))


def _clients_with_cards(clients: int, pairs: int) -> list[dict]:
    """`clients` clients (every fourth without an e-mail), each holding two thirds of
    `pairs` (kind, card template) balances, with tiers on some."""
    cards = {
        (f"kind{k}", f"template{k}" if k % 2 else None): (k + 0.5, f"tier{k}" if k % 3 else None) for k in range(pairs)
    }
    return [
        client(
            f"Client {i}",
            f"c{i}@example.cz" if i % 4 else None,
            balances={key: value for n, (key, value) in enumerate(cards.items()) if (n + i) % 3},
        )
        for i in range(clients)
    ]


def _loads_the_same_either_way(target_url: str, warehouse, tmp_path: Path, file: list, other_way) -> None:
    """Load `file`, then the same clients with every balance one more, into the target as
    it is and, after `other_way()`, into a second empty target: the same counts and the
    same rows."""
    first = load(warehouse, target_url, file)
    changed = [dict(c, _balances={key: (a + 1, t) for key, (a, t) in c["_balances"].items()}) for c in file]
    second = load(warehouse, target_url, changed)
    as_it_is = _comparable(dump(target_url))

    other = (
        f"sqlite:///{tmp_path / 'other.db'}"
        if target_url.startswith("sqlite")
        else target_url.replace(pg_schema_name(target_url), pg_schema_name(target_url) + "_o")
    )
    if not target_url.startswith("sqlite"):
        with psycopg.connect(target_url.split("?")[0], autocommit=True) as con:
            con.execute(f'CREATE SCHEMA "{pg_schema_name(target_url)}_o"')
    try:
        other_way()
        assert (counts(load(warehouse, other, file)), counts(load(warehouse, other, changed))) == (
            counts(first),
            counts(second),
        )
        assert _comparable(dump(other)) == as_it_is
    finally:
        if not target_url.startswith("sqlite"):
            with psycopg.connect(target_url.split("?")[0], autocommit=True) as con:
                con.execute(f'DROP SCHEMA "{pg_schema_name(target_url)}_o" CASCADE')


def pg_schema_name(url: str) -> str:
    return url.split("search_path%3D", 1)[1].split("&", 1)[0]


def test_a_balance_without_an_amount_fails_the_load_as_it_always_did(target_url, warehouse):
    run_id = warehouse.write([client(**ANNA, balances={"credits": 5, "entries": 1})])
    import duckdb

    con = duckdb.connect(str(warehouse.path))
    con.execute("UPDATE marts.balances SET amount = NULL WHERE run_id = ? AND kind = 'entries'", [run_id])
    con.close()
    with pytest.raises(TargetError, match="amount"):
        load_run(warehouse.path, run_id, options(target_url))
    # the stage is filled before anything of the target is created: nothing was
    assert not _target_exists(target_url)


def test_a_field_the_whole_file_leaves_empty_is_cleared(target_url, warehouse):
    """Columns NULL for every client of a run are not copied at all: the stage says NULL."""
    load(
        warehouse,
        target_url,
        [
            client(**ANNA, phone="+420601000001", salutation="Ms"),
            client("Bob Li", "bob@example.cz", phone="+420601000002"),
        ],
    )
    result = load(warehouse, target_url, [client(**ANNA), client("Bob Li", "bob@example.cz")])
    assert counts(result) == (0, 2, 0, 0)
    assert sql(target_url, "SELECT phone, salutation FROM clients ORDER BY id") == [
        {"phone": None, "salutation": None},
        {"phone": None, "salutation": None},
    ]


def test_the_sqlite_stage_keeps_nulls_and_dates_and_leaves_nothing_behind(tmp_path, warehouse):
    """The scratch stage file (ADBC) carries NULLs and values as they are, is gone after
    the load, and none of its tables reach the target."""
    url = f"sqlite:///{tmp_path / 'booking.db'}"
    file = [
        client(
            f"Client {i}",
            f"c{i}@example.cz" if i != 3 else None,
            birth_date=None if i % 2 else "1980-01-02",
            balances={"credits": i},
        )
        for i in range(5)
    ]
    assert counts(load(warehouse, url, file)) == (5, 0, 0, 4)
    rows = sql(url, "SELECT full_name, email, birth_date FROM clients ORDER BY id")
    assert rows == [
        {
            "full_name": f"Client {i}",
            "email": f"c{i}@example.cz" if i != 3 else None,
            "birth_date": None if i % 2 else "1980-01-02",
        }
        for i in range(5)
    ]
    assert balances_of(url, "studio-a")[("Client 3", "credits")] == 3
    assert list(warehouse.path.parent.glob(".ferry-stage-*")) == []
    assert sql(url, "SELECT name FROM sqlite_master WHERE name LIKE 'stage%'") == []


def test_a_scratch_stage_a_killed_run_left_is_removed_by_the_next(target_url, warehouse):
    """Both targets stage through scratch folders in the home (clients' details never go to
    a shared /tmp), and a folder a killed run left is removed by the next run."""
    import subprocess
    import sys
    import tempfile

    in_tmp = set(Path(tempfile.gettempdir()).glob("ferry-stage-*"))

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    abandoned = warehouse.path.parent / f".ferry-stage-{int(gone.stdout)}-x1y2"
    abandoned.mkdir()
    (abandoned / "stage.db").write_bytes(b"\0" * 1024)
    alive = warehouse.path.parent / f".ferry-stage-{os.getpid()}-busy"  # a run of this process, still going
    alive.mkdir()
    load(warehouse, target_url, [client(**ANNA)])
    assert not abandoned.exists() and alive.exists()
    assert sorted(p.name for p in warehouse.path.parent.glob(".ferry-stage-*")) == [alive.name]
    assert set(Path(tempfile.gettempdir()).glob("ferry-stage-*")) <= in_tmp


def test_the_sqlite_scratch_stage_has_the_big_pages_of_a_target_ferry_creates(warehouse, tmp_path):
    """The load reads the scratch stage page by page through a small cache: the same
    config.SQLITE_PAGE_SIZE as the booking database Ferry creates."""
    run_id = warehouse.write([client(**ANNA, balances={"credits": 5}), client("Bob Li", "bob@example.cz")])
    path = tmp_path / "stage.db"
    totals = stage_module.build_sqlite_stage(path, warehouse.path, run_id)
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA page_size").fetchone()[0] == config.SQLITE_PAGE_SIZE != 4096
        assert con.execute("SELECT count(*) FROM stage_clients").fetchone()[0] == 2
    finally:
        con.close()
    assert {kind: float(total) for kind, total in totals.items()} == {"credits": 5.0}


@pytest.mark.parametrize("pairs", [2, 9], ids=["pairs-in-rows", "balance-rows"])
def test_a_stage_that_takes_the_second_core_midway_stages_the_same_rows(warehouse, tmp_path, monkeypatch, pairs):
    """The SQLite stage asks before each part whether the gate has answered and, once it
    has, sorts the remaining parts on more threads: the stage holds the same rows as one
    staged on one thread throughout, and nothing is asked after the switch."""
    run_id = warehouse.write(_clients_with_cards(9, pairs))
    monkeypatch.setattr(config, "STAGE_PART_CLIENTS", 2)
    monkeypatch.setattr(config, "STAGE_MAX_PAIRS", 0 if pairs > 8 else 8)
    asked = []

    def gate_answers_at_the_third_part() -> bool:
        asked.append(len(asked) + 1)
        return len(asked) >= 3

    def staged(alone) -> tuple[dict, dict]:
        path = tmp_path / f"stage-{len(list(tmp_path.glob('stage-*')))}.db"
        totals = stage_module.build_sqlite_stage(path, warehouse.path, run_id, alone)
        con = sqlite3.connect(path)
        try:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            return totals, {t: con.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
        finally:
            con.close()

    one_thread = staged(stage_module.never)
    widened = staged(gate_answers_at_the_third_part)
    assert widened == one_thread
    assert len(one_thread[1]["stage_clients"]) == 9
    assert asked == [1, 2, 3]  # parts 1 and 2 on one thread, the rest widened, never asked again


def _target_exists(url: str) -> bool:
    """Whether Ferry's schema is in the target (SQLite: whether the file exists at all)."""
    if url.startswith("sqlite"):
        return Path(url.removeprefix("sqlite:///")).exists()
    return scalar(url, "SELECT to_regclass('clients') IS NOT NULL")


def test_the_verdict_is_asked_after_staging_and_a_no_leaves_a_new_target_uncreated(target_url, warehouse):
    """The gate decides while the load stages (ferry/run.py): until the verdict
    arrives nothing of the target is created, and a no leaves it so."""
    run_id = warehouse.write([client(**ANNA, balances={"credits": 5})])
    asked = []

    def verdict():
        asked.append(_target_exists(target_url))
        return False

    assert load_run(warehouse.path, run_id, options(target_url), verdict=verdict) is None
    assert asked == [False] and not _target_exists(target_url)
    # the same run, allowed: loads as if nothing had happened
    result = load_run(warehouse.path, run_id, options(target_url), verdict=lambda: True)
    assert counts(result) == (1, 0, 0, 1)


def test_a_no_verdict_leaves_an_existing_target_as_it_was(target_url, warehouse):
    load(warehouse, target_url, [client(**ANNA, balances={"credits": 5})])
    before = dump(target_url)
    run_id = warehouse.write([client(**ANNA, balances={"credits": 9}), client("Bob Li", "bob@example.cz")])
    assert load_run(warehouse.path, run_id, options(target_url, replace_existing=True), verdict=lambda: False) is None
    assert dump(target_url) == before
    assert scalar(target_url, "SELECT count(*) FROM ferry_runs WHERE run_id = :r", r=run_id) == 0


def test_a_failing_verdict_rolls_the_load_back(target_url, warehouse):
    """The gate itself raising (a bug, a broken run folder): nothing written, the error kept."""
    load(warehouse, target_url, [client(**ANNA)])
    before = dump(target_url)
    run_id = warehouse.write([client("Bob Li", "bob@example.cz")])

    def verdict():
        raise RuntimeError("the gate broke")

    with pytest.raises(RuntimeError, match="the gate broke"):
        load_run(warehouse.path, run_id, options(target_url), verdict=verdict)
    assert dump(target_url) == before
