"""The run history, read from each run folder's summary.json (no warehouse lock needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from ferry.errors import InputError


def list_runs(home: Path, tenant: str | None = None, target_url: str | None = None) -> list[dict]:
    """The home's runs, newest first, from their summary.json; a run folder without one
    whose load committed in `target_url` (its report could not be written) is listed from
    the target's `ferry_runs` row, so a loaded run never goes missing."""
    items = _listed(home, tenant)
    listed = {i["run_id"] for i in items}
    unreported = [p.name for p in (Path(home) / "runs").glob("*") if p.is_dir() and p.name not in listed]
    if target_url and unreported:
        items += [i for i in committed_runs(target_url, unreported) if not tenant or i["tenant"] == tenant]
        items.sort(key=lambda i: i["run_id"], reverse=True)
    return items


def committed_runs(target_url: str, run_ids: list[str]) -> list[dict]:
    """History items for these runs from the target's `ferry_runs` (read-only; none when
    the target does not exist)."""
    from sqlalchemy import bindparam, text

    from ferry.target.db import parse_target, read_transaction

    with read_transaction(parse_target(target_url), "the run history") as conn:
        if conn is None:
            return []
        rows = (
            conn.execute(
                text(
                    "SELECT run_id, tenant, status, undone_at, counts FROM ferry_runs WHERE run_id IN :ids"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": list(run_ids)},
            )
            .mappings()
            .all()
        )
    items = []
    for row in rows:
        counts = json.loads(row["counts"] or "{}") if isinstance(row["counts"], str) else dict(row["counts"] or {})
        items.append(
            {
                "run_id": row["run_id"],
                "started_at": _started(row["run_id"]),
                "tenant": row["tenant"],
                "file": None,
                "status": "loaded",
                "rows": {"read": None, "loaded": None, "rejected": None},
                "clients": {k: counts.get(k, 0) for k in ("new", "updated", "unchanged")},
                "invites_queued": counts.get("invites", 0),
                "report": None,
                "from_target": True,
            }
        )
        if row["undone_at"]:
            items[-1]["undone_at"] = str(row["undone_at"])
    return items


def _listed(home: Path, tenant: str | None) -> list[dict]:
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
