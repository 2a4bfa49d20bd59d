"""`ferry invites send` and `ferry invites status`: the invitation queue's delivery
(docs/CONTRACT.md §13). The work is in ferry/invites/; this module reads the options and
prints."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ferry.cli.app import err, fail, invites_app, out, unexpected
from ferry.config import default_home, default_target
from ferry.errors import FerryError


@invites_app.command("send")
def send_cmd(
    tenant: str = typer.Option(..., "--tenant", help="The tenant whose invitations are sent."),
    target: str | None = typer.Option(None, "--target", help="sqlite:///path or postgresql://…; env FERRY_TARGET_URL."),
    smtp: str | None = typer.Option(
        None, "--smtp", help="smtp://[user:pass@]host[:port], smtp+starttls://…, smtps://…; env FERRY_SMTP_URL."
    ),
    amqp: str | None = typer.Option(
        None, "--amqp", help="amqp://user:pass@host:5672/vhost?exchange=NAME: publish to RabbitMQ instead of mailing."
    ),
    from_addr: str | None = typer.Option(
        None, "--from", help="Sender, e.g. 'Studio Prague <hello@studio.cz>' (its name is the business's)."
    ),
    reply_to: str | None = typer.Option(None, "--reply-to", help="Reply-To address."),
    language: str | None = typer.Option(None, "--language", help="The tenant's language: en, de, fr, es, cs."),
    link: str | None = typer.Option(
        None, "--link", help="Registration link template with {email} {tenant} {invite} {client} {language}."
    ),
    business: str | None = typer.Option(None, "--business", help="The business's name (default: --from's name)."),
    rate: str | None = typer.Option(None, "--rate", help="At most this many messages, e.g. 300/min."),
    limit: int | None = typer.Option(None, "--limit", help="Send at most N invitations this run."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Also send the invitations that failed before."),
    lease: float = typer.Option(300.0, "--lease", help="Seconds a claimed invitation waits for a dead relay."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Render what would be sent; send and change nothing."),
    home: Path | None = typer.Option(None, "--home", help="Where the send's evidence goes (runs/, the warehouse)."),
    as_json: bool = typer.Option(False, "--json", help='Print only {"sent", "failed", "skipped", "pending"}.'),
) -> None:
    """Send the tenant's pending invitations, each exactly once, in the client's language."""
    from ferry.invites import evidence
    from ferry.invites.send import SendOptions, send_invitations

    home = home or default_home()
    opts = SendOptions(
        tenant=tenant,
        target=target or default_target(home),
        smtp=smtp,
        amqp=amqp,
        from_addr=from_addr,
        reply_to=reply_to,
        language=language,
        link=link,
        rate=rate,
        limit=limit,
        dry_run=dry_run,
        retry_failed=retry_failed,
        business=business,
        lease=lease,
    )
    try:
        result = send_invitations(opts)
    except FerryError as exc:
        fail(exc)
    except Exception as exc:
        unexpected(exc, home)
    folder = None
    if not dry_run:
        try:
            folder = evidence.write(home, opts, result)
        except OSError as exc:
            err.print(f"[yellow]ferry: the send's evidence was not written:[/] {exc}", highlight=False, soft_wrap=True)
    if as_json:
        sys.stdout.write(json.dumps(result.counts()) + "\n")
    elif dry_run:
        _print_previews(result)
    else:
        c = result.counts()
        out.print(
            f"send {result.send_id} ({result.channel}): {c['sent']} sent, {c['failed']} failed, "
            f"{c['skipped']} skipped, {c['pending']} still pending",
            highlight=False,
            soft_wrap=True,
        )
        if folder:
            out.print(f"evidence: {folder}  (ferry runs show {result.send_id})", highlight=False, soft_wrap=True)
    if result.error:
        err.print(f"[bold red]ferry:[/] {result.error}", highlight=False, soft_wrap=True)
    raise typer.Exit(result.exit_code)


def _print_previews(result) -> None:
    out.print(
        f"dry run: {len(result.previews)} would be sent, {result.skipped} skipped (registered or gone), "
        f"{result.pending} pending; nothing was sent or changed",
        highlight=False,
    )
    if result.previews:
        first = result.previews[0]
        out.print(f"\n[bold]first message[/] ({first.language}): {first.subject}\n", highlight=False)
        out.print(first.text, highlight=False, markup=False)


@invites_app.command("status")
def status_cmd(
    tenant: str = typer.Option(..., "--tenant"),
    target: str | None = typer.Option(None, "--target"),
    home: Path | None = typer.Option(None, "--home"),
    last: int = typer.Option(20, "--last", help="How many of the latest outcomes to show."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The tenant's invitations per state and the latest outcomes of sending them."""
    from sqlalchemy import text

    from ferry.invites import queue
    from ferry.target.db import parse_target, read_transaction, schema_version

    url = target or default_target(home or default_home())
    try:
        t = parse_target(url)
        with read_transaction(t, "reading the invitations") as conn:
            counts, recent = {}, []
            if conn is not None:
                counts = queue.counts(conn, tenant)
                if (schema_version(conn, t) or 0) >= 4:
                    recent = [
                        {k: (str(v) if v is not None and k == "logged_at" else v) for k, v in r.items()}
                        for r in conn.execute(
                            text(
                                """SELECT logged_at, invite_id, email, outcome, attempt, language, message_id,
                                          error, send_id
                                     FROM invite_sends WHERE tenant = :tenant ORDER BY id DESC LIMIT :n"""
                            ),
                            {"tenant": tenant, "n": last},
                        ).mappings()
                    ]
    except FerryError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(json.dumps({"counts": counts, "recent": recent}, default=str) + "\n")
        return
    out.print(
        f"invitations of {tenant}: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"),
        highlight=False,
    )
    print_log(reversed(recent))


def print_log(rows) -> None:
    """One line per outcome: time, invitation, e-mail, outcome, Message-ID or error."""
    for r in rows:
        detail = r.get("message_id") if r.get("outcome") == "sent" else (r.get("error") or r.get("message_id") or "")
        out.print(
            f"{str(r.get('logged_at') or '')[:23]:<24}#{r.get('invite_id')!s:<7}{r.get('email')!s:<32}"
            f"{r.get('outcome')!s:<11}{detail}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def show_send_run(home: Path, run_id: str, as_json: bool) -> None:
    """`ferry runs show SEND_ID`: the send run's summary and every outcome it logged."""
    from ferry.invites import evidence

    data, rows = evidence.read(home, run_id)
    if as_json:
        sys.stdout.write(json.dumps({**data, "sends": rows}, ensure_ascii=False) + "\n")
        return
    c = data["counts"]
    out.print(
        f"send {data['send_id']} of {data['tenant']} ({data['channel']}), {data['started_at']} – {data['finished_at']}: "
        f"{c['sent']} sent, {c['failed']} failed, {c['skipped']} skipped, {c['pending']} pending",
        highlight=False,
    )
    if data.get("error"):
        out.print(f"error: {data['error']}", highlight=False, markup=False)
    print_log(rows)
    for label, path in data.get("paths", {}).items():
        out.print(f"{label + ':':<11}{path}", highlight=False, soft_wrap=True)
