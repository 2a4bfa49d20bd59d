"""Time `ferry batch` on many small tenants, and one 3-row `ferry migrate` for comparison,
plain and through a running Prefect server (`--no-prefect` skips that one).

    python -m bench.batch                         # 100 tenants x 200 rows, --concurrency 2
    python -m bench.batch --tenants 20 --rows 500 --concurrency 4

Both commands run as child processes timed by bench/run.py's `run_child` (wall time, and
the peak of the summed resident memory of the child's whole session: the batch's workers
and their gate processes with it). Per-run seconds come from each run's timings.json.
Results are printed and written to bench/results/batch.json. Never part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

from bench.run import DATA, RESULTS, ROOT, child_env, find_ferry, machine, parse_summary, read_timings, run_child


def make_files(tenants: int, rows: int, seed: int) -> Path:
    """`tenants` zenamu exports of `rows` rows and their manifest (made once, then reused)."""
    from bench.generate import generate

    folder = DATA / f"batch_{tenants}x{rows}"
    manifest = folder / "manifest.csv"
    if manifest.is_file():
        return manifest
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["file,tenant,max_reject_rate"]
    for i in range(tenants):
        name = f"tenant_{i:03d}.csv"
        generate(rows, folder / name, seed=seed + i, layout="zenamu")
        lines.append(f"{name},t{i:03d},0.1")
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def tiny_file() -> Path:
    path = DATA / "tiny_3.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "name and surname,email,entries,credits\n"
        "Ada Alpha,ada@alpha.cz,3,100\nBen Alpha,ben@alpha.cz,1,0\nCid Alpha,cid@alpha.cz,0,50\n",
        encoding="utf-8",
    )
    return path


def tiny_through_prefect(ferry: str, homes: Path, timeout: float) -> dict:
    """The 3-row run as the Prefect flow against a running `prefect server start` (started
    first on a free port, its state in the bench home; its start-up is not timed)."""
    import socket
    import subprocess
    import time
    import urllib.request

    home = homes / "batch_tiny_prefect"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api"
    env = dict(child_env(), PREFECT_HOME=str(home / "prefect"), PREFECT_API_URL=url)
    prefect = str(Path(ferry).with_name("prefect"))
    with open(home / "server.log", "wb") as log:
        server = subprocess.Popen(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("prefect server did not start (see server.log)") from None
                    time.sleep(0.5)
            print("running ferry migrate: 3 rows through the Prefect server ...", file=sys.stderr, flush=True)
            cmd = [ferry, "migrate", str(tiny_file()), "--tenant", "tiny", "--home", str(home), "--json"]
            res = run_child(cmd, env, home / "bench.stdout", home / "bench.stderr", timeout)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return res


def per_step_medians(timings: list[dict]) -> dict[str, float]:
    steps = sorted({s for t in timings for s in t})
    return {s: round(statistics.median(t.get(s, 0.0) for t in timings), 3) for s in steps}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.batch", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--ferry", default=None, help="ferry executable (default: .venv/bin/ferry)")
    ap.add_argument("--no-prefect", dest="prefect", action="store_false", help="skip the run through a Prefect server")
    args = ap.parse_args(argv)
    ferry = find_ferry(args.ferry)
    manifest = make_files(args.tenants, args.rows, args.seed)
    homes = DATA / "homes"
    results = {"machine": machine(), "tenants": args.tenants, "rows": args.rows, "concurrency": args.concurrency}

    home = homes / "batch"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    print(f"running ferry batch: {args.tenants} tenants x {args.rows} rows ...", file=sys.stderr, flush=True)
    cmd = [ferry, "batch", str(manifest), "--concurrency", str(args.concurrency), "--home", str(home), "--json"]
    res = run_child(cmd, child_env(), home / "bench.stdout", home / "bench.stderr", args.timeout)
    doc = parse_summary((home / "bench.stdout").read_text(encoding="utf-8", errors="replace")) or {}
    runs = doc.get("runs") or []
    timings = [t for r in runs if (t := read_timings(home, r.get("run_id")))]
    run_seconds = [round(sum(t.values()), 3) for t in timings]
    results["batch"] = {
        **res,
        "counts": doc.get("counts"),
        "seconds_per_run": round(res["seconds"] / len(runs), 3) if runs else None,
        "median_run_seconds": statistics.median(run_seconds) if run_seconds else None,
        "median_step_seconds": per_step_medians(timings) if timings else None,
    }

    tiny_home = homes / "batch_tiny"
    shutil.rmtree(tiny_home, ignore_errors=True)
    tiny_home.mkdir(parents=True)
    print("running ferry migrate: 3 rows ...", file=sys.stderr, flush=True)
    cmd = [ferry, "migrate", str(tiny_file()), "--tenant", "tiny", "--home", str(tiny_home), "--json"]
    res = run_child(cmd, child_env(), tiny_home / "bench.stdout", tiny_home / "bench.stderr", args.timeout)
    summary = parse_summary((tiny_home / "bench.stdout").read_text(encoding="utf-8", errors="replace")) or {}
    results["migrate_3_rows"] = {
        **res,
        "status": summary.get("status"),
        "steps": read_timings(tiny_home, summary.get("run_id")),
    }

    if args.prefect:
        results["migrate_3_rows_prefect"] = tiny_through_prefect(ferry, homes, args.timeout)

    b, t = results["batch"], results["migrate_3_rows"]
    print(
        f"\nferry batch, {args.tenants} x {args.rows} rows, --concurrency {args.concurrency}: exit {b['exit']}, "
        f"{b['seconds']:.1f} s wall, {b['seconds_per_run']} s per run, median run {b['median_run_seconds']} s, "
        f"process tree peak {b['tree_peak_mb']} MB, counts {b['counts']}"
    )
    print(f"  median seconds per step: {b['median_step_seconds']}")
    print(
        f"ferry migrate, 3 rows: exit {t['exit']}, {t['seconds']:.1f} s wall, process tree peak "
        f"{t['tree_peak_mb']} MB, steps {t['steps']}"
    )
    if args.prefect:
        p = results["migrate_3_rows_prefect"]
        print(
            f"ferry migrate, 3 rows, through a running Prefect server: exit {p['exit']}, {p['seconds']:.1f} s wall "
            f"(the server's start not counted), process tree peak {p['tree_peak_mb']} MB"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "batch.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"results: {out.relative_to(ROOT)}")
    return 0 if b["exit"] in (0, 1) and not b["timed_out"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
