"""`ferry invites send`'s body: one relay that drains a tenant's invitation queue through a
channel, exactly once per invitation (docs/CONTRACT.md §13). The CLI and the Prefect flow
call `send_invitations` with the same options.

The loop: claim a small batch (ferry/invites/queue.py), then for each invitation render it,
deliver it (retrying transient errors with backoff), and record the outcome in its own
transaction before the next one starts. So at most one message is ever in flight and not
yet recorded: if the relay dies in that window (after the server accepted the message,
before the row says `sent`), the row stays `sending` until its lease expires and the next
relay sends that one invitation again, with the same Message-ID. That is the whole
duplicate window; everything else is sent once.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ferry.errors import InputError, TargetError
from ferry.invites import channels, queue, render
from ferry.target.db import Target, ensure_schema, make_engine, parse_target, read_transaction, target_errors

log = logging.getLogger("ferry.invites")

BATCH = 20  # invitations claimed at once (a relay's claims, not yet sent, that a crash strands)
DEFAULT_LEASE = 300.0  # seconds a claim is held without a sign of life
RETRY_DELAYS = (1.0, 4.0, 15.0)  # backoff between tries of one invitation within a run
CONNECT_DELAYS = (1.0, 4.0, 15.0)  # and between attempts to reach the server or broker
ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")
EXIT_INCOMPLETE = 4  # not everything was delivered (docs/CONTRACT.md §13); what was sent is recorded


@dataclass(frozen=True)
class SendOptions:
    tenant: str
    target: str
    smtp: str | None = None
    amqp: str | None = None
    from_addr: str | None = None
    reply_to: str | None = None
    language: str | None = None
    link: str | None = None
    rate: str | None = None  # "N/min", "N/s", "N/h", or N (per minute)
    limit: int | None = None
    dry_run: bool = False
    retry_failed: bool = False
    business: str | None = None
    lease: float = DEFAULT_LEASE

    def shown(self) -> dict:
        """The options for evidence and logs: URLs without their passwords."""
        out = {k: v for k, v in vars(self).items() if v not in (None, False)}
        for key in ("target", "smtp", "amqp"):
            if out.get(key):
                out[key] = channels.redact_url(out[key])
        return out


@dataclass
class SendResult:
    send_id: str
    tenant: str
    channel: str
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    pending: int = 0
    deferred: int = 0  # transient errors that outlasted the run's retries: pending again
    dry_run: bool = False
    error: str | None = None
    exit_code: int = 0
    started_at: str = ""
    finished_at: str = ""
    log: list[queue.LogRow] = field(default_factory=list)
    previews: list[render.Rendered] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """What `--json` prints."""
        return {"sent": self.sent, "failed": self.failed, "skipped": self.skipped, "pending": self.pending}


def new_send_id() -> str:
    from ferry.run import new_run_id

    return new_run_id()


def parse_rate(rate: str | None) -> float | None:
    """Messages per second from "N/min" (also N/s, N/h; a bare N is per minute)."""
    if rate is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?\s*", rate.lower())
    if not m or float(m.group(1)) <= 0:
        raise InputError(f"--rate {rate}: write messages per minute, e.g. 300/min (or 5/s, 10000/h)")
    per = {"s": 1, "sec": 1, "second": 1, "h": 3600, "hour": 3600}.get(m.group(2) or "min", 60)
    return float(m.group(1)) / per


def _delays(name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    """FERRY_INVITE_RETRY_DELAYS / FERRY_INVITE_CONNECT_DELAYS: comma-separated seconds."""
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return tuple(float(x) for x in value.split(",") if x.strip())
    except ValueError:
        raise InputError(f"{name}={value}: comma-separated seconds, e.g. 1,4,15") from None


@dataclass(frozen=True)
class Plan:
    """The checked options: everything `send_invitations` needs, or exit 2 before anything."""

    target: Target
    channel: str  # smtp | amqp
    smtp: channels.SmtpSettings | None
    amqp: channels.AmqpSettings | None
    from_addr: str | None
    reply_to: str | None
    language: str
    link: str
    business: str
    per_second: float | None
    retry_delays: tuple[float, ...]
    connect_delays: tuple[float, ...]


def check(opts: SendOptions) -> Plan:
    if not opts.tenant:
        raise InputError("--tenant is needed")
    smtp_url = opts.smtp
    amqp_url = opts.amqp
    if smtp_url and amqp_url:
        raise InputError("give --smtp or --amqp, not both")
    if not smtp_url and not amqp_url:
        smtp_env, amqp_env = os.environ.get("FERRY_SMTP_URL"), os.environ.get("FERRY_AMQP_URL")
        if smtp_env and amqp_env:
            raise InputError("FERRY_SMTP_URL and FERRY_AMQP_URL are both set: say which with --smtp or --amqp")
        smtp_url, amqp_url = smtp_env, amqp_env
    if not smtp_url and not amqp_url and not opts.dry_run:
        raise InputError("where to send: --smtp URL (or FERRY_SMTP_URL), or --amqp URL for a broker")
    smtp = channels.parse_smtp_url(smtp_url) if smtp_url else None
    amqp = channels.parse_amqp_url(amqp_url) if amqp_url else None
    from_addr = render.check_address(opts.from_addr or os.environ.get("FERRY_MAIL_FROM"), "--from")
    if from_addr is None and amqp is None:
        raise InputError(
            "--from is needed: the sender address, e.g. 'Studio Prague <hello@studio.cz>' (or FERRY_MAIL_FROM)"
        )
    if opts.limit is not None and opts.limit < 1:
        raise InputError(f"--limit {opts.limit}: at least 1")
    per_second = parse_rate(opts.rate)
    if opts.lease < 1:
        raise InputError(f"--lease {opts.lease}: at least 1 second")
    if per_second and 2.0 / per_second > opts.lease:
        raise InputError(f"--rate {opts.rate} with --lease {opts.lease:g}: the lease must outlast two messages")
    return Plan(
        target=parse_target(opts.target),
        channel="amqp" if amqp else "smtp",
        smtp=smtp,
        amqp=amqp,
        from_addr=from_addr,
        reply_to=render.check_address(opts.reply_to, "--reply-to"),
        language=render.check_language(opts.language),
        link=render.check_link(opts.link or os.environ.get("FERRY_INVITE_LINK")),
        business=(opts.business or render.business_from(from_addr, opts.tenant)).strip(),
        per_second=per_second,
        retry_delays=_delays("FERRY_INVITE_RETRY_DELAYS", RETRY_DELAYS),
        connect_delays=_delays("FERRY_INVITE_CONNECT_DELAYS", CONNECT_DELAYS),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _payload(plan: Plan, inv: render.Invitation, rendered: render.Rendered, message_id: str) -> dict:
    """The broker message (docs/CONTRACT.md §13): everything a booking system needs to send
    its own invitation, with Ferry's rendering for those that want it."""
    return {
        "type": "ferry.invitation",
        "version": 1,
        "message_id": message_id,
        "invitation_id": inv.invite_id,
        "tenant": inv.tenant,
        "business": plan.business,
        "client_id": inv.client_id,
        "email": inv.email,
        "name": inv.full_name,
        "first_name": inv.first_name,
        "language": rendered.language,
        "link": rendered.link,
        "balances": [
            {"kind": b.kind, "card_template": b.card_template, "amount": float(b.amount), "tier": b.tier}
            for b in inv.balances
        ],
        "from": plan.from_addr,
        "reply_to": plan.reply_to,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
    }


