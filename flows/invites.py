"""The Prefect flow `send_invitations`: `ferry invites send` as a deployment
(`send-invitations` in prefect.yaml), so a cut-over can schedule sending for the next
morning (docs/CONTRACT.md §13).

The body is `ferry.invites.send.send_invitations`, the same the CLI runs; this module only
wires it into Prefect: one log line per invitation, the send's evidence (run folder and
warehouse rows), a markdown artifact, and the final state. The SMTP or broker URL is best
left to the worker's environment (FERRY_SMTP_URL / FERRY_AMQP_URL): a password given as a
parameter is stored with the flow run.
"""

from __future__ import annotations

import re
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.states import Failed

from ferry.config import default_home, default_target
from ferry.errors import FerryError
from ferry.invites import evidence
from ferry.invites.send import DEFAULT_LEASE, SendOptions, send_invitations


@flow(name="send_invitations", persist_result=False)
def send_invitations_flow(
    tenant: str,
    target: str | None = None,
    smtp: str | None = None,
    amqp: str | None = None,
    from_addr: str | None = None,
    reply_to: str | None = None,
    language: str | None = None,
    link: str | None = None,
    business: str | None = None,
    rate: str | None = None,
    limit: int | None = None,
    retry_failed: bool = False,
    lease: float = DEFAULT_LEASE,
    dry_run: bool = False,
    home: str | None = None,
):
    """Send the tenant's pending invitations once each (`ferry invites send`'s options).
    Returns the counts; a run that could not deliver everything (exit 2, 3 or 4 from the
    CLI) ends Failed with the reason."""
    logger = get_run_logger()
    home_dir = Path(home) if home else default_home()
    opts = SendOptions(
        tenant=tenant,
        target=target or default_target(home_dir),
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

    def outcome(row) -> None:
        logger.info(f"invitation {row.invite_id} to {row.email}: {row.outcome} {row.message_id or row.error or ''}")

    try:
        result = send_invitations(opts, on_outcome=outcome)
    except FerryError as exc:
        logger.error(str(exc))
        return Failed(message=str(exc), data=exc)
    counts = result.counts()
    folder = None if dry_run else evidence.write(home_dir, opts, result)
    logger.info(
        f"send {result.send_id}: {counts['sent']} sent, {counts['failed']} failed, "
        f"{counts['skipped']} skipped, {counts['pending']} pending" + (f"; evidence in {folder}" if folder else "")
    )
    create_markdown_artifact(
        markdown=(
            f"# Invitations of {tenant}\n\n| sent | failed | skipped | pending |\n|---|---|---|---|\n"
            f"| {counts['sent']} | {counts['failed']} | {counts['skipped']} | {counts['pending']} |\n\n"
            + (f"Evidence: `{folder}` (`ferry runs show {result.send_id}`)\n" if folder else "Dry run: nothing sent.\n")
            + (f"\n**Not complete:** {result.error}\n" if result.error else "")
        ),
        key="ferry-invites-" + (re.sub(r"[^a-z0-9]+", "-", tenant.lower()).strip("-") or "tenant"),
        description=f"Ferry send {result.send_id} of tenant {tenant}",
    )
    if result.exit_code:
        logger.error(result.error)
        return Failed(message=f"invitations not all delivered: {result.error}", data=counts)
    return counts
