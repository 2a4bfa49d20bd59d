"""The evidence of a send run (docs/CONTRACT.md §13): besides the target's `invite_sends`
(written with each outcome), every `ferry invites send` leaves

- `<home>/runs/<send_id>/send.json` — the run: tenant, channel, options (URLs without
  passwords), counts, error, times; `ferry runs show SEND_ID` prints it;
- `<home>/runs/<send_id>/sends.csv` — one line per outcome: time, invitation, e-mail,
  outcome, attempt, language, Message-ID, error (formula-safe);
- `invites.send_runs` and `invites.sends` in `<home>/warehouse.duckdb`, for analysts,
  appended under the home's warehouse lock (a send waits for a migration using it).

A send folder has no summary.json, so `ferry runs` (the migrations) does not list it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from ferry.invites.send import SendOptions, SendResult
from ferry.report.csvsafe import FORMULA_PREFIXES, write_safe_csv

SEND_FILE = "send.json"
SENDS_CSV = "sends.csv"
LOG_COLUMNS = ("logged_at", "invite_id", "client_id", "email", "outcome", "attempt", "language", "message_id", "error")

WAREHOUSE_DDL = """
CREATE SCHEMA IF NOT EXISTS invites;
CREATE TABLE IF NOT EXISTS invites.send_runs (
    send_id VARCHAR, tenant VARCHAR, channel VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
    sent INTEGER, failed INTEGER, skipped INTEGER, pending INTEGER, deferred INTEGER,
    exit_code INTEGER, error VARCHAR, options VARCHAR);
CREATE TABLE IF NOT EXISTS invites.sends (
    send_id VARCHAR, tenant VARCHAR, channel VARCHAR, logged_at TIMESTAMPTZ, invite_id BIGINT, client_id BIGINT,
    email VARCHAR, outcome VARCHAR, attempt INTEGER, language VARCHAR, message_id VARCHAR, error VARCHAR);
"""


def summary(opts: SendOptions, result: SendResult) -> dict:
    return {
        "send_id": result.send_id,
        "kind": "invites_send",
        "tenant": result.tenant,
        "channel": result.channel,
        "status": "sent" if result.exit_code == 0 else "incomplete",
        "counts": {**result.counts(), "deferred": result.deferred},
        "exit_code": result.exit_code,
        "error": result.error,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "options": opts.shown(),
    }


def write(home: Path, opts: SendOptions, result: SendResult) -> Path:
    """The run folder and the warehouse rows; returns the folder."""
    folder = Path(home) / "runs" / result.send_id
    folder.mkdir(parents=True, exist_ok=True)
    data = summary(opts, result)
    rows = [
        (
            r.logged_at or result.finished_at,
            r.invite_id,
            r.client_id,
            r.email,
            r.outcome,
            r.attempt,
            r.language,
            r.message_id,
            r.error,
        )
        for r in result.log
    ]
    write_safe_csv(folder / SENDS_CSV, LOG_COLUMNS, rows)
    data["paths"] = {"run_dir": str(folder), "sends": str(folder / SENDS_CSV)}
    _write_json(folder, data)
    try:
        data["paths"]["warehouse"] = str(to_warehouse(Path(home), data["send_id"], data["tenant"]))
    except Exception as exc:  # the target's invite_sends has every outcome; the next send catches up
        data["warehouse_error"] = f"{type(exc).__name__}: {exc}"
    _write_json(folder, data)
    return folder


def _write_json(folder: Path, data: dict) -> None:
    (folder / SEND_FILE).write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")


def to_warehouse(home: Path, send_id: str, tenant: str) -> Path:
    """Append every send run of the home that the warehouse does not hold yet (this one, and
    any an earlier send could not write), in one transaction under the warehouse lock."""
    import duckdb

    from ferry.warehouse import WarehouseLock

    path = home / "warehouse.duckdb"
    with WarehouseLock(home, send_id, tenant):
        con = duckdb.connect(str(path))
        try:
            con.execute(WAREHOUSE_DDL)
            known = {r[0] for r in con.execute("SELECT send_id FROM invites.send_runs").fetchall()}
            con.execute("BEGIN")
            for folder in sorted((home / "runs").glob(f"*/{SEND_FILE}")):
                if folder.parent.name in known:
                    continue
                data, rows = read(home, folder.parent.name)
                c = data["counts"]
                con.execute(
                    "INSERT INTO invites.send_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        data["send_id"],
                        data["tenant"],
                        data["channel"],
                        data["started_at"] or None,
                        data["finished_at"] or None,
                        c["sent"],
                        c["failed"],
                        c["skipped"],
                        c["pending"],
                        c["deferred"],
                        data["exit_code"],
                        data["error"],
                        json.dumps(data["options"], default=str),
                    ],
                )
                if rows:
                    con.executemany(
                        "INSERT INTO invites.sends VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [(data["send_id"], data["tenant"], data["channel"], *_typed(r)) for r in rows],
                    )
            con.execute("COMMIT")
        finally:
            con.close()
    return path


def _plain(value: str) -> str | None:
    """A sends.csv cell as it was before the formula-safe prefix; '' is NULL."""
    if value == "":
        return None
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def _typed(row: dict) -> tuple:
    values = {k: _plain(row.get(k, "")) for k in LOG_COLUMNS}
    for k in ("invite_id", "client_id", "attempt"):
        values[k] = int(values[k]) if values[k] is not None else None
    return tuple(values[k] for k in LOG_COLUMNS)


def is_send_run(home: Path, run_id: str) -> bool:
    return "/" not in run_id and ".." not in run_id and (Path(home) / "runs" / run_id / SEND_FILE).is_file()


def read(home: Path, run_id: str) -> tuple[dict, list[dict]]:
    import csv

    folder = Path(home) / "runs" / run_id
    data = json.loads((folder / SEND_FILE).read_text(encoding="utf-8"))
    try:
        with open(folder / SENDS_CSV, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        rows = []
    return data, rows


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
