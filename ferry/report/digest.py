"""A run's summary (docs/CONTRACT.md §7) in the shapes an orchestrator shows: a few log
lines, a markdown table, the exit code its status means and why a run did not load.
Plain functions of the summary, so the Prefect flow stays wiring."""

from __future__ import annotations

from pathlib import Path

ROW_KEYS = ("read", "valid", "rejected", "merged", "duplicate", "loaded")


def exit_code(summary: dict) -> int:
    """The exit status the summary's status means (docs/CONTRACT.md §1)."""
    return {"loaded": 0, "dry_run": 0, "blocked": 1}.get(summary["status"], 3)


def failed_checks(summary: dict) -> list[str]:
    return [c["name"] for c in summary["gate"]["checks"] if not c["passed"]]


def not_loaded_reason(summary: dict) -> str | None:
    """Why the run did not do what it was asked: the gate's failed checks of a blocked run,
    the target's error of a failed one; None for loaded and dry_run."""
    if summary["status"] == "blocked":
        return f"the gate blocked the load: {', '.join(failed_checks(summary)) or 'see the report'}"
    if summary["status"] == "failed":
        return f"the target failed: {summary.get('error') or 'see the report'}"
    return None


def log_lines(summary: dict) -> list[str]:
    """The run's counts, the gate's verdict and where the report is, one fact a line."""
    rows, c = summary["rows"], summary["clients"]
    gate = "passed" if summary["gate"]["passed"] else f"blocked ({', '.join(failed_checks(summary))})"
    lines = [
        f"run {summary['run_id']} of tenant {summary['tenant']}: {summary['status']}",
        "rows " + ", ".join(f"{k} {rows[k]}" for k in ROW_KEYS),
        f"clients new {c['new']}, updated {c['updated']}, unchanged {c['unchanged']}; "
        f"invitations queued {summary['invites_queued']}",
        f"gate {gate}",
    ]
    if summary.get("error"):
        lines.append(f"target failed: {summary['error']}")
    lines.append(f"report: {summary['paths']['report']}")
    return lines


def markdown(summary: dict) -> str:
    """The summary as a markdown table with a link to report.html."""
    rows, c = summary["rows"], summary["clients"]
    report = Path(summary["paths"]["report"])
    table = [
        f"## Ferry run `{summary['run_id']}`: **{summary['status']}**",
        "",
        "| | |",
        "|---|---|",
        f"| tenant | {_cell(summary['tenant'])} |",
        f"| file | {_cell(Path(summary['source']['file']).name)} ({summary['source']['format']}) |",
        *(f"| rows {k} | {rows[k]} |" for k in ROW_KEYS),
        f"| clients new / updated / unchanged | {c['new']} / {c['updated']} / {c['unchanged']} |",
        f"| invitations queued | {summary['invites_queued']} |",
        *(f"| balance {_cell(k)} | {v} |" for k, v in summary["balances"].items()),
        f"| gate | {'passed' if summary['gate']['passed'] else 'blocked: ' + ', '.join(failed_checks(summary))} |",
    ]
    if summary.get("error"):
        table.append(f"| error | {_cell(summary['error'])} |")
    table += ["", f"Report: [{report.name}]({report.as_uri()}) (`{report}`)"]
    return "\n".join(table) + "\n"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")
