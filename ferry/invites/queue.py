"""The invitation queue's delivery states in the target (docs/CONTRACT.md §13).

    pending ──claim──▶ sending ──▶ sent | failed          (failed ──--retry-failed──▶ sending)
       │                  │ lease expired (the relay died): taken back by the next relay
       └─ client registered or gone: withdrawn             transient error: back to pending

Every function is one short transaction on a connection the relay keeps open. A claim
moves rows to `sending` under the relay's id with a lease: on PostgreSQL the candidates are
read `FOR UPDATE SKIP LOCKED`, so two relays claiming at once get different rows and never
wait for each other; on SQLite the claim's transaction holds the database's write lock
(BEGIN IMMEDIATE), so claims are atomic. Each outcome is recorded, with its `invite_sends`
log rows, in the transaction that moves the row, guarded by `claimed_by`: a relay whose
lease another relay took over records its send in the log but moves nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, bindparam, text

from ferry.invites.render import Balance, Invitation
from ferry.target.db import Target

ACTIVE = ("pending", "sending")


@dataclass
class Claimed:
    invitation: Invitation
    previous_status: str  # pending | sending (an expired lease) | failed (--retry-failed)
    previous_relay: str | None
    attempts: int


@dataclass
class LogRow:
    invite_id: int
    client_id: int | None
    email: str
    outcome: str  # sent | failed | retry | deferred | skipped | expired | lost_lease
    attempt: int
    language: str | None = None
    message_id: str | None = None
    error: str | None = None
    logged_at: str | None = None  # the relay's clock (UTC) when it recorded the row; the target has its own


def _now(target: Target) -> str:
    return "now()" if target.is_pg else "datetime('now')"


def _lease(target: Target) -> str:
    return "now() + make_interval(secs => :lease)" if target.is_pg else "datetime('now', :lease_modifier)"


def _lease_params(target: Target, lease: float) -> dict:
    return {"lease": float(lease)} if target.is_pg else {"lease_modifier": f"+{float(lease)} seconds"}


def log(conn: Connection, tenant: str, send_id: str, channel: str, rows: Sequence[LogRow]) -> None:
    if not rows:
        return
    conn.execute(
        text(
            """INSERT INTO invite_sends (tenant, invite_id, client_id, email, send_id, channel, outcome, attempt,
                                         language, message_id, error)
               VALUES (:tenant, :invite_id, :client_id, :email, :send_id, :channel, :outcome, :attempt,
                       :language, :message_id, :error)"""
        ),
        [
            {
                "tenant": tenant,
                "send_id": send_id,
                "channel": channel,
                **{k: v for k, v in vars(r).items() if k != "logged_at"},
            }
            for r in rows
        ],
    )


def claim(
    conn: Connection,
    target: Target,
    *,
    tenant: str,
    relay: str,
    channel: str,
    limit: int,
    lease: float,
    retry_failed: bool,
    new_message_id,
) -> tuple[list[Claimed], list[LogRow]]:
    """Claim up to `limit` deliverable invitations of `tenant` for `relay` (one transaction,
    which the caller opened). Takes: pending ones, `sending` ones whose lease expired (a
    relay died: logged `expired`), and with `retry_failed` failed ones — never one this
    relay already handled in this run. Invitations whose client registered since, or no
    longer exists, are withdrawn instead (logged `skipped`). Returns (claimed, log rows written)."""
    statuses = f"q.status = 'pending' OR (q.status = 'sending' AND q.lease_until < {_now(target)})"
    if retry_failed:
        statuses += " OR q.status = 'failed'"
    lock = "FOR UPDATE OF q SKIP LOCKED" if target.is_pg else ""
    rows = (
        conn.execute(
            text(
                f"""SELECT q.id, q.client_id, q.email, q.status, q.claimed_by, q.attempts, q.message_id,
                           c.id AS found, c.registration_status, c.full_name, c.first_name, c.extra
                      FROM invite_queue q LEFT JOIN clients c ON c.id = q.client_id
                     WHERE q.tenant = :tenant AND ({statuses})
                       AND (q.claimed_by IS NULL OR q.claimed_by <> :relay)
                     ORDER BY q.id
                     LIMIT :limit {lock}"""
            ),
            {"tenant": tenant, "relay": relay, "limit": limit},
        )
        .mappings()
        .all()
    )
    if not rows:
        return [], []
    skipped, taken, logs = [], [], []
    for r in rows:
        if r["status"] == "sending":
            logs.append(
                LogRow(
                    r["id"],
                    r["client_id"],
                    r["email"],
                    "expired",
                    r["attempts"],
                    message_id=r["message_id"],
                    error=f"relay {r['claimed_by']} claimed it and did not finish before its lease ran out; "
                    "it may have sent this message",
                )
            )
        if r["found"] is None or r["registration_status"] != "unregistered":
            why = "the client no longer exists" if r["found"] is None else "the client has registered"
            skipped.append(LogRow(r["id"], r["client_id"], r["email"], "skipped", r["attempts"], error=why))
        else:
            taken.append(r)
    if skipped:
        conn.execute(
            text(
                "UPDATE invite_queue SET status = 'withdrawn', claimed_by = :relay, lease_until = NULL, "
                "last_error = :why WHERE id = :id"
            ),
            [{"relay": relay, "id": s.invite_id, "why": s.error} for s in skipped],
        )
    claimed = []
    if taken:
        ids = {r["id"]: (r["message_id"] or new_message_id()) for r in taken}
        conn.execute(
            text(
                f"""UPDATE invite_queue SET status = 'sending', claimed_by = :relay,
                           lease_until = {_lease(target)}, message_id = :message_id
                     WHERE id = :id"""
            ),
            [{"relay": relay, "id": i, "message_id": m, **_lease_params(target, lease)} for i, m in ids.items()],
        )
        balances = _balances(conn, [r["client_id"] for r in taken])
        for r in taken:
            invitation = Invitation(
                invite_id=r["id"],
                tenant=tenant,
                email=r["email"],
                client_id=r["client_id"],
                full_name=r["full_name"],
                first_name=r["first_name"],
                extra=r["extra"],
                balances=tuple(balances.get(r["client_id"], ())),
                message_id=ids[r["id"]],
            )
            claimed.append(Claimed(invitation, r["status"], r["claimed_by"], r["attempts"]))
    log(conn, tenant, relay, channel, logs + skipped)
    return claimed, logs + skipped


def _balances(conn: Connection, client_ids: list[int]) -> dict[int, list[Balance]]:
    out: dict[int, list[Balance]] = {}
    if not client_ids:
        return out
    rows = conn.execute(
        text(
            """SELECT client_id, kind, card_template, amount, tier FROM balances
                WHERE client_id IN :ids AND (amount > 0 OR tier IS NOT NULL)
                ORDER BY client_id, kind, card_template"""
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": client_ids},
    )
    for client_id, kind, template, amount, tier in rows:
        out.setdefault(client_id, []).append(Balance(kind, template, Decimal(str(amount)), tier))
    return out


def finish(
    conn: Connection,
    target: Target,
    *,
    tenant: str,
    relay: str,
    channel: str,
    invite_id: int,
    status: str,
    tries: int,
    error: str | None,
    logs: Sequence[LogRow],
) -> bool:
    """Record the outcome of one claimed invitation: `sent` (sent_at now), `failed`, or
    `pending` again (a transient error outlasted the run's retries). False when this relay no
    longer held it (its lease expired and another relay took it): the log still records it."""
    sent_at = _now(target) if status == "sent" else "sent_at"
    moved = conn.execute(
        text(
            f"""UPDATE invite_queue SET status = :status, attempts = attempts + :tries, last_error = :error,
                       sent_at = {sent_at}, lease_until = NULL
                 WHERE id = :id AND claimed_by = :relay AND status = 'sending'"""
        ),
        {"status": status, "tries": tries, "error": error, "id": invite_id, "relay": relay},
    ).rowcount
    rows = list(logs)
    if not moved:
        last = rows[-1]
        rows.append(
            LogRow(
                last.invite_id,
                last.client_id,
                last.email,
                "lost_lease",
                last.attempt,
                last.language,
                last.message_id,
                "this relay's lease ran out before it recorded the outcome; another relay took the invitation over",
            )
        )
    log(conn, tenant, relay, channel, rows)
    return bool(moved)


def renew(conn: Connection, target: Target, *, relay: str, lease: float) -> None:
    """Extend the lease of every row this relay still holds (it is alive and working)."""
    conn.execute(
        text(
            f"UPDATE invite_queue SET lease_until = {_lease(target)} WHERE claimed_by = :relay AND status = 'sending'"
        ),
        {"relay": relay, **_lease_params(target, lease)},
    )


def release(conn: Connection, *, relay: str, claimed: Sequence[Claimed]) -> int:
    """Give back claimed rows this relay never tried (it is stopping): each returns to the
    state it was claimed from ('sending' after an expired lease becomes 'pending')."""
    params = [
        {
            "id": c.invitation.invite_id,
            "relay": relay,
            "status": "failed" if c.previous_status == "failed" else "pending",
        }
        for c in claimed
    ]
    if not params:
        return 0
    conn.execute(
        text(
            """UPDATE invite_queue SET status = :status, claimed_by = NULL, lease_until = NULL
                WHERE id = :id AND claimed_by = :relay AND status = 'sending'"""
        ),
        params,
    )
    return len(params)


def counts(conn: Connection, tenant: str) -> dict[str, int]:
    rows = conn.execute(
        text("SELECT status, count(*) FROM invite_queue WHERE tenant = :tenant GROUP BY status"), {"tenant": tenant}
    )
    return {status: int(n) for status, n in rows}


def pending_for_dry_run(conn: Connection, tenant: str, limit: int | None, retry_failed: bool) -> list[tuple]:
    """What a send would take now, read-only and on any schema version (a dry run never
    upgrades the target): (invitation, client registered or gone)."""
    statuses = "'pending', 'failed'" if retry_failed else "'pending'"
    rows = (
        conn.execute(
            text(
                f"""SELECT q.id, q.client_id, q.email, c.id AS found, c.registration_status, c.full_name,
                           c.first_name, c.extra
                      FROM invite_queue q LEFT JOIN clients c ON c.id = q.client_id
                     WHERE q.tenant = :tenant AND q.status IN ({statuses})
                     ORDER BY q.id"""
                + (" LIMIT :limit" if limit else "")
            ),
            {"tenant": tenant, **({"limit": limit} if limit else {})},
        )
        .mappings()
        .all()
    )
    balances = _balances(conn, [r["client_id"] for r in rows if r["client_id"] is not None])
    out = []
    for r in rows:
        invitation = Invitation(
            invite_id=r["id"],
            tenant=tenant,
            email=r["email"],
            client_id=r["client_id"],
            full_name=r["full_name"],
            first_name=r["first_name"],
            extra=r["extra"],
            balances=tuple(balances.get(r["client_id"], ())),
        )
        out.append((invitation, r["found"] is None or r["registration_status"] != "unregistered"))
    return out
