"""Carrying out a plan on the target, inside the load's one transaction.

Every row the load updates or deletes is first copied into change_log as a JSON
before-image (inserted rows carry created_run_id / run_id instead), so undo is exact.
Every statement on a tenant table carries the tenant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from ferry import config
from ferry.errors import ControlTotalsMismatch
from ferry.target.db import Dialect, schema_indexes
from ferry.target.plan import COMPARED, LOGIN_FIELDS

TOTALS_TOLERANCE = Decimal("0.005")


def _runner(conn: Connection, tenant: str, run_id: str):
    return lambda sql, **extra: conn.execute(text(sql), {"tenant": tenant, "run": run_id, **extra})


def log_rows(run, d: Dialect, table: str, action: str, where: str) -> None:
    """Copy the rows of `table` (alias t) matching `where` into change_log."""
    run(f"""INSERT INTO change_log (run_id, tenant, table_name, row_id, action, before)
            SELECT :run, :tenant, '{table}', t.id, '{action}', {d.row_json(table, "t")}
              FROM {table} t WHERE t.tenant = :tenant AND ({where})""")


def remove_tenant_clients(conn: Connection, d: Dialect, tenant: str, run_id: str) -> None:
    """--replace-existing: delete the tenant's clients, their balances and pending
    invitations; appointments and older invitations stay, unlinked, the name kept."""
    run = _runner(conn, tenant, run_id)
    log_rows(run, d, "clients", "delete", "TRUE")
    log_rows(run, d, "balances", "delete", "TRUE")
    log_rows(run, d, "invite_queue", "delete", "t.status = 'pending'")
    log_rows(run, d, "invite_queue", "update", "t.status <> 'pending' AND t.client_id IS NOT NULL")
    log_rows(run, d, "appointments", "update", "t.client_id IS NOT NULL")
    run("""UPDATE appointments
              SET client_name = coalesce(client_name, (SELECT c.full_name FROM clients c
                                                        WHERE c.id = appointments.client_id AND c.tenant = :tenant)),
                  client_id = NULL
            WHERE tenant = :tenant AND client_id IS NOT NULL""")
    run(
        "UPDATE invite_queue SET client_id = NULL WHERE tenant = :tenant AND status <> 'pending' AND client_id IS NOT NULL"
    )
    run("DELETE FROM invite_queue WHERE tenant = :tenant AND status = 'pending'")
    run("DELETE FROM balances WHERE tenant = :tenant")
    run("DELETE FROM clients WHERE tenant = :tenant")


def apply_plan(
    conn: Connection, d: Dialect, tenant: str, run_id: str, *, bulk: list[tuple[str, str]] | None = None
) -> None:
    """The plan was made with assign_ids: new clients' ids are in plan.target_id. `bulk`
    (see bulk_indexes): indexes dropped for the inserts and built once afterwards;
    everything that looks rows up by them runs before."""
    run = _runner(conn, tenant, run_id)
    _log_before_images(run, d)
    _update_clients(run)
    _register(run, d)
    # which clients this run left registered: undo refuses for any other registered since
    run("""INSERT INTO change_log (run_id, tenant, table_name, row_id, action, before)
           SELECT :run, :tenant, 'clients', p.target_id, 'registered', '{}'
             FROM plan p WHERE p.registers OR p.was_registered""")
    _update_balances(run, d)
    with _indexes_dropped(conn, d, bulk or []):
        _insert_clients(run)
        _insert_balances(run)
        run("""INSERT INTO invite_queue (tenant, client_id, email, status, created_at, run_id)
               SELECT :tenant, p.target_id, p.email, 'pending', CURRENT_TIMESTAMP, :run
                 FROM plan p WHERE p.invite ORDER BY p.client_key""")


def bulk_indexes(conn: Connection, d: Dialect, plan) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes to build once after the inserts instead of
    row by row, when the load adds at least as many clients as the target holds: inserting
    that many clients into random places of the e-mail and match_key indexes costs more than
    one sorted build afterwards, on both targets. SQLite takes balances
    and invitations (in client order) as cheaply as a build; PostgreSQL does not. The
    login and account indexes stay unless the run registers someone.
    PostgreSQL only into a booking database without any client, and only if the tables'
    exclusive lock is free at once (NOWAIT: never a wait, never a deadlock): dropping an
    index locks its table against every reader until commit. A SQLite load holds the
    write lock anyway, and readers keep seeing the committed indexes."""
    most = 0 if d.name == "postgresql" else plan.new
    if plan.new < config.BULK_MIN_CLIENTS or _rows_up_to(conn, "clients", most) > most:
        return []
    tables = ["clients"]
    if d.name == "postgresql":
        tables += ["balances"] + (["invite_queue"] if plan.invites else [])
    logins = plan.accounts_created + plan.accounts_linked > 0
    indexes = [
        (name, ddl)
        for table in tables
        for name, ddl in schema_indexes(d.name, table)
        if logins or name not in ("clients_login_key", "clients_account")
    ]
    if d.name == "postgresql":
        conn.exec_driver_sql("SAVEPOINT ferry_bulk")
        try:
            conn.exec_driver_sql(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE NOWAIT")
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT ferry_bulk")
            return []
        conn.exec_driver_sql("RELEASE SAVEPOINT ferry_bulk")
    return indexes


def _rows_up_to(conn: Connection, table: str, limit: int) -> int:
    """How many rows `table` holds, counting no further than limit + 1."""
    return conn.execute(text(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT :n) AS t"), {"n": limit + 1}).scalar()


@contextmanager
def _indexes_dropped(conn: Connection, d: Dialect, indexes: list[tuple[str, str]]) -> Iterator[None]:
    """Drop the indexes for the block, then build them again in the same transaction: a
    rollback or a crash restores them, and a unique index that no longer holds fails the
    load as the insert would have. PostgreSQL: the tables were empty, so their statistics
    are missing; without them the next run matches by sorting instead of hashing, which is
    slower, and autovacuum may be off or late."""
    for name, _ in indexes:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    yield
    if not indexes:
        return
    if d.name == "postgresql":
        conn.exec_driver_sql("SELECT set_config('maintenance_work_mem', '256MB', true)")
    else:  # the sorter's runs follow the page cache's size (see config.SQLITE_SORT_RUN_KB)
        conn.exec_driver_sql(f"PRAGMA cache_size = -{config.SQLITE_SORT_RUN_KB}")
        conn.exec_driver_sql(f"PRAGMA threads = {config.SQLITE_SORT_THREADS}")
    for _, ddl in indexes:
        conn.exec_driver_sql(ddl)
    if d.name == "sqlite":  # back to the load's settings
        conn.exec_driver_sql(f"PRAGMA cache_size = -{config.SQLITE_CACHE_KB}")
        conn.exec_driver_sql("PRAGMA threads = 0")
    else:
        tables = dict.fromkeys(re.search(r" ON (\w+) ", ddl).group(1) for _, ddl in indexes)
        conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}")


def _log_before_images(run, d: Dialect) -> None:
    log_rows(
        run,
        d,
        "clients",
        "update",
        "t.id IN (SELECT target_id FROM plan WHERE NOT is_new AND (fields_changed OR registers))",
    )
    log_rows(
        run,
        d,
        "balances",
        "update",
        "t.id IN (SELECT balance_id FROM plan_balances WHERE changed AND balance_id IS NOT NULL) OR "
        "t.client_id IN (SELECT target_id FROM plan WHERE NOT is_new AND registers)",
    )


def _update_clients(run) -> None:
    source = lambda f: f"p.{f}" if f in LOGIN_FIELDS else f"s.{f}"  # noqa: E731
    assignments = ", ".join(f"{f} = {source(f)}" for f in (*COMPARED, "match_key"))
    run(f"""UPDATE clients SET {assignments}, run_id = :run, updated_at = CURRENT_TIMESTAMP
              FROM plan p JOIN stage_clients s ON s.client_key = p.client_key
             WHERE clients.id = p.target_id AND clients.tenant = :tenant AND p.fields_changed""")


def _insert_clients(run) -> None:
    """New clients, with their ids from the plan; a login's client arrives registered."""
    source = lambda f: f"p.{f}" if f in LOGIN_FIELDS else f"s.{f}"  # noqa: E731
    run(f"""INSERT INTO clients (id, tenant, {", ".join(COMPARED)}, registration_status, account_id,
                                 match_key, run_id, created_run_id, created_at, updated_at)
            SELECT p.target_id, :tenant, {", ".join(source(f) for f in COMPARED)},
                   CASE WHEN p.registers THEN 'registered' ELSE 'unregistered' END,
                   CASE WHEN p.registers THEN p.account_id END,
                   s.match_key, :run, :run, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
              FROM plan p JOIN stage_clients s ON s.client_key = p.client_key
             WHERE p.is_new ORDER BY p.client_key""")


def _register(run, d: Dialect) -> None:
    """Logins, before the new clients exist: a new account per e-mail without one (its
    trigger claims the tenant's existing unregistered clients with that e-mail), or a link
    to the existing account. A client who registers now needs no invitation to register:
    its pending one (from an earlier run) is withdrawn; undo puts it back."""
    run("""INSERT INTO accounts (email, created_by_tenant, created_at, run_id)
           SELECT p.email, :tenant, CURRENT_TIMESTAMP, :run
             FROM plan p WHERE p.registers AND p.account_id IS NULL ORDER BY p.client_key""")
    run("""UPDATE plan
              SET account_id = (SELECT min(a.id) FROM accounts a
                                 WHERE lower(a.email) = lower(plan.email) AND a.run_id = :run)
            WHERE registers AND account_id IS NULL""")
    run("""UPDATE clients SET registration_status = 'registered', account_id = p.account_id,
                               run_id = :run, updated_at = CURRENT_TIMESTAMP
              FROM plan p
             WHERE p.registers AND NOT p.is_new AND clients.id = p.target_id AND clients.tenant = :tenant""")
    invited = "status = 'pending' AND client_id IN (SELECT target_id FROM plan WHERE registers AND NOT is_new)"
    log_rows(run, d, "invite_queue", "update", f"t.{invited}")
    run(f"UPDATE invite_queue SET status = 'withdrawn' WHERE tenant = :tenant AND {invited}")


def _update_balances(run, d: Dialect) -> None:
    """Set, never added: an existing balance takes the file's sum; a client this run
    registers takes its account along (rows it inserts carry it already)."""
    run("""UPDATE balances SET amount = pb.amount, tier = pb.tier, run_id = :run
             FROM plan_balances pb
            WHERE balances.id = pb.balance_id AND pb.changed AND balances.tenant = :tenant""")
    run(f"""UPDATE balances SET account_id = p.account_id
              FROM plan p
             WHERE p.registers AND NOT p.is_new AND balances.client_id = p.target_id
               AND balances.tenant = :tenant AND balances.account_id {d.ne} p.account_id""")


def _insert_balances(run) -> None:
    insert = """INSERT INTO balances (tenant, client_id, kind, card_template, amount, tier,
                                      run_id, account_id, created_run_id)"""
    run(f"""{insert}
            SELECT :tenant, p.target_id, sb.kind, sb.card_template, sb.amount, sb.tier, :run, p.account_id, :run
              FROM plan p JOIN stage_balances sb ON sb.client_key = p.client_key
             WHERE p.is_new""")
    run(f"""{insert}
            SELECT :tenant, pb.client_id, pb.kind, pb.card_template, pb.amount, pb.tier, :run, p.account_id, :run
              FROM plan_balances pb JOIN plan p ON p.client_key = pb.client_key
             WHERE pb.balance_id IS NULL""")


def last_balance_id(conn: Connection) -> int:
    """The highest balance id before the load inserts: every row it inserts gets a higher
    one (SQLite's AUTOINCREMENT under the write lock; PostgreSQL's identity sequence, whose
    values only grow), so the control totals read the run's new rows as one id range."""
    return conn.execute(text("SELECT coalesce(max(id), 0) FROM balances")).scalar()


# the run's new balance rows (ids above :since) and the matched clients' existing rows it set
NEW_ROWS = "FROM balances WHERE id > :since AND tenant = :tenant AND created_run_id = :run"
SET_TOTALS = """SELECT b.kind, sum(b.amount) FROM plan_balances pb JOIN balances b ON b.id = pb.balance_id
                 WHERE b.tenant = :tenant GROUP BY b.kind"""
# both sums per kind, grouped: the way to learn kinds the file did not have
CONTROL_TOTALS = f"SELECT kind, sum(amount) {NEW_ROWS} GROUP BY kind UNION ALL {SET_TOTALS}"


def new_rows_totals(kinds: list[str]) -> tuple[str, dict[str, str]]:
    """(SQL, parameters): the new rows of any kind but the file's counted, then their sum
    per kind of the file, as one row. One pass over the id range without the sort SQLite's
    GROUP BY needs (no index orders the rows by kind): 4.1 s instead of 5.9 s at 10M
    clients."""
    binds = {f"kind_{n}": kind for n, kind in enumerate(kinds)}
    other = f"kind NOT IN ({', '.join(f':{bind}' for bind in binds)})" if binds else "TRUE"
    sums = "".join(f", sum(CASE WHEN kind = :{bind} THEN amount END)" for bind in binds)
    return f"SELECT count(CASE WHEN {other} THEN 1 END){sums} {NEW_ROWS}", binds


def _target_sums(conn: Connection, params: dict, kinds: list[str]) -> dict[str, Decimal]:
    """The target's sum per kind over the run's rows; grouped by kind (CONTROL_TOTALS)
    when a new row of a kind the file did not have is among them."""
    query, binds = new_rows_totals(kinds)
    others, *sums = conn.execute(text(query), {**params, **binds}).one()
    if others:
        rows = conn.execute(text(CONTROL_TOTALS), params).all()
    else:
        rows = [*zip(kinds, sums, strict=True), *conn.execute(text(SET_TOTALS), params).all()]
    target: dict[str, Decimal] = {}
    for kind, total in rows:
        if total is not None:
            target[kind] = target.get(kind, Decimal(0)) + Decimal(str(total))
    return target


def control_totals(
    conn: Connection, tenant: str, run_id: str, source: dict[str, Decimal], since: int
) -> dict[str, dict[str, float]]:
    """Re-read from the target the sum per kind over this run's clients' balances (the rows
    it inserted, ids above `since`, plus the matched clients' existing rows for the file's
    kinds) and compare with the warehouse; any difference raises TargetError (the caller
    rolls back). The id range keeps the re-read to this run's rows, however many other
    tenants and runs the target holds: a scan of every balance grew with the target.
    A row outside the range would only lower the target's sum: a mismatch, never a pass."""
    params = {"tenant": tenant, "run": run_id, "since": since}
    target = _target_sums(conn, params, sorted(source))
    totals, differing = {}, []
    for kind in sorted(set(source) | set(target)):
        s, t = Decimal(source.get(kind) or 0), target.get(kind, Decimal(0))
        totals[kind] = {"source": float(s), "target": float(t)}
        if abs(s - t) > TOTALS_TOLERANCE:
            differing.append(f"{kind} source {s:.2f} vs target {t:.2f}")
    if differing:
        raise ControlTotalsMismatch(
            "control totals differ: " + "; ".join(differing) + "; the load was rolled back", totals
        )
    return totals


def record_run(conn: Connection, tenant: str, run_id: str, replace_existing: bool, counts: dict) -> None:
    conn.execute(
        text("""
        INSERT INTO ferry_runs (run_id, tenant, status, loaded_at, replace_existing, counts)
        VALUES (:run, :tenant, 'loaded', CURRENT_TIMESTAMP, :replace, :counts)"""),
        {"run": run_id, "tenant": tenant, "replace": replace_existing, "counts": json.dumps(counts)},
    )
