"""Time one export migrated by tenant after tenant into one home and one target, so that a
step whose cost grows with what the target already holds (other tenants' clients and
balances), not with the run, shows as a load that gets slower from tenant to tenant.

    python -m bench.shared_target                      # 5 tenants x 1M rows, SQLite
    python -m bench.shared_target --tenants 3 --rows 100000 --pg-url postgresql://postgres@127.0.0.1:5432/bench
    python -m bench.shared_target --ferry /path/to/other/.venv/bin/ferry   # an older Ferry

Each run is a child process timed by bench/run.py's `run_child`; its steps come from its
timings.json. The PostgreSQL database is emptied of Ferry's tables first (every tenant's
rows go). Results are printed and written to bench/results/shared_target.json. Never part
of `make test`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys

from bench.run import DATA, RESULTS, child_env, dataset, find_ferry, machine, parse_summary, read_timings, run_child


def empty_pg(url: str) -> None:
    """Drop Ferry's tables (those its PostgreSQL schema creates): the first tenant starts
    on an empty database, as with SQLite."""
    import psycopg

    from ferry.target.db import schema_script

    tables = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", schema_script("postgresql"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {', '.join(tables)} CASCADE")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tenants", type=int, default=5)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pg-url", default=None, help="a PostgreSQL database to load into instead of SQLite")
    ap.add_argument("--ferry", default=None, help="the ferry executable (default: this checkout's .venv)")
    ap.add_argument("--max-reject-rate", type=float, default=0.05)
    ap.add_argument("--timeout", type=float, default=3600)
    args = ap.parse_args(argv)

    ferry = find_ferry(args.ferry)
    path, _ = dataset(args.rows, "zenamu", args.seed, regenerate=False)
    home = DATA / "homes" / "shared_target"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    if args.pg_url:
        empty_pg(args.pg_url)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    for n in range(1, args.tenants + 1):
        cmd = [ferry, "migrate", str(path), "--tenant", f"tenant-{n}", "--home", str(home), "--json"]
        cmd += ["--max-reject-rate", str(args.max_reject_rate)]
        if args.pg_url:
            cmd += ["--target", args.pg_url]
        out, err = RESULTS / "shared_target.out", RESULTS / "shared_target.err"
        res = run_child(cmd, child_env(), out, err, args.timeout)
        summary = parse_summary(out.read_text(encoding="utf-8", errors="replace"))
        steps = read_timings(home, (summary or {}).get("run_id")) or {}
        row = {"tenant": n, **res, "status": (summary or {}).get("status"), "steps": steps}
        results.append(row)
        print(
            f"tenant {n}: {res['seconds']:7.1f} s  exit {res['exit']}  {row['status']}  "
            f"land {steps.get('land', 0):.2f}  transform {steps.get('transform', 0):.2f}  "
            f"load {steps.get('load', 0):.2f}  tree {res.get('tree_peak_mb') or 0:,.0f} MB",
            flush=True,
        )
        if res["exit"] != 0:
            print(err.read_text(encoding="utf-8", errors="replace")[-2000:], file=sys.stderr)
            break
    report = {"machine": machine(), "rows": args.rows, "target": "postgresql" if args.pg_url else "sqlite"}
    (RESULTS / "shared_target.json").write_text(json.dumps({**report, "runs": results}, indent=2))
    shutil.rmtree(home, ignore_errors=True)
    return 0 if all(r["exit"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
