"""What the rules need to know about the target before transform: the tenant's login ids
(for login_duplicate) and the e-mails that already have an account (login_account_exists).

Read from the target (read-only) and written to raw.target_logins / raw.target_accounts,
so dbt reads it like any other input.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import text

from ferry.ingest.raw import ensure_raw_schema
from ferry.target.db import parse_target, read_transaction


@dataclass
class TargetSnapshot:
    logins: list[tuple[str, str | None]]  # (lower(login_id), lower(email)) of the tenant's clients with a login
    account_emails: list[str]  # lower(email) of every account, any tenant


def read_target_snapshot(target_url: str, tenant: str) -> TargetSnapshot:
    """What the rules need from the target before transform. Read-only: a missing file,
    database or schema reads as empty and nothing is created."""
    target = parse_target(target_url)
    with read_transaction(target, "reading the target") as conn:
        if conn is None:
            return TargetSnapshot(logins=[], account_emails=[])
        logins = conn.execute(
            text(
                "SELECT lower(login_id), lower(email) FROM clients "
                "WHERE tenant = :tenant AND login_id IS NOT NULL ORDER BY id"
            ),
            {"tenant": tenant},
        ).all()
        emails = conn.execute(text("SELECT DISTINCT lower(email) FROM accounts")).scalars().all()
    return TargetSnapshot(logins=[(a, b) for a, b in logins], account_emails=sorted(emails))


def write_target_snapshot(con, run_id: str, logins, account_emails) -> None:
    ensure_raw_schema(con)
    # a tenant can hold many logins: one INSERT ... SELECT from Arrow, not one per row
    if logins:
        con.register(
            "snapshot_logins",
            pa.table(
                {
                    "login_key": pa.array([login for login, _ in logins], pa.string()),
                    "email_key": pa.array([email for _, email in logins], pa.string()),
                }
            ),
        )
        con.execute("insert into raw.target_logins select ?, login_key, email_key from snapshot_logins", [run_id])
        con.unregister("snapshot_logins")
    if account_emails:
        con.register("snapshot_accounts", pa.table({"email_key": pa.array(account_emails, pa.string())}))
        con.execute("insert into raw.target_accounts select ?, email_key from snapshot_accounts", [run_id])
        con.unregister("snapshot_accounts")
