"""Time `ferry migrate` end to end on synthetic exports, and `ferry.ingest.land.land` alone.

    python -m bench.run                                   # 10k, 100k, 1M rows into SQLite
    python -m bench.run --sizes 10000 --pg-url postgresql://postgres@127.0.0.1:5432/bench
    python -m bench.run --land-only                       # land(): 1M cp1252 ';' CSV, 100k xlsx
    python -m bench.run --sizes 100000,1000000,10000000 --peers   # with dlt beside (make bench-peers)

After each run the floor job (bench/floor.py) does the same file's essential work into the
same target and the table prints Ferry's ratio to it; `--peers` adds dlt's time (rows and
Arrow). A last table shows how each step grows from one size to the next.

Every measurement runs in a child process so that its wall time and peak RSS are its own:
the child is reaped with os.wait4(), whose rusage belongs to that child alone (on Linux,
ru_maxrss is the largest resident set of the child or any descendant it waited for; not the
sum of the process tree), so every 50 ms the resident memory of the child's whole session
(the gate's and the phones' worker processes with it) is summed as well: `tree MB`, the
figure to hold against a memory limit. Results are printed as a table and written to
bench/results/latest.json. Test data is generated once into bench/data/ (git-ignored) and
reused; `--regenerate` writes it again.

This is never part of `make test`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
STEPS = ("land", "transform", "gate", "load", "report")
TENANT = "bench"
QUIET_ENV = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------


def dataset(rows: int, kind: str, seed: int, regenerate: bool) -> tuple[Path, dict]:
    """Path to a generated file (made if missing) and its meta (planted counts)."""
    from bench.generate import generate

    name, kwargs = {
        "zenamu": (f"zenamu_{rows}.csv", dict(encoding="utf-8", delimiter=",", layout="zenamu")),
        "german": (f"german_{rows}.csv", dict(encoding="cp1252", delimiter=";", layout="german")),
        "xlsx": (f"zenamu_{rows}.xlsx", dict(fmt="xlsx", layout="zenamu")),
    }[kind]
    path = DATA / name
    meta_path = Path(str(path) + ".meta.json")
    if not regenerate and path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("rows") == rows and meta.get("seed") == seed:
            return path, meta
    print(f"generating {path.relative_to(ROOT)} ({rows:,} rows) ...", file=sys.stderr, flush=True)
    meta = generate(rows, path, seed=seed, **kwargs)
    print(f"  {meta['seconds']['total']:.1f} s, {meta['bytes'] / 1e6:.1f} MB", file=sys.stderr, flush=True)
    return path, meta


# --------------------------------------------------------------------------------------
# child processes
# --------------------------------------------------------------------------------------


def tree_rss_mb(session: int) -> float:
    """Resident memory of every process in `session` together (Linux /proc), in MB: a run's
    helper processes (the gate's, the phones') count with it."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) != session:  # the session id (after state, ppid, pgrp)
                continue
            with open(f"/proc/{entry.name}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total / 2**20


def run_child(cmd: list[str], env: dict, out_path: Path, err_path: Path, timeout: float) -> dict:
    """Run cmd, return wall seconds, exit code, the child's own peak RSS and the peak of its
    whole process tree sampled every 50 ms (MB)."""
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT, start_new_session=True)
        timed_out = False
        tree_peak, next_sample = 0.0, 0.0
        sampling = sys.platform.startswith("linux")
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if sampling and time.perf_counter() >= next_sample:
                tree_peak = max(tree_peak, tree_rss_mb(proc.pid))
                next_sample = time.perf_counter() + 0.05
            if time.perf_counter() - t0 > timeout and not timed_out:
                timed_out = True
                try:
                    os.killpg(proc.pid, signal.SIGTERM)  # the child's own session, started above
                except ProcessLookupError:
                    pass
            time.sleep(0.005)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    maxrss_kb = usage.ru_maxrss  # kilobytes on Linux
    if sys.platform == "darwin":
        maxrss_kb /= 1024  # bytes there
    return {
        "seconds": round(wall, 3),
        "exit": proc.returncode,
        "timed_out": timed_out,
        "peak_mb": round(maxrss_kb / 1024, 1),
        "tree_peak_mb": round(tree_peak, 1) if sampling else None,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
    }


