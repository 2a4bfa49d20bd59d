"""Target failures (CONTRACT §1, exit 3): a killed connection, an unreachable server — the
load rolls back, says what happened without leaking the password, and a rerun is safe."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest

from flows.errors import TargetError
from flows.load import load_run, read_target_snapshot
from flows.target.db import ensure_schema, parse_target
from tests.target_fixtures import (  # noqa: F401
    PG_URL, balances_of, client, load, needs_pg, options, pg_schema, pg_schema_url, scalar, warehouse,
)

BULK = 100_000


@needs_pg
def test_a_load_killed_mid_way_writes_nothing_and_a_rerun_completes(pg_schema, warehouse):
    schema, _ = pg_schema
    app = f"ferry-fault-{uuid.uuid4().hex[:8]}"
    url = pg_schema_url(schema, app=app)
    ensure_schema(parse_target(url))
    run_id = warehouse.write_bulk(BULK, "bulk-1")
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = load_run(warehouse.path, run_id, options(url))
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    killed = False
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        deadline = time.monotonic() + 30
        while worker.is_alive() and time.monotonic() < deadline and not killed:
            # the loading backend while it writes the booking tables (clients, balances, invitations)
            killed = admin.execute(
                """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE application_name = %s AND state = 'active'
                      AND (query ILIKE 'INSERT INTO clients%%' OR query ILIKE 'INSERT INTO balances%%'
                           OR query ILIKE 'INSERT INTO invite_queue%%')""",
                [app]).fetchone() is not None
            time.sleep(0.01)
    worker.join(60)
    assert killed, "the load finished before it could be killed"
    assert isinstance(outcome.get("error"), TargetError), outcome
    assert "connection to the target was lost" in str(outcome["error"])
    assert scalar(url, "SELECT count(*) FROM clients") == 0
    assert scalar(url, "SELECT count(*) FROM balances") == 0

    result = load_run(warehouse.path, run_id, options(url))
    assert result.clients_new == BULK
    assert scalar(url, "SELECT count(*) FROM clients") == BULK
    totals = result.control_totals
    assert totals["credits"]["source"] == totals["credits"]["target"]


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
