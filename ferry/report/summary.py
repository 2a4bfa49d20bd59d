"""Report: the run summary (CONTRACT §7), rejects.csv and the auditor's report.html.

Everything is computed from the warehouse's marts and what the load returned, so the
report states exactly what the gate saw and what the target received.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from ferry.report.csvsafe import write_safe_csv

REJECTS_HEADER = ("row", "column", "value", "severity", "code", "message")


@dataclass
class RunFacts:
    """What the marts say about one run, read once for the summary and the HTML."""

    rows: dict
    balances: dict
    issue_counts: dict
    issues: list[tuple]
    reconciliation: list[dict]
    has_balance_no_login: int


def number(value) -> int | float:
    """JSON number: whole amounts as int (12, not 12.0), others as float."""
    if value is None:
        return 0
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def read_facts(warehouse: Path, run_id: str) -> RunFacts:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        summary = con.execute(
            "select rows_read, rows_valid, rows_rejected, rows_merged, rows_duplicate "
            "from marts.run_summary where run_id = ?",
            [run_id],
        ).fetchone() or (0, 0, 0, 0, 0)
        balances = {"entries": 0, "credits": 0}
        for kind, total in con.execute(
            "select kind, sum(amount) from marts.balances where run_id = ? group by kind order by kind", [run_id]
        ).fetchall():
            balances[kind] = number(total)
        issues = con.execute(
            "select row_number, column_name, value, severity, code, message from marts.issues "
            "where run_id = ? order by row_number nulls first, severity, code",
            [run_id],
        ).fetchall()
        reconciliation = [
            {"kind": k, "source": number(s), "loaded": number(t)}
            for k, s, t in con.execute(
                "select kind, source_total, loaded_total from marts.balance_reconciliation "
                "where run_id = ? order by kind",
                [run_id],
            ).fetchall()
        ]
        has_balance_no_login = con.execute(
            "select count(*) from marts.clients where run_id = ? and has_balance and login_id is null", [run_id]
        ).fetchone()[0]
    finally:
        con.close()
    counts: dict[str, int] = {}
    for issue in issues:
        counts[issue[4]] = counts.get(issue[4], 0) + 1
    read, valid, rejected, merged, duplicate = summary
    return RunFacts(
        rows={
            "read": read,
            "valid": valid,
            "rejected": rejected,
            "merged": merged,
            "duplicate": duplicate,
            "loaded": 0,
        },
        balances=balances,
        issue_counts=counts,
        issues=issues,
        reconciliation=reconciliation,
        has_balance_no_login=has_balance_no_login,
    )


def write_rejects(path: Path, issues: list[tuple]) -> int:
    return write_safe_csv(path, REJECTS_HEADER, issues)


def build_summary(*, run_id, opts, land, facts: RunFacts, gate, status, load, paths) -> dict:
    """The run summary exactly as CONTRACT §7 lays it out."""
    rows = dict(facts.rows)
    rows["loaded"] = rows["valid"] if status == "loaded" else 0
    if load is not None:
        clients = {"new": load.clients_new, "updated": load.clients_updated, "unchanged": load.clients_unchanged}
        without_invite = load.balance_without_invite
    else:
        clients = {"new": 0, "updated": 0, "unchanged": 0}
        without_invite = facts.has_balance_no_login if opts.invites == "none" else 0
    issue_counts = dict(sorted(facts.issue_counts.items()))
    issue_counts["balance_without_invite"] = without_invite
    return {
        "run_id": run_id,
        "tenant": opts.tenant,
        "status": status,
        "source": {
            "file": str(opts.file),
            "sha256": land.sha256,
            "format": land.format,
            "encoding": land.encoding,
            "delimiter": land.delimiter,
            "system": land.source_system,
        },
        "rows": rows,
        "clients": clients,
        "invites_queued": load.invites_queued if (load is not None and status == "loaded") else 0,
        "balances": facts.balances,
        "issue_counts": issue_counts,
        "unmapped_columns": list(land.unmapped_columns),
        "gate": {"passed": gate.passed, "checks": [{"name": c["name"], "passed": c["passed"]} for c in gate.checks]},
        "paths": {k: str(v) for k, v in paths.items()},
    }


def ensure_run_results(con) -> None:
    con.execute(
        "create table if not exists raw.run_results (run_id varchar, tenant varchar, status varchar, "
        "finished_at timestamp, summary json)"
    )


def record_result(warehouse: Path, summary: dict) -> None:
    """Append how the run ended to raw.run_results, for the analyst views and history."""
    con = duckdb.connect(str(warehouse))
    try:
        ensure_run_results(con)
        # finished_at is UTC (a naive timestamp column); the analyst views present it as timestamptz
        finished = datetime.now(UTC).replace(tzinfo=None)
        con.execute(
            "insert into raw.run_results values (?, ?, ?, ?, ?)",
            [
                summary["run_id"],
                summary["tenant"],
                summary["status"],
                finished,
                json.dumps(summary, ensure_ascii=False),
            ],
        )
    finally:
        con.close()


def write_summary(path: Path, summary: dict) -> None:
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