class _Stop:
    """SIGTERM (a cancelled Prefect run, `kill`): finish and record the message in flight,
    give back the rest, stop. Installed only from the main thread."""

    def __init__(self):
        self.requested = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requested = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)


def send_invitations(
    opts: SendOptions,
    *,
    send_id: str | None = None,
    on_outcome: Callable[[queue.LogRow], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    """Send the tenant's pending invitations once each; returns the counts and the log.
    Raises InputError (exit 2) for bad options, TargetError (exit 3) for the target; a run
    that could not deliver everything returns `exit_code` 4 with `error` set."""
    plan = check(opts)
    send_id = send_id or new_send_id()
    result = SendResult(send_id=send_id, tenant=opts.tenant, channel=plan.channel, dry_run=opts.dry_run)
    result.started_at = _now()
    if opts.dry_run:
        _dry_run(plan, opts, result)
        result.finished_at = _now()
        return result
    _require_target(plan.target)
    ensure_schema(plan.target)  # the delivery columns (schema version 4), upgraded in place
    channel = channels.SmtpChannel(plan.smtp, plan.from_addr) if plan.smtp else channels.AmqpChannel(plan.amqp)
    domain = render.sender_domain(plan.from_addr or "ferry@localhost")
    engine = make_engine(plan.target)
    try:
        with engine.connect() as conn, _Stop() as stop:
            _open(channel, plan, sleep)
            try:
                _relay(conn, plan, opts, channel, result, domain, stop, on_outcome, sleep)
            finally:
                channel.close()
            if stop.requested:
                result.error, result.exit_code = (
                    "stopped by SIGTERM; the invitations not sent stay pending",
                    EXIT_INCOMPLETE,
                )
            with target_errors(plan.target, "counting invitations"), conn.begin():
                result.pending = queue.counts(conn, opts.tenant).get("pending", 0)
    except channels.Fatal as exc:
        result.error, result.exit_code = str(exc), exc.exit_code
    except channels.Transient as exc:
        result.error, result.exit_code = f"{exc}; the invitations stay pending", EXIT_INCOMPLETE
    finally:
        engine.dispose()
    if result.error and not result.pending:
        try:
            with read_transaction(plan.target, "counting invitations") as conn:
                result.pending = queue.counts(conn, opts.tenant).get("pending", 0) if conn is not None else 0
        except TargetError:
            pass
    if not result.exit_code and (result.failed or result.deferred):
        result.exit_code = EXIT_INCOMPLETE
        result.error = f"{result.failed} failed, {result.deferred} left pending after transient errors"
    result.finished_at = _now()
    return result


def _require_target(target: Target) -> None:
    """A send never creates a target: with no Ferry schema there is nothing to send (exit 3)."""
    with read_transaction(target, "reading the invitations") as conn:
        if conn is None:
            raise TargetError(
                f"target {target.shown} has no Ferry schema (nothing was migrated there): nothing to send"
            )


def _open(channel, plan: Plan, sleep) -> None:
    for delay in (*plan.connect_delays, None):
        try:
            channel.open()
            return
        except channels.Transient as exc:
            if delay is None:
                raise
            log.warning("%s; trying again in %gs", exc, delay)
            sleep(delay)


def _relay(conn, plan: Plan, opts: SendOptions, channel, result: SendResult, domain, stop, on_outcome, sleep) -> None:
    target, tenant, relay = plan.target, opts.tenant, result.send_id
    interval = 1.0 / plan.per_second if plan.per_second else 0.0
    batch = BATCH if not interval else max(1, min(BATCH, int(opts.lease / interval / 3)))
    next_at = time.monotonic()
    renewed = time.monotonic()
    handled = 0

    def record(rows: list[queue.LogRow]) -> None:
        result.log.extend(rows)
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        for row in rows:
            row.logged_at = row.logged_at or stamp
            log.info(
                "invitation %s to %s: %s %s", row.invite_id, row.email, row.outcome, row.message_id or row.error or ""
            )
            if on_outcome:
                on_outcome(row)

    while not stop.requested:
        want = batch if opts.limit is None else min(batch, opts.limit - handled)
        if want <= 0:
            break
        with target_errors(target, "claiming invitations"), conn.begin():
            claimed, logged = queue.claim(
                conn,
                target,
                tenant=tenant,
                relay=relay,
                channel=channel.name,
                limit=want,
                lease=opts.lease,
                retry_failed=opts.retry_failed,
                new_message_id=lambda: f"<{secrets.token_hex(12)}.invite@{domain}>",  # short: never folded
            )
        result.skipped += sum(r.outcome == "skipped" for r in logged)
        record(logged)
        if not claimed and not logged:
            break
        todo = list(claimed)
        try:
            while todo:
                if stop.requested:
                    break
                item = todo[0]
                if interval:
                    wait = next_at - time.monotonic()
                    if wait > 0:
                        sleep(wait)
                    next_at = max(next_at, time.monotonic()) + interval
                status, tries, error, rows = _deliver(plan, channel, item, sleep)
                with target_errors(target, "recording an invitation"), conn.begin():
                    queue.finish(
                        conn,
                        target,
                        tenant=tenant,
                        relay=relay,
                        channel=channel.name,
                        invite_id=item.invitation.invite_id,
                        status=status,
                        tries=tries,
                        error=error,
                        logs=rows,
                    )
                    if time.monotonic() - renewed > opts.lease / 3 and len(todo) > 1:
                        queue.renew(conn, target, relay=relay, lease=opts.lease)
                        renewed = time.monotonic()
                todo.pop(0)
                handled += 1
                result.sent += status == "sent"
                result.failed += status == "failed"
                result.deferred += status == "pending"
                record(rows)
        finally:
            if todo:  # stopping (fatal channel error, SIGTERM, Ctrl-C): give back what was not tried
                with target_errors(target, "giving back invitations"), conn.begin():
                    queue.release(conn, relay=relay, claimed=todo)


def _deliver(plan: Plan, channel, item: queue.Claimed, sleep) -> tuple[str, int, str | None, list[queue.LogRow]]:
    """Try one invitation until it is sent, refused for good, or out of retries; returns
    (new status, tries, last error, log rows). A Fatal error propagates (after this row is
    given back by the caller)."""
    inv = item.invitation
    language = render.client_language(inv.extra, plan.language)
    rendered = render.render(inv, language, plan.business, plan.link)
    rows: list[queue.LogRow] = []
    if not ADDRESS.fullmatch(inv.email):  # never a header built from a broken address
        error = f"{inv.email!r} is not an e-mail address"
        rows.append(_row(inv, "failed", item.attempts + 1, language, error))
        return "failed", 1, error, rows
    tries = 0
    for delay in (*plan.retry_delays, None):
        tries += 1
        attempt = item.attempts + tries
        try:
            if plan.smtp:
                msg = render.message(
                    inv, rendered, from_addr=plan.from_addr, reply_to=plan.reply_to, message_id=inv.message_id
                )
                channel.deliver(msg, inv.email)
            else:
                channel.deliver(None, inv.email, _payload(plan, inv, rendered, inv.message_id))
        except channels.Permanent as exc:
            rows.append(_row(inv, "failed", attempt, language, str(exc)))
            return "failed", tries, str(exc), rows
        except channels.Transient as exc:
            if delay is None:
                rows.append(_row(inv, "deferred", attempt, language, str(exc)))
                return "pending", tries, str(exc), rows
            rows.append(_row(inv, "retry", attempt, language, str(exc)))
            sleep(delay)
            continue
        rows.append(_row(inv, "sent", attempt, language, None))
        return "sent", tries, None, rows
    raise AssertionError("unreachable")


def _row(inv: render.Invitation, outcome: str, attempt: int, language: str, error: str | None) -> queue.LogRow:
    return queue.LogRow(inv.invite_id, inv.client_id, inv.email, outcome, attempt, language, inv.message_id, error)


def _dry_run(plan: Plan, opts: SendOptions, result: SendResult) -> None:
    """Render every invitation a send would take, send nothing, change nothing."""
    with read_transaction(plan.target, "reading the invitations") as conn:
        if conn is None:
            raise TargetError(
                f"target {plan.target.shown} has no Ferry schema (nothing was migrated there): nothing to send"
            )
        todo = queue.pending_for_dry_run(conn, opts.tenant, opts.limit, opts.retry_failed)
        result.pending = queue.counts(conn, opts.tenant).get("pending", 0)
    for inv, gone in todo:
        if gone:
            result.skipped += 1
            continue
        language = render.client_language(inv.extra, plan.language)
        result.previews.append(render.render(inv, language, plan.business, plan.link))


def home_dir(home: Path | None) -> Path:
    from ferry.config import default_home

    return Path(home) if home else default_home()
