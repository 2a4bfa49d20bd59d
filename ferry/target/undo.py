"""`ferry undo RUN_ID`: reverse one loaded run in the target, exactly, in one transaction.

What a load changed is on record (ferry/target/write.py): inserted rows carry
created_run_id/run_id, updated and deleted rows have JSON before-images in change_log.
Undo removes the run's clients (and their balances), restores the fields and balances it
changed, withdraws the invitations it queued, removes the accounts it created and brings
back what --replace-existing deleted (same ids, appointments relinked).

It refuses, changing nothing,
- for a run id this target never loaded (UnknownRun, exit 2) or one already undone,
- while a later run of the same tenant is still loaded (undo that one first: its changes
  sit on top of this run's),
- when any of the run's clients registered since the run (UndoRefused names them): their
  registration and balances now belong to a person, and undo must not take them away.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from ferry.errors import FerryError, InputError
from ferry.target.db import COLUMNS, Dialect, dialect_of, parse_target, read_transaction, transaction

NAMES_SHOWN = 10


class UnknownRun(InputError):
    """The target has no loaded run with this id (exit 2)."""


class UndoRefused(FerryError):
    """Undo would take away something that happened since the run (exit 1)."""

    exit_code = 1


def undo_run(target_url: str, run_id: str) -> dict:
    """Reverse run `run_id`; returns what was done, per kind of change."""
    target = parse_target(target_url)
    with read_transaction(target, "the undo") as conn:
        tenant = (
            None
            if conn is None
            else conn.execute(text("SELECT tenant FROM ferry_runs WHERE run_id = :run"), {"run": run_id}).scalar()
        )
    if tenant is None:
        raise UnknownRun(f"no run '{run_id}' was loaded into target {target.shown} (see `ferry runs`)")
    d = dialect_of(target)
    with transaction(target, "the undo", tenant=tenant) as conn:
        _check(conn, run_id, tenant)
        counts = _reverse(conn, d, tenant, run_id)
        conn.execute(
            text("UPDATE ferry_runs SET status = 'undone', undone_at = CURRENT_TIMESTAMP WHERE run_id = :run"),
            {"run": run_id},
        )
    return counts


def _check(conn: Connection, run_id: str, tenant: str) -> None:
    params = {"run": run_id, "tenant": tenant}
    run = conn.execute(text("SELECT id, status FROM ferry_runs WHERE run_id = :run AND tenant = :tenant"), params).one()
    if run.status != "loaded":
        raise UndoRefused(f"run {run_id} is already {run.status}")
    later = (
        conn.execute(
            text("""SELECT run_id FROM ferry_runs
                                  WHERE tenant = :tenant AND id > :id AND status = 'loaded' ORDER BY id DESC"""),
            {"tenant": tenant, "id": run.id},
        )
        .scalars()
        .all()
    )
    if later:
        raise UndoRefused(
            f"cannot undo run {run_id}: later runs of tenant {tenant} are still loaded; "
            f"undo them first, newest first: {', '.join(later)}"
        )
    registered = conn.execute(
        text("""
        SELECT c.full_name, c.email FROM clients c
         WHERE c.tenant = :tenant AND c.registration_status = 'registered'
           AND (c.created_run_id = :run
                OR c.id IN (SELECT row_id FROM change_log
                             WHERE run_id = :run AND table_name = 'clients' AND action = 'update'))
           AND c.id NOT IN (SELECT row_id FROM change_log
                             WHERE run_id = :run AND table_name = 'clients' AND action = 'registered')
         ORDER BY c.id"""),
        params,
    ).all()
    if registered:
        names = [f"{r.full_name} <{r.email}>" if r.email else str(r.full_name) for r in registered]
        more = f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
        raise UndoRefused(
            f"cannot undo run {run_id}: {len(names)} of its clients registered since: "
            f"{', '.join(names[:NAMES_SHOWN])}{more}"
        )


def _reverse(conn: Connection, d: Dialect, tenant: str, run_id: str) -> dict:
    def run(sql: str) -> int:
        return conn.execute(text(sql), {"tenant": tenant, "run": run_id}).rowcount

    created = "SELECT id FROM clients WHERE tenant = :tenant AND created_run_id = :run"
    counts = {
        "invites_withdrawn": run("""UPDATE invite_queue SET status = 'withdrawn'
                                     WHERE tenant = :tenant AND run_id = :run AND status = 'pending'"""),
    }
    # the run's own clients go; what refers to them stays, unlinked
    run(f"UPDATE invite_queue SET client_id = NULL WHERE tenant = :tenant AND client_id IN ({created})")
    run(f"""UPDATE appointments
               SET client_name = coalesce(client_name, (SELECT c.full_name FROM clients c
                                                         WHERE c.id = appointments.client_id AND c.tenant = :tenant)),
                   client_id = NULL
             WHERE tenant = :tenant AND client_id IN ({created})""")
    counts["balances_removed"] = run(f"""DELETE FROM balances WHERE tenant = :tenant
                                           AND (created_run_id = :run OR client_id IN ({created}))""")
    counts["balances_restored"] = _restore(run, d, "balances", "update")
    counts["clients_restored"] = _restore(run, d, "clients", "update")
    counts["clients_removed"] = run("DELETE FROM clients WHERE tenant = :tenant AND created_run_id = :run")
    counts["accounts_removed"] = _remove_accounts(run)
    # what --replace-existing deleted comes back with its ids
    counts["clients_reinstated"] = _reinstate(run, d, "clients")
    counts["balances_reinstated"] = _reinstate(run, d, "balances")
    counts["invites_reinstated"] = _reinstate(run, d, "invite_queue")
    _restore(run, d, "invite_queue", "update")
    _restore(run, d, "appointments", "update")
    return counts


def _remove_accounts(run) -> int:
    """Accounts the run created: this tenant's clients let go of them; an account that a
    client of another tenant has been linked to since is a person's now and stays."""
    mine = "SELECT id FROM accounts WHERE run_id = :run AND created_by_tenant = :tenant"
    run(f"""UPDATE clients SET registration_status = 'unregistered', account_id = NULL
             WHERE tenant = :tenant AND account_id IN ({mine})""")
    run(f"UPDATE balances SET account_id = NULL WHERE tenant = :tenant AND account_id IN ({mine})")
    return run(f"""DELETE FROM accounts WHERE id IN ({mine})
                     AND NOT EXISTS (SELECT 1 FROM clients c WHERE c.account_id = accounts.id)""")


def _restore(run, d: Dialect, table: str, action: str) -> int:
    """Set the logged rows of `table` back to their before-images."""
    source, col = d.image_source(table, "l")
    columns = [c for c in COLUMNS[table] if c != "tenant"]
    assignments = ", ".join(f"{c} = {col(c)}" for c in columns)
    return run(f"""UPDATE {table} SET {assignments}
                     FROM change_log l{source}
                    WHERE l.run_id = :run AND l.table_name = '{table}' AND l.action = '{action}'
                      AND {table}.id = l.row_id AND {table}.tenant = :tenant""")


def _reinstate(run, d: Dialect, table: str) -> int:
    """Insert the rows the run deleted, from their before-images, with their old ids."""
    source, col = d.image_source(table, "l")
    columns = [c for c in COLUMNS[table] if c != "tenant"]
    return run(f"""INSERT INTO {table} (id, tenant, {", ".join(columns)})
                   SELECT l.row_id, :tenant, {", ".join(col(c) for c in columns)}
                     FROM change_log l{source}
                    WHERE l.run_id = :run AND l.table_name = '{table}' AND l.action = 'delete'
                      AND l.tenant = :tenant
                    ORDER BY l.row_id""")
