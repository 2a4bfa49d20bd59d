"""Report: the run summary (docs/CONTRACT.md §7), rejects.csv and the auditor's report.html.

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

from ferry.ingest.raw import ensure_raw_schema
from ferry.report.csvsafe import write_safe_csv
from ferry.rules import FIELD_BALANCE_KINDS

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


def facts_unknown(rows_read: int, control_totals: dict | None) -> RunFacts:
    """What a summary can still say when the marts cannot be read after a load committed:
    the rows read and the balances the target holds; the other counts are unknown (null)."""
    balances = {"entries": 0, "credits": 0}
    for kind, sums in (control_totals or {}).items():
        balances[kind] = number(sums.get("target"))
    rows = {"read": rows_read, "valid": None, "rejected": None, "merged": None, "duplicate": None}
    return RunFacts(rows, balances, {}, [], [], 0)


def number(value) -> int | float:
    """JSON number: whole amounts as int (12, not 12.0), others as float."""
    if value is None:
        return 0
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def read_facts(warehouse: Path, run_id: str) -> RunFacts:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = _row_counts(con, run_id)
        balances = _balances(con, run_id)
        issues = con.execute(
            "select row_number, column_name, value, severity, code, message from marts.issues "
            "where run_id = ? order by row_number nulls first, severity, code",
            [run_id],
        ).fetchall()
        reconciliation = _reconciliation(con, run_id)
        has_balance_no_login = con.execute(
            "select count(*) from marts.clients where run_id = ? and has_balance and login_id is null", [run_id]
        ).fetchone()[0]
    finally:
        con.close()
    counts: dict[str, int] = {}
    for issue in issues:
        counts[issue[4]] = counts.get(issue[4], 0) + 1
    return RunFacts(
        rows=rows,
        balances=balances,
        issue_counts=counts,
        issues=issues,
        reconciliation=reconciliation,
        has_balance_no_login=has_balance_no_login,
    )


def _row_counts(con, run_id: str) -> dict:
    """Where the rows went; `loaded` is settled by build_summary once the load has answered."""
    read, valid, rejected, merged, duplicate = con.execute(
        "select rows_read, rows_valid, rows_rejected, rows_merged, rows_duplicate "
        "from marts.run_summary where run_id = ?",
        [run_id],
    ).fetchone() or (0, 0, 0, 0, 0)
    return {"read": read, "valid": valid, "rejected": rejected, "merged": merged, "duplicate": duplicate, "loaded": 0}


def _balances(con, run_id: str) -> dict:
    """Sum per balance kind; entries and credits are always stated, if only as 0
    (docs/CONTRACT.md §7)."""
    balances = dict.fromkeys(FIELD_BALANCE_KINDS, 0)
    for kind, total in con.execute(
        "select kind, sum(amount) from marts.balances where run_id = ? group by kind order by kind", [run_id]
    ).fetchall():
        balances[kind] = number(total)
    return balances


def _reconciliation(con, run_id: str) -> list[dict]:
    return [
        {"kind": k, "source": number(s), "loaded": number(t)}
        for k, s, t in con.execute(
            "select kind, source_total, loaded_total from marts.balance_reconciliation where run_id = ? order by kind",
            [run_id],
        ).fetchall()
    ]


def write_rejects(path: Path, issues: list[tuple]) -> int:
    return write_safe_csv(path, REJECTS_HEADER, issues)


def build_summary(*, run_id, opts, land, facts: RunFacts, gate, status, load, paths) -> dict:
    """The run summary exactly as docs/CONTRACT.md §7 lays it out."""
    rows = dict(facts.rows)
    rows["loaded"] = rows["valid"] if status == "loaded" else 0
    issue_counts = dict(sorted(facts.issue_counts.items()))
    issue_counts["balance_without_invite"] = _balance_without_invite(opts, facts, load)
    return {
        "run_id": run_id,
        "tenant": opts.tenant,
        "status": status,
        "source": _source(opts, land),
        "rows": rows,
        "clients": _clients(load),
        "invites_queued": load.invites_queued if (load is not None and status == "loaded") else 0,
        "balances": facts.balances,
        "issue_counts": issue_counts,
        "unmapped_columns": list(land.unmapped_columns),
        "mapping": list(getattr(land, "mapping", [])),
        "gate": {"passed": gate.passed, "checks": [{"name": c["name"], "passed": c["passed"]} for c in gate.checks]},
        "paths": {k: str(v) for k, v in paths.items()},
    }


def _source(opts, land) -> dict:
    """The file as it was read."""
    return {
        "file": str(opts.file),
        "sha256": land.sha256,
        "format": land.format,
        "encoding": land.encoding,
        "delimiter": land.delimiter,
        "system": land.source_system,
    }


def _clients(load) -> dict:
    """Clients by outcome; all 0 when nothing was planned (blocked or failed)."""
    if load is None:
        return {"new": 0, "updated": 0, "unchanged": 0}
    return {"new": load.clients_new, "updated": load.clients_updated, "unchanged": load.clients_unchanged}


def _balance_without_invite(opts, facts: RunFacts, load) -> int:
    """Clients holding a balance no invitation lets them claim (docs/CONTRACT.md §5): the
    load's count, or with --invites none the marts' when the load never planned."""
    if load is not None:
        return load.balance_without_invite
    return facts.has_balance_no_login if opts.invites == "none" else 0


def ensure_run_results(con) -> None:
    ensure_raw_schema(con)  # raw.run_results is one of the raw layer's tables


def insert_result(con, summary: dict) -> None:
    """Append how the run ended to raw.run_results on the warehouse connection `con`, for
    the analyst views and history."""
    ensure_run_results(con)
    # finished_at is UTC (a naive timestamp column); the analyst views present it as timestamptz
    finished = datetime.now(UTC).replace(tzinfo=None)
    con.execute(
        "insert into raw.run_results values (?, ?, ?, ?, ?)",
        [summary["run_id"], summary["tenant"], summary["status"], finished, json.dumps(summary, ensure_ascii=False)],
    )


def write_summary(path: Path, summary: dict) -> None:
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
