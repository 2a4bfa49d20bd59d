"""The plan: which file clients are new, updated or unchanged, who registers, who is invited.

Decided into narrow temp tables (plan_match, plan, plan_balances) by INSERT ... SELECT from
the stage and the target: it only reads the target, so a dry run executes exactly the plan
the load would and reports the same counts. Every read of a tenant table carries the
tenant; accounts are people, not tenant data, and are looked up by e-mail across tenants by
design (docs/CONTRACT.md §6). lower() sits on both sides of every e-mail comparison so SQLite can
use its expression indexes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from ferry.target.db import Dialect

# Fields a file sets on a matched client; any difference makes the client "updated".
# (match_key is written too but not compared: it is Ferry's key, not the client's data.)
COMPARED = (
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
)
# The condition of the partial index clients_match_key (written exactly so in the schema,
# so both databases use it): a file client without an e-mail never has an e-mail key.
NOT_EMAIL_KEY = "substr(c.match_key, 1, 6) <> 'email:'"
# Carried in `plan` because a match can change them (see _effective).
LOGIN_FIELDS = ("login_id", "password_hash", "must_change_password")


@dataclass
class PlanCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    invites: int = 0
    balance_without_invite: int = 0
    accounts_created: int = 0
    accounts_linked: int = 0


def create_plan_tables(conn: Connection, d: Dialect) -> None:
    """Before a dry run seals its transaction read-only (temp tables stay writable).
    PostgreSQL: free space on each page keeps the few later UPDATEs in place (HOT)."""
    b, flag = d.bigint, d.boolean
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE plan_match (client_key {b} PRIMARY KEY, "
        f"by_key {flag} NOT NULL, target_id {b}) {d.fill} {d.on_commit}"
    )
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE plan (
            client_key {b} PRIMARY KEY, target_id {b}, is_new {flag} NOT NULL, email text,
            has_login {flag} NOT NULL, has_balance {flag} NOT NULL, was_registered {flag} NOT NULL,
            registers {flag} NOT NULL, account_id {b}, login_id text, password_hash text,
            must_change_password {flag} NOT NULL, fields_changed {flag} NOT NULL,
            balances_changed {flag} NOT NULL DEFAULT FALSE, invited_before {flag} NOT NULL,
            invite {flag} NOT NULL
        ) {d.fill} {d.on_commit}""")
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE plan_balances (
            client_key {b} NOT NULL, client_id {b} NOT NULL, kind text NOT NULL, card_template text,
            amount numeric NOT NULL, tier text, balance_id {b}, changed {flag} NOT NULL
        ) {d.on_commit}""")


def make_plan(
    conn: Connection, d: Dialect, tenant: str, invites: str, *, assume_empty: bool = False, assign_ids: bool = False
) -> PlanCounts:
    """Classify the staged run against the tenant's clients. `assume_empty`: the tenant's
    clients are about to be replaced (a dry run of --replace-existing), so match nothing.
    `assign_ids` (a load, never a dry run): new clients get their ids from the database's
    sequence here, so nothing has to read inserted rows back."""
    run = lambda sql: conn.execute(text(sql), {"tenant": tenant})  # noqa: E731
    # a tenant without clients matches nothing: no lookup per row (a first load)
    empty = assume_empty or not run("SELECT 1 FROM clients WHERE tenant = :tenant LIMIT 1").first()
    _match(run, d, empty)
    if d.name == "postgresql":
        run("ANALYZE plan_match")
    if assign_ids and d.name == "sqlite":
        _number_new_clients(run)
    _decide(run, d, invites, assign_ids)
    _balances(run, d)
    if d.name == "postgresql":
        run("ANALYZE plan")
    return _counts(conn)


def _match(run, d: Dialect, assume_empty: bool) -> None:
    """By lower(email) when the file has one, else by match_key; the lowest id wins when the
    target holds duplicates, and an e-mail match is never taken again by a match_key match.
    SQLite: an index lookup per row; PostgreSQL: hash joins."""
    if assume_empty:
        run(
            "INSERT INTO plan_match (client_key, by_key, target_id) "
            "SELECT client_key, email IS NULL, NULL FROM stage_clients"
        )
        return
    if d.name == "sqlite":
        run(f"""INSERT INTO plan_match (client_key, by_key, target_id)
               SELECT s.client_key, s.email IS NULL,
                      CASE WHEN s.email IS NOT NULL
                           THEN (SELECT min(c.id) FROM clients c
                                  WHERE lower(c.email) = lower(s.email) AND c.tenant = :tenant)
                           ELSE (SELECT min(c.id) FROM clients c
                                  WHERE c.match_key = s.match_key AND c.tenant = :tenant
                                    AND {NOT_EMAIL_KEY}) END
                 FROM stage_clients s""")
    else:
        run(f"""INSERT INTO plan_match (client_key, by_key, target_id)
               SELECT s.client_key, s.email IS NULL, CASE WHEN s.email IS NOT NULL THEN em.id ELSE mk.id END
                 FROM stage_clients s
                 LEFT JOIN (SELECT s2.client_key, min(c.id) AS id
                              FROM stage_clients s2 JOIN clients c ON lower(c.email) = lower(s2.email)
                             WHERE c.tenant = :tenant GROUP BY s2.client_key) AS em ON em.client_key = s.client_key
                 LEFT JOIN (SELECT s2.client_key, min(c.id) AS id
                              FROM stage_clients s2 JOIN clients c ON c.match_key = s2.match_key
                             WHERE c.tenant = :tenant AND s2.email IS NULL AND {NOT_EMAIL_KEY}
                             GROUP BY s2.client_key) AS mk
                        ON mk.client_key = s.client_key""")
    run("""UPDATE plan_match SET target_id = NULL
            WHERE by_key AND target_id IN (SELECT target_id FROM plan_match WHERE NOT by_key AND target_id IS NOT NULL)""")


def _effective(d: Dialect) -> dict[str, str]:
    """What a file may change of a login (c = the matched client, NULL for a new one).
    A file never clears a login. The target's password is authoritative once set — the
    person may have changed it, and salted hashes of one password never compare equal — so
    a file sets it (with must_change_password) only for a client without one or when the
    login id changes."""
    new_password = (
        f"(c.id IS NULL OR (s.login_id IS NOT NULL AND s.password_hash IS NOT NULL AND "
        f"(c.password_hash IS NULL OR lower(c.login_id) {d.ne} lower(s.login_id))))"
    )
    return {
        "login_id": "coalesce(s.login_id, c.login_id)",
        "password_hash": f"CASE WHEN {new_password} THEN s.password_hash ELSE c.password_hash END",
        "must_change_password": f"CASE WHEN {new_password} THEN s.must_change_password ELSE c.must_change_password END",
    }


def _number_new_clients(run) -> None:
    """SQLite: new ids in file order (under BEGIN IMMEDIATE nobody else takes ids meanwhile;
    AUTOINCREMENT never reuses one), into a table keyed by client_key: plan_match is in
    client_key order already, so this is one append-only pass (an UPDATE of plan_match
    rewrote every row in place, which is slower than appending narrow new ones)."""
    run("CREATE TEMP TABLE plan_new (client_key INTEGER PRIMARY KEY, id INTEGER NOT NULL)")
    run("""INSERT INTO plan_new (client_key, id)
           SELECT client_key, row_number() OVER (ORDER BY client_key)
                  + (SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'clients'), 0),
                                coalesce((SELECT max(id) FROM clients), 0)))
             FROM plan_match WHERE target_id IS NULL ORDER BY client_key""")


def _new_id(d: Dialect) -> tuple[str, str]:
    """(the id a new client gets, the join that provides it); m = its plan_match row."""
    if d.name == "postgresql":
        # the scalar subquery is evaluated once; pg_get_serial_sequence() per row would repeat
        # its catalogue lookup for every new client
        return "nextval((SELECT CAST(pg_get_serial_sequence('clients', 'id') AS regclass)))", ""
    return "n.id", "LEFT JOIN plan_new n ON n.client_key = m.client_key"


def _decide(run, d: Dialect, invites: str, assign_ids: bool) -> None:
    new_id, numbered = _new_id(d) if assign_ids else ("", "")
    target_id = f"CASE WHEN m.target_id IS NULL THEN {new_id} ELSE m.target_id END" if assign_ids else "m.target_id"
    effective = _effective(d)
    value = lambda f: effective.get(f, f"s.{f}")  # noqa: E731
    differs = " OR ".join(f"c.{f} {d.ne} {value(f)}" for f in COMPARED)
    was_registered = "coalesce(c.registration_status = 'registered', FALSE)"
    registers = f"(s.has_login AND NOT {was_registered})"
    # --invites all: every client with an e-mail, no login and no registration; balances:
    # only those holding a positive balance; none: nobody. Any invitation not withdrawn
    # counts as "already invited": a rerun queues nothing even after the app has moved the
    # first invitation on from 'pending'.
    who = {"all": "TRUE", "balances": "x.has_balance"}.get(invites, "FALSE")
    run(f"""INSERT INTO plan (client_key, target_id, is_new, email, has_login, has_balance,
                              was_registered, registers, account_id, login_id, password_hash,
                              must_change_password, fields_changed, invited_before, invite)
            SELECT x.client_key, x.target_id, x.is_new, x.email, x.has_login, x.has_balance,
                   x.was_registered, x.registers, x.account_id, x.login_id, x.password_hash,
                   x.must_change_password, x.fields_changed, x.invited_before,
                   (x.email IS NOT NULL AND NOT x.has_login AND NOT x.was_registered
                    AND NOT x.invited_before AND {who})
              FROM (SELECT m.client_key, {target_id} AS target_id, m.target_id IS NULL AS is_new, s.email,
                           s.has_login, s.has_balance,
                           {was_registered} AS was_registered,
                           {registers} AS registers,
                           CASE WHEN {registers}
                                THEN (SELECT min(a.id) FROM accounts a WHERE lower(a.email) = lower(s.email))
                                ELSE c.account_id END AS account_id,
                           {value("login_id")} AS login_id,
                           {value("password_hash")} AS password_hash,
                           {value("must_change_password")} AS must_change_password,
                           CASE WHEN c.id IS NULL THEN FALSE ELSE ({differs}) END AS fields_changed,
                           coalesce(m.target_id IN (SELECT i.client_id FROM invite_queue i
                                                     WHERE i.tenant = :tenant AND i.status <> 'withdrawn'
                                                       AND i.client_id IS NOT NULL), FALSE) AS invited_before
                      FROM plan_match m
                      JOIN stage_clients s ON s.client_key = m.client_key
                      LEFT JOIN clients c ON c.id = m.target_id AND c.tenant = :tenant
                      {numbered}) AS x""")


def _balances(run, d: Dialect) -> None:
    """The matched clients' balances: existing row (set, never added) or a new one."""
    run(f"""INSERT INTO plan_balances (client_key, client_id, kind, card_template, amount, tier, balance_id, changed)
            SELECT sb.client_key, p.target_id, sb.kind, sb.card_template, sb.amount, sb.tier, b.id,
                   CASE WHEN b.id IS NULL THEN TRUE ELSE (b.amount <> sb.amount OR b.tier {d.ne} sb.tier) END
              FROM plan p
              JOIN stage_balances sb ON sb.client_key = p.client_key
              LEFT JOIN balances b ON b.client_id = p.target_id AND b.tenant = :tenant AND b.kind = sb.kind
                                  AND coalesce(b.card_template, '') = coalesce(sb.card_template, '')
             WHERE NOT p.is_new""")
    run("""UPDATE plan SET balances_changed = TRUE
            WHERE client_key IN (SELECT client_key FROM plan_balances WHERE changed)""")
    if d.name == "postgresql":
        run("ANALYZE plan_balances")


def _counts(conn: Connection) -> PlanCounts:
    row = conn.execute(
        text("""
        SELECT count(*),
               sum(CASE WHEN is_new THEN 1 ELSE 0 END),
               sum(CASE WHEN NOT is_new AND (fields_changed OR balances_changed OR registers) THEN 1 ELSE 0 END),
               sum(CASE WHEN invite THEN 1 ELSE 0 END),
               sum(CASE WHEN has_balance AND NOT has_login AND NOT was_registered
                             AND NOT invite AND NOT invited_before THEN 1 ELSE 0 END),
               sum(CASE WHEN registers AND account_id IS NULL THEN 1 ELSE 0 END),
               sum(CASE WHEN registers AND account_id IS NOT NULL THEN 1 ELSE 0 END)
          FROM plan""")
    ).one()
    total, new, updated, invites, without, created, linked = (int(v or 0) for v in row)
    return PlanCounts(
        new=new,
        updated=updated,
        unchanged=total - new - updated,
        invites=invites,
        balance_without_invite=without,
        accounts_created=created,
        accounts_linked=linked,
    )
