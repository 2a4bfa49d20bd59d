"""What the rules need to know about the target before transform: the tenant's login ids
(for login_duplicate) and the e-mails that already have an account (login_account_exists).

Written to raw.target_logins / raw.target_accounts so dbt reads it like any other input.
"""

from __future__ import annotations


def write_target_snapshot(con, run_id: str, logins, account_emails) -> None:
    con.execute("create table if not exists raw.target_logins (run_id varchar, login_key varchar, email_key varchar)")
    con.execute("create table if not exists raw.target_accounts (run_id varchar, email_key varchar)")
    if logins:
        con.executemany(
            "insert into raw.target_logins values (?, ?, ?)",
            [(run_id, login, email) for login, email in logins],
        )
    if account_emails:
        con.executemany(
            "insert into raw.target_accounts values (?, ?)", [(run_id, e) for e in account_emails]
        )
