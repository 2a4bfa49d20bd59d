"""The run history, read from each run folder's summary.json (no warehouse lock needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from ferry.errors import InputError


def list_runs(home: Path, tenant: str | None = None) -> list[dict]:
    items = []
    for path in sorted((Path(home) / "runs").glob("*/summary.json"), reverse=True):
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if tenant and summary.get("tenant") != tenant:
            continue
        items.append(
            {
                "run_id": summary["run_id"],
                "started_at": _started(summary["run_id"]),
                "tenant": summary["tenant"],
                "file": summary["source"]["file"],
                "status": summary["status"],
                "rows": summary["rows"],
                "clients": summary["clients"],
                "invites_queued": summary.get("invites_queued", 0),
                "report": summary["paths"].get("report"),
            }
        )
        if summary.get("error"):
            items[-1]["error"] = summary["error"]
        undone = read_undo(path.parent)
        if undone:
            items[-1]["undone_at"] = undone.get("undone_at")
    return items


def _started(run_id: str) -> str | None:
    stamp = run_id.split("-", 1)[0]
    if len(stamp) == 16 and stamp.endswith("Z"):
        return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]} UTC"
    return None


def load_run_summary(home: Path, run_id: str) -> dict:
    path = Path(home) / "runs" / run_id / "summary.json"
    if "/" in run_id or ".." in run_id or not path.is_file():
        raise InputError(f"no run '{run_id}' in {Path(home) / 'runs'} (see `ferry runs`)")
    return json.loads(path.read_text(encoding="utf-8"))


UNDO_FILE = "undo.json"


def record_undo(home: Path, run_id: str, target: str, counts: dict) -> Path | None:
    """After `ferry undo`: note it in the run's folder (when this home has it), so the
    history shows the run as undone. The summary itself stays as the run wrote it."""
    run_dir = Path(home) / "runs" / run_id
    if "/" in run_id or ".." in run_id or not (run_dir / "summary.json").is_file():
        return None
    path = run_dir / UNDO_FILE
    path.write_text(
        json.dumps(
            {
                "run_id": run_id,
                "target": target,
                "counts": counts,
                "undone_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=2,
            default=str,
        ),
        encoding="utf-8",
    )
    return path


def read_undo(run_dir: Path) -> dict | None:
    try:
        return json.loads((Path(run_dir) / UNDO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
