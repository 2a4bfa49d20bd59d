"""`ferry export-contacts`: the tenant's clients for an e-mail-marketing tool (docs/CONTRACT.md §8).

Only clients with an e-mail address are exported (a contact without one is of no use to
such a tool). Columns: email, first_name, last_name, phone, tags (comma-separated),
consent (true/false). The file is UTF-8 (ferry/report/csvsafe.py, like rejects.csv), and every
cell a spreadsheet would run as a formula (= + - @ tab CR) is prefixed with ' — phone
numbers in E.164 (+420…) included, as the contract says.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from ferry.errors import TargetError
from ferry.report.csvsafe import write_safe_csv
from ferry.target.db import parse_target, read_transaction

HEADER = ("email", "first_name", "last_name", "phone", "tags", "consent")


def export_contacts(target_url: str, tenant: str, out_path: Path, consented_only: bool = False) -> int:
    """Write the CSV; returns the number of contacts. Reads the target only."""
    target = parse_target(target_url)
    with read_transaction(target, "the contact export") as conn:
        if conn is None:
            raise TargetError(f"target {target.shown} does not exist yet: nothing has been migrated into it")
        rows = conn.execute(
            text(f"""
            SELECT email, first_name, last_name, phone, tags, newsletter_consent
              FROM clients
             WHERE tenant = :tenant AND email IS NOT NULL
               {"AND newsletter_consent" if consented_only else ""}
             ORDER BY id"""),
            {"tenant": tenant},
        ).all()
    return write_safe_csv(Path(out_path), HEADER, (_contact(r) for r in rows))


def _contact(row) -> tuple:
    email, first, last, phone, tags, consent = row
    return (email, first, last, phone, _tags(tags), "true" if consent else "false")


def _tags(value) -> str:
    try:
        items = json.loads(value) if value else []
    except ValueError:
        return str(value)
    return ", ".join(str(t) for t in items) if isinstance(items, list) else str(items)