def child_env() -> dict:
    env = dict(os.environ)
    env.update(QUIET_ENV)
    for k in ("FERRY_HOME", "FERRY_TARGET_URL"):  # the command line decides these
        env.pop(k, None)
    return env


def find_ferry(explicit: str | None) -> str:
    if explicit:
        return explicit
    venv = ROOT / ".venv" / "bin" / "ferry"
    if venv.exists():
        return str(venv)
    found = shutil.which("ferry")
    if not found:
        sys.exit("bench: no ferry executable (run `make venv`, or pass --ferry PATH)")
    return found


def parse_summary(text: str) -> dict | None:
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    start = text.find("{")
    if start >= 0:  # tolerate stray lines before the JSON (they are a bug to report)
        try:
            return json.loads(text[start:])
        except json.JSONDecodeError:
            return None
    return None


def read_timings(home: Path, run_id: str | None) -> dict | None:
    """`<home>/runs/<run_id>/timings.json`: {step: seconds}. None when absent."""
    candidates = []
    if run_id:
        candidates.append(home / "runs" / run_id / "timings.json")
    candidates += (
        sorted((home / "runs").glob("*/timings.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        if (home / "runs").is_dir()
        else []
    )
    for path in candidates:
        if path.is_file():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                return None
            out = {}
            for step, v in raw.items():
                if isinstance(v, dict):  # tolerate {"seconds": x, ...}
                    v = v.get("seconds")
                if isinstance(v, (int, float)):
                    out[str(step)] = round(float(v), 3)
            return out
    return None


# (table, tenant column) of every table the bench tenant leaves rows in, children first
TENANT_ROWS = (
    ("invite_queue", "tenant"),
    ("balances", "tenant"),
    ("appointments", "tenant"),
    ("clients", "tenant"),
    ("accounts", "created_by_tenant"),
    ("change_log", "tenant"),
    ("ferry_runs", "tenant"),
)


def pg_unreachable(url: str) -> str | None:
    """Why the bench cannot connect to the PostgreSQL database `url` (password hidden), or None."""
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=10):
            return None
    except Exception as exc:  # any reason is reported as it is
        from ferry.config import redact_url

        return f"cannot connect to {redact_url(url)}: {str(exc).strip().splitlines()[-1]}"


def reset_pg_tenant(url: str, tenant: str) -> str | None:
    """Remove the bench tenant's rows so every PostgreSQL run is a first load, and VACUUM
    the tables: without it their dead rows piled up run after run and the same load
    varied by 2x."""
    try:
        import psycopg
    except ImportError:
        return "psycopg not installed"
    notes = []
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for table, column in TENANT_ROWS:
                try:
                    conn.execute(f"DELETE FROM {table} WHERE {column} = %s", (tenant,))
                    conn.execute(f"VACUUM ANALYZE {table}")
                except psycopg.errors.UndefinedTable:
                    pass
                except psycopg.Error as e:  # a schema we do not know yet: say so, go on
                    notes.append(f"{table}: {e.__class__.__name__}")
    except psycopg.Error as e:
        return f"cannot connect: {e}".strip()
    return "; ".join(notes) or None


# --------------------------------------------------------------------------------------
# end-to-end runs
# --------------------------------------------------------------------------------------


def bench_migrate(args, ferry: str) -> list[dict]:
    targets = [("sqlite", None)]
    if args.pg_url:
        targets.append(("postgresql", args.pg_url))
    results = []
    for rows in args.sizes:
        path, meta = dataset(rows, "zenamu", args.seed, args.regenerate)
        for target_name, url in targets:
            home = DATA / "homes" / f"{target_name}_{rows}"
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir(parents=True)
            passes = ["first", "rerun"] if args.rerun else ["first"]
            if url:
                note = reset_pg_tenant(url, TENANT)
                if note:
                    print(f"  note: resetting tenant {TENANT!r} in PostgreSQL: {note}", file=sys.stderr)
            for which in passes:
                cmd = [
                    ferry,
                    "migrate",
                    str(path),
                    "--tenant",
                    TENANT,
                    "--home",
                    str(home),
                    "--json",
                    "--max-reject-rate",
                    str(args.max_reject_rate),
                ]
                if url:
                    cmd += ["--target", url]
                label = f"{target_name} {rows:,} rows" + (" (rerun)" if which == "rerun" else "")
                print(f"running ferry migrate: {label} ...", file=sys.stderr, flush=True)
                logs = home / f"bench_{which}"
                res = run_child(
                    cmd, child_env(), logs.with_suffix(".stdout"), logs.with_suffix(".stderr"), args.timeout
                )
                summary = parse_summary(logs.with_suffix(".stdout").read_text(encoding="utf-8", errors="replace"))
                run_id = (summary or {}).get("run_id")
                timings = read_timings(home, run_id)
                stderr_tail = logs.with_suffix(".stderr").read_text(encoding="utf-8", errors="replace")[-2000:]
                result = {
                    "kind": "migrate",
                    "target": target_name,
                    "pass": which,
                    "rows": rows,
                    "file": str(path.relative_to(ROOT)),
                    "file_mb": round(path.stat().st_size / 1e6, 1),
                    **res,
                    "rows_per_second": round(rows / res["seconds"]) if res["seconds"] else None,
                    "status": (summary or {}).get("status"),
                    "run_id": run_id,
                    "steps": timings,
                    "summary_rows": (summary or {}).get("rows"),
                    "expected_rows": meta.get("expected"),
                    "counts_match": counts_match(summary, meta),
                    "stderr_tail": stderr_tail if (res["exit"] not in (0, 1) or not summary) else "",
                }
                if which == "first" and not args.no_floor:
                    result["floor"] = floor_seconds(path, target_name, url)
                if which == "first" and args.peers:
                    result["dlt"] = {m: dlt_result(path, m, target_name, url) for m in ("rows", "arrow")}
                results.append(result)
                print(
                    f"  exit {res['exit']}, {res['seconds']:.1f} s, peak {res['peak_mb']:.0f} MB "
                    f"(process tree {fmt(res['tree_peak_mb'], '.0f')} MB), "
                    f"status {result['status']}",
                    file=sys.stderr,
                    flush=True,
                )
                if result["stderr_tail"]:
                    print(
                        "  stderr (tail):\n    " + result["stderr_tail"].strip().replace("\n", "\n    ")[-1200:],
                        file=sys.stderr,
                    )
            if not args.keep_homes:
                shutil.rmtree(home, ignore_errors=True)
    return results


def floor_seconds(path: Path, target: str, url: str | None) -> dict:
    """The floor job (bench/floor.py) on the same file and target, run right after Ferry."""
    from bench.floor import floor_postgres, floor_sqlite

    print(f"running the floor job: {target} ...", file=sys.stderr, flush=True)
    if target == "sqlite":
        return floor_sqlite(path, DATA / "floor" / f"{path.stem}.sqlite")
    return floor_postgres(path, url)


def dlt_result(path: Path, mode: str, target: str, url: str | None) -> dict:
    """dlt (bench/peers.py, `make bench-peers`) on the same file and target."""
    from bench.peers import dlt_seconds

    print(f"running dlt ({mode}): {target} ...", file=sys.stderr, flush=True)
    return dlt_seconds(path, mode, "sqlite" if target == "sqlite" else "postgres", url)


def counts_match(summary: dict | None, meta: dict) -> bool | None:
    """Do rows.read/rejected/merged/duplicate agree with what the generator planted?"""
    if not summary or not isinstance(summary.get("rows"), dict):
        return None
    want = meta.get("expected") or {}
    got = summary["rows"]
    keys = ("read", "rejected", "merged", "duplicate", "valid")
    return all(got.get(k) == want.get(f"rows.{k}") for k in keys if f"rows.{k}" in want)


# --------------------------------------------------------------------------------------
# land() alone
# --------------------------------------------------------------------------------------


def land_child(file: str, home: str) -> int:
    """Runs inside the child: import, then time ferry.ingest.land.land() alone; print JSON."""
    t0 = time.perf_counter()
    from ferry.config import RunOptions
    from ferry.ingest.land import land  # written by the pipeline authors

    t_import = time.perf_counter() - t0
    Path(home).mkdir(parents=True, exist_ok=True)
    opts = RunOptions(file=Path(file), tenant=TENANT, home=Path(home))
    try:
        from ferry.run import new_run_id

        run_id = new_run_id()
    except ImportError:
        run_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    t1 = time.perf_counter()
    result = land(opts, run_id)
    t_land = time.perf_counter() - t1
    print(
        json.dumps(
            {
                "import_seconds": round(t_import, 3),
                "land_seconds": round(t_land, 3),
                "run_id": run_id,
                "result": describe(result),
            },
            default=str,
        )
    )
    return 0


def describe(obj) -> object:
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return json.loads(json.dumps(dataclasses.asdict(obj), default=str))
    return str(obj)[:500]


def bench_land(args) -> list[dict]:
    results = []
    for kind, rows in (("german", args.land_csv_rows), ("xlsx", args.land_xlsx_rows)):
        if rows <= 0:
            continue
        path, _meta = dataset(rows, kind, args.seed, args.regenerate)
        home = DATA / "homes" / f"land_{kind}_{rows}"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        print(f"timing land(): {path.name} ...", file=sys.stderr, flush=True)
        cmd = [sys.executable, "-m", "bench.run", "--land-child", str(path), "--home", str(home)]
        res = run_child(cmd, child_env(), home / "bench.stdout", home / "bench.stderr", args.timeout)
        out = parse_summary((home / "bench.stdout").read_text(encoding="utf-8", errors="replace")) or {}
        err = (home / "bench.stderr").read_text(encoding="utf-8", errors="replace")[-2000:]
        land_s = out.get("land_seconds")
        results.append(
            {
                "kind": "land",
                "file": str(path.relative_to(ROOT)),
                "format": "xlsx" if kind == "xlsx" else "csv cp1252 ';'",
                "rows": rows,
                "file_mb": round(path.stat().st_size / 1e6, 1),
                **res,
                "import_seconds": out.get("import_seconds"),
                "land_seconds": land_s,
                "rows_per_second": round(rows / land_s) if land_s else None,
                "result": out.get("result"),
                "stderr_tail": err if res["exit"] != 0 else "",
            }
        )
        print(f"  exit {res['exit']}, land {land_s} s, peak {res['peak_mb']:.0f} MB", file=sys.stderr)
        if res["exit"] != 0:
            print("  stderr (tail):\n    " + err.strip().replace("\n", "\n    ")[-1200:], file=sys.stderr)
        if not args.keep_homes:
            shutil.rmtree(home, ignore_errors=True)
    return results


# --------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------


def fmt(v, spec: str = "") -> str:
    if v is None:
        return "–"
    return format(v, spec)


def print_table(results: list[dict]) -> None:
    mig = [r for r in results if r["kind"] == "migrate"]
    if mig:
        extra_steps = sorted({s for r in mig for s in (r["steps"] or {})} - set(STEPS))
        steps = list(STEPS) + extra_steps
        head = ["target", "rows", "status", "exit", "seconds", "rows/s"] + steps + ["peak MB", "tree MB", "counts"]
        body = []
        for r in mig:
            st = r["steps"] or {}
            body.append(
                [
                    r["target"] + (" rerun" if r["pass"] == "rerun" else ""),
                    f"{r['rows']:,}",
                    r["status"] or "–",
                    str(r["exit"]),
                    fmt(r["seconds"], ".1f"),
                    fmt(r["rows_per_second"], ",d"),
                    *[fmt(st.get(s), ".2f") for s in steps],
                    fmt(r["peak_mb"], ".0f"),
                    fmt(r.get("tree_peak_mb"), ".0f"),
                    {True: "ok", False: "DIFF", None: "–"}[r["counts_match"]],
                ]
            )
        _table(head, body)
        print_peers(mig)
        print_growth(mig, steps)
    land = [r for r in results if r["kind"] == "land"]
    if land:
        head = ["file", "format", "rows", "MB", "exit", "import s", "land s", "rows/s", "child s", "peak MB"]
        body = [
            [
                Path(r["file"]).name,
                r["format"],
                f"{r['rows']:,}",
                fmt(r["file_mb"], ".1f"),
                str(r["exit"]),
                fmt(r["import_seconds"], ".2f"),
                fmt(r["land_seconds"], ".2f"),
                fmt(r["rows_per_second"], ",d"),
                fmt(r["seconds"], ".1f"),
                fmt(r["peak_mb"], ".0f"),
            ]
            for r in land
        ]
        _table(head, body)


def print_peers(mig: list[dict]) -> None:
    """Ferry's wall time against the floor job's (and dlt's) on the same file and target.
    Ferry's seconds include its interpreter's start, the floor's do not."""
    rows = [r for r in mig if r.get("floor") or r.get("dlt")]
    if not rows:
        return
    head = ["target", "rows", "ferry s", "floor s", "ferry / floor", "dlt rows s", "dlt arrow s"]
    body = []
    for r in rows:
        floor = (r.get("floor") or {}).get("seconds")
        dlt = r.get("dlt") or {}
        body.append(
            [
                r["target"],
                f"{r['rows']:,}",
                fmt(r["seconds"], ".1f"),
                fmt(floor, ".1f"),
                fmt(r["seconds"] / floor if floor else None, ".2f"),
                *[fmt((dlt.get(m) or {}).get("seconds"), ".1f") for m in ("rows", "arrow")],
            ]
        )
    _table(head, body)


def print_growth(mig: list[dict], steps: list[str]) -> None:
    """Each step's time at one size over its time at the size before, beside the rows'
    ratio: a step that grows faster than the rows is not linear."""
    first = sorted((r for r in mig if r["pass"] == "first" and r["steps"]), key=lambda r: (r["target"], r["rows"]))
    pairs = [(a, b) for a, b in itertools.pairwise(first) if a["target"] == b["target"]]
    if not pairs:
        return
    head = ["target", "rows", "× rows", *[f"× {s}" for s in steps], "× total", "× tree MB"]
    body = []
    for a, b in pairs:
        ratio = lambda x, y: fmt(y / x if x and y else None, ".1f")  # noqa: E731
        body.append(
            [
                a["target"],
                f"{a['rows']:,} → {b['rows']:,}",
                ratio(a["rows"], b["rows"]),
                *[ratio(a["steps"].get(s), b["steps"].get(s)) for s in steps],
                ratio(a["seconds"], b["seconds"]),
                ratio(a.get("tree_peak_mb"), b.get("tree_peak_mb")),
            ]
        )
    _table(head, body)


def _table(head: list[str], body: list[list[str]]) -> None:
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    print(line(head))
    print("  ".join("-" * w for w in widths))
    for row in body:
        print(line(row))
    print()


def machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        with open("/proc/meminfo") as f:
            info["mem_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


def write_results(results: list[dict], args) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "latest.json"
    doc = {
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "args": {k: v for k, v in vars(args).items() if k not in ("pg_url", "land_child")},
        "pg": bool(args.pg_url),
        "results": results,
    }
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sizes", default="10000,100000,1000000", help="comma-separated row counts (default: 10000,100000,1000000)"
    )
    ap.add_argument(
        "--pg-url", default=None, help="also load into this PostgreSQL database (tenant 'bench' is reset first)"
    )
    ap.add_argument(
        "--land-only", action="store_true", help="time ferry.ingest.land.land() alone on a cp1252 ';' CSV and an xlsx"
    )
    ap.add_argument("--land-csv-rows", type=int, default=1_000_000)
    ap.add_argument("--land-xlsx-rows", type=int, default=100_000)
    ap.add_argument(
        "--rerun",
        action="store_true",
        help="run each file a second time against the same home/target (should change nothing)",
    )
    ap.add_argument("--no-floor", action="store_true", help="skip the floor job (bench/floor.py) after each run")
    ap.add_argument("--peers", action="store_true", help="also time dlt on each file (needs `make bench-peers`)")
    ap.add_argument("--max-reject-rate", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--regenerate", action="store_true", help="write the data files again")
    ap.add_argument("--keep-homes", action="store_true", help="keep bench/data/homes/* for inspection")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per child run (default 1800)")
    ap.add_argument("--ferry", default=None, help="ferry executable (default: .venv/bin/ferry)")
    ap.add_argument("--land-child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--home", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.land_child:
        return land_child(args.land_child, args.home)

    try:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error("--sizes takes comma-separated whole numbers")
    if args.pg_url and not args.land_only and (problem := pg_unreachable(args.pg_url)):
        # found now, not after the SQLite runs as a traceback from the floor job
        ap.error(f"--pg-url: {problem}; create the database first (createdb) or name another")
    os.environ.update(QUIET_ENV)
    DATA.mkdir(parents=True, exist_ok=True)

    if args.land_only:
        results = bench_land(args)
    else:
        results = bench_migrate(args, find_ferry(args.ferry))
    print()
    print_table(results)
    out = write_results(results, args)
    print(f"results: {out.relative_to(ROOT)}")
    return 0 if all(r["exit"] in (0, 1) and not r.get("timed_out") for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
