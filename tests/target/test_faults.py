"""Target failures (docs/CONTRACT.md §1, exit 3): a killed connection, an unreachable server — the
load rolls back, says what happened without leaking the password, and a rerun is safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from ferry.errors import TargetError
from ferry.target.db import ensure_schema, parse_target
from ferry.target.load import load_run
from ferry.target.snapshot import read_target_snapshot
from tests.target_fixtures import (
    PG_URL,
    client,
    indexes,
    load,
    needs_pg,
    options,
    pg_schema_url,
    scalar,
)

BULK = 100_000  # PostgreSQL: long enough a load to be caught mid-way
SQLITE_BULK = 20_000  # SQLite's journal appears at the first write


@needs_pg
def test_a_load_killed_mid_way_writes_nothing_and_a_rerun_completes(pg_schema, warehouse):
    schema, _ = pg_schema
    app = f"ferry-fault-{uuid.uuid4().hex[:8]}"
    url = pg_schema_url(schema, app=app)
    ensure_schema(parse_target(url))
    schema = indexes(url)  # a first load drops and rebuilds them inside its transaction
    run_id = warehouse.write_bulk(BULK, "bulk-1")
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = load_run(warehouse.path, run_id, options(url))
        except Exception as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    killed = False
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        deadline = time.monotonic() + 30
        while worker.is_alive() and time.monotonic() < deadline and not killed:
            # the loading backend while it writes the booking tables (clients, balances, invitations)
            killed = (
                admin.execute(
                    """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE application_name = %s AND state = 'active'
                      AND (query ILIKE 'INSERT INTO clients%%' OR query ILIKE 'INSERT INTO balances%%'
                           OR query ILIKE 'INSERT INTO invite_queue%%')""",
                    [app],
                ).fetchone()
                is not None
            )
            time.sleep(0.01)
    worker.join(60)
    assert killed, "the load finished before it could be killed"
    assert isinstance(outcome.get("error"), TargetError), outcome
    assert "connection to the target was lost" in str(outcome["error"])
    assert scalar(url, "SELECT count(*) FROM clients") == 0
    assert scalar(url, "SELECT count(*) FROM balances") == 0
    assert indexes(url) == schema

    result = load_run(warehouse.path, run_id, options(url))
    assert result.clients_new == BULK
    assert scalar(url, "SELECT count(*) FROM clients") == BULK
    totals = result.control_totals
    assert totals["credits"]["source"] == totals["credits"]["target"]


KILLED_LOAD = """
import sys
from pathlib import Path
from ferry.target.load import load_run
from tests.target_fixtures import options
load_run(Path(sys.argv[1]), sys.argv[2], options(sys.argv[3]))
"""


def test_a_sqlite_load_killed_mid_way_leaves_the_last_committed_state(tmp_path, warehouse):
    """kill -9 while the load writes: SQLite's journal rolls it back; the next run (its
    read-only snapshot first) sees the committed state and completes."""
    db = tmp_path / "booking.db"
    url = f"sqlite:///{db}"
    load(warehouse, url, [client("Anna Nova", "anna@example.cz")])
    schema = indexes(url)  # the bulk load below drops and rebuilds them inside its transaction
    run_id = warehouse.write_bulk(SQLITE_BULK, "bulk-1")
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOAD, str(warehouse.path), run_id, url],
        cwd=Path(__file__).resolve().parents[2],
    )
    journal = Path(f"{db}-journal")
    deadline = time.monotonic() + 60
    while child.poll() is None and not journal.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert journal.exists(), "the load finished before it could be killed"
    assert read_target_snapshot(url, "studio-a").logins == []
    assert scalar(url, "SELECT count(*) FROM clients") == 1
    assert indexes(url) == schema
    result = load_run(warehouse.path, run_id, options(url))
    assert (result.clients_new, scalar(url, "SELECT count(*) FROM clients")) == (SQLITE_BULK, SQLITE_BULK + 1)


def test_an_unreachable_target_is_a_clear_target_error(warehouse):
    url = "postgresql://ferry:s3cret-pw@127.0.0.1:1/booking"
    with pytest.raises(TargetError) as err:
        load(warehouse, url, [client("Anna Nova", "anna@example.cz")])
    message = str(err.value)
    assert "127.0.0.1" in message and "s3cret-pw" not in message and "ferry:***@" in message
    with pytest.raises(TargetError):
        read_target_snapshot(url, "t")


def test_an_unwritable_sqlite_target_is_a_target_error(tmp_path, warehouse):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TargetError, match="failed on target"):
        load(warehouse, f"sqlite:///{blocker}/booking.db", [client("Anna Nova", "anna@example.cz")])
