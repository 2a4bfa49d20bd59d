"""Time a peer tool, dlt, on the same file as Ferry and the floor job, so that a user's other
choice stands beside Ferry's time (issue 17).

    make bench-peers                                      # once: bench/.peers-venv with pinned dlt
    python -m bench.peers bench/data/zenamu_100000.csv    # rows and arrow into SQLite
    python -m bench.peers bench/data/zenamu_100000.csv --pg-url postgresql://postgres@127.0.0.1:5432/bench

dlt lives in its own virtualenv, bench/.peers-venv, because its dependencies (SQLAlchemy
2.1, psycopg2, ...) must never move Ferry's pinned ones; bench/dlt_job.py runs there as a
child process and imports nothing from Ferry. `seconds` is that child's wall time from spawn
to exit, imports included, as bench/run.py measures `ferry migrate`; the child's own
import and pipeline.run() times come with it. Every run starts from nothing: a fresh SQLite
file, or the `dlt_peer` schema dropped before and after in PostgreSQL, and a fresh folder
under bench/data/dlt/ for dlt's pipeline state, data and temporary files (DLT_DATA_DIR,
pipelines_dir, TMPDIR), so that nothing lands in the home directory or /tmp; telemetry is
off. This is never part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from bench.run import parse_summary, run_child

ROOT = Path(__file__).resolve().parent.parent
PEERS_PYTHON = ROOT / "bench" / ".peers-venv" / "bin" / "python"
JOB = ROOT / "bench" / "dlt_job.py"
WORK = ROOT / "bench" / "data" / "dlt"
DATASET = "dlt_peer"  # bench/dlt_job.py's dataset: a schema in PostgreSQL


def dlt_seconds(csv_path: Path, mode: str, destination: str, pg_url: str | None, timeout: float = 1800) -> dict:
    """One dlt run of `csv_path` (mode "rows" or "arrow") into a fresh "sqlite" file or
    "postgres" schema: {"seconds", "rows", ...}, or {"error": ...}."""
    if mode not in ("rows", "arrow") or destination not in ("sqlite", "postgres"):
        return {"error": f"unknown mode {mode!r} or destination {destination!r}"}
    if not PEERS_PYTHON.exists():
        return {"error": f"no {PEERS_PYTHON.relative_to(ROOT)}: run `make bench-peers`"}
    if destination == "postgres" and not pg_url:
        return {"error": "the postgres destination needs a PostgreSQL URL"}
    work = WORK / f"{mode}_{destination}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "tmp").mkdir(parents=True)
    if destination == "sqlite":
        target = f"sqlite:///{work / 'clients.sqlite'}"
    else:
        target = pg_url
        note = drop_dataset(pg_url)
        if note:
            return {"error": note}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "DLT_"))}
    env.update(
        {
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "DLT_DATA_DIR": str(work / "data"),
            "DLT_PROJECT_DIR": str(work),
            "DLT_LOCAL_DIR": str(work),
            "TMPDIR": str(work / "tmp"),
        }
    )
    cmd = [str(PEERS_PYTHON), str(JOB), str(Path(csv_path).resolve())]
    cmd += ["--mode", mode, "--destination", destination, "--target", target, "--work", str(work / "pipelines")]
    try:
        res = run_child(cmd, env, work / "job.stdout", work / "job.stderr", timeout)
    finally:
        if destination == "postgres":
            drop_dataset(pg_url)
    out = parse_summary((work / "job.stdout").read_text(encoding="utf-8", errors="replace")) or {}
    if res["exit"] != 0 or "rows" not in out:
        tail = (work / "job.stderr").read_text(encoding="utf-8", errors="replace")[-1500:]
        return {"error": f"dlt job exited {res['exit']}: {tail.strip()}", **res}
    return {"tool": "dlt", "mode": mode, "destination": destination, **res, **out}


def drop_dataset(url: str) -> str | None:
    """Drop dlt_job's schema (and a staging one) so every PostgreSQL run is a first load."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for schema in (DATASET, f"{DATASET}_staging"):
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except psycopg.Error as e:
        return f"cannot reset {DATASET} in PostgreSQL: {e}".strip()
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.split("\n\n")[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--pg-url", help="also the postgres destination, into this database")
    ap.add_argument("--modes", default="rows,arrow", help="comma-separated: rows, arrow")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    destinations = ["sqlite"] + (["postgres"] if args.pg_url else [])
    results = []
    for destination in destinations:
        for mode in args.modes.split(","):
            print(f"dlt {mode} -> {destination} ...", file=sys.stderr, flush=True)
            results.append(
                {"mode": mode, "destination": destination, **dlt_seconds(args.file, mode, destination, args.pg_url)}
            )
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        if "error" in r:
            print(f"dlt {r['mode']:<5} {r['destination']:<8} error: {r['error']}")
        else:
            print(
                f"dlt {r['mode']:<5} {r['destination']:<8} {r['seconds']:8.2f} s  {r['rows']:>10,} rows written "
                f"(import {r['import_seconds']:.2f} s, run {r['run_seconds']:.2f} s, "
                f"peak {r['peak_mb']:.0f} MB, tree {r['tree_peak_mb']} MB)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
