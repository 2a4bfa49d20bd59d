"""What the rules need to know about the target before transform: the tenant's login ids
(for login_duplicate) and the e-mails that already have an account (login_account_exists).

Written to raw.target_logins / raw.target_accounts so dbt reads it like any other input.
"""

from __future__ import annotations

import pyarrow as pa


def write_target_snapshot(con, run_id: str, logins, account_emails) -> None:
    con.execute("create table if not exists raw.target_logins (run_id varchar, login_key varchar, email_key varchar)")
    con.execute("create table if not exists raw.target_accounts (run_id varchar, email_key varchar)")
    # a tenant can hold many logins: one INSERT ... SELECT from Arrow, not one per row
    if logins:
        con.register("snapshot_logins", pa.table({
            "login_key": pa.array([login for login, _ in logins], pa.string()),
            "email_key": pa.array([email for _, email in logins], pa.string()),
        }))
        con.execute("insert into raw.target_logins select ?, login_key, email_key from snapshot_logins", [run_id])
        con.unregister("snapshot_logins")
    if account_emails:
        con.register("snapshot_accounts", pa.table({"email_key": pa.array(account_emails, pa.string())}))
        con.execute("insert into raw.target_accounts select ?, email_key from snapshot_accounts", [run_id])
        con.unregister("snapshot_accounts")
