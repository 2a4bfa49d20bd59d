"""Benchmark of `ferry invites send`: N invitations (default 10k) to a local SMTP server
(aiosmtpd, in a process of its own so it never shares a core's GIL with the relay), through
the real CLI, into SQLite and optionally PostgreSQL; prints messages per second.

    .venv/bin/python -m bench.invites                       # 10k, SQLite, one relay
    .venv/bin/python -m bench.invites --relays 2 --pg-url postgresql://postgres@127.0.0.1:5432/bench

Never part of `make test`. Results go to bench/results/invites.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FERRY = str(Path(sys.executable).with_name("ferry"))


def _serve(port: int, count, ready) -> None:
    """The SMTP server's process: accept everything, count messages."""
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fill(url: str, tenant: str, n: int) -> None:
    """n clients with a balance and a pending invitation each, set-based."""
    from sqlalchemy import text

    from ferry.target.db import ensure_schema, make_engine, parse_target

    target = parse_target(url)
    ensure_schema(target)
    series = (
        "generate_series(1, :n) AS g(i)"
        if target.is_pg
        else "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) SELECT i FROM s) AS g"
    )
    engine = make_engine(target)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"""INSERT INTO clients (tenant, full_name, first_name, email)
                        SELECT :t, 'Client ' || i, 'Client', 'c' || i || '@example.com' FROM {series}"""
                ),
                {"t": tenant, "n": n},
            )
            conn.execute(
                text(
                    "INSERT INTO balances (tenant, client_id, kind, amount) SELECT tenant, id, 'entries', 5 FROM clients WHERE tenant = :t"
                ),
                {"t": tenant},
            )
            conn.execute(
                text(
                    """INSERT INTO invite_queue (tenant, client_id, email, status)
                       SELECT tenant, id, email, 'pending' FROM clients WHERE tenant = :t ORDER BY id"""
                ),
                {"t": tenant},
            )
    finally:
        engine.dispose()


def run_case(name: str, url: str, n: int, relays: int, smtp_url: str, count, home: Path) -> dict:
    tenant = f"bench-{uuid.uuid4().hex[:6]}"
    _fill(url, tenant, n)
    before = count.value
    argv = [FERRY, "invites", "send", "--tenant", tenant, "--target", url, "--smtp", smtp_url]
    argv += ["--from", "Bench Studio <bench@studio.example>", "--link", "https://book.example.com/r?e={email}"]
    argv += ["--home", str(home), "--json"]
    started = time.perf_counter()
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(relays)]
    outs = [p.communicate() for p in procs]
    seconds = time.perf_counter() - started
    sent = sum(json.loads(o)["sent"] for o, _ in outs if o.strip())
    received = count.value - before
    if any(p.returncode for p in procs) or sent != n or received != n:
        raise SystemExit(f"{name}: sent {sent}, received {received} of {n}; {[e[-300:] for _, e in outs]}")
    result = {"case": name, "invitations": n, "relays": relays, "seconds": round(seconds, 2)}
    result["messages_per_second"] = round(n / seconds, 1)
    print(f"{name:<24} {n:>7} invitations, {relays} relay(s): {seconds:7.2f} s  {n / seconds:8.1f} msg/s", flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--invitations", type=int, default=10_000)
    parser.add_argument("--relays", type=int, default=1, help="also run with this many relays at once")
    parser.add_argument("--pg-url", help="a PostgreSQL database to bench too (a schema of its own is used)")
    args = parser.parse_args(argv)
    for key, value in (("DO_NOT_TRACK", "1"), ("PREFECT_SERVER_ANALYTICS_ENABLED", "false")):
        os.environ.setdefault(key, value)

    ctx = mp.get_context("spawn")
    count, ready = ctx.Value("l", 0), ctx.Event()
    port = _free_port()
    server = ctx.Process(target=_serve, args=(port, count, ready), daemon=True)
    server.start()
    if not ready.wait(30):
        raise SystemExit("the SMTP server did not start")
    smtp_url = f"smtp://127.0.0.1:{port}"
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="ferry-bench-invites-") as tmp:
            home = Path(tmp) / "home"
            counts = sorted({1, args.relays})
            for relays in counts:
                url = f"sqlite:///{Path(tmp) / f'booking-{relays}.db'}"
                results.append(run_case("sqlite", url, args.invitations, relays, smtp_url, count, home))
            if args.pg_url:
                import psycopg

                schema = f"ferry_bench_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(args.pg_url, autocommit=True) as con:
                    con.execute(f'CREATE SCHEMA "{schema}"')
                try:
                    sep = "&" if "?" in args.pg_url else "?"
                    url = f"{args.pg_url}{sep}options=-csearch_path%3D{schema}"
                    for relays in counts:
                        results.append(run_case("postgresql", url, args.invitations, relays, smtp_url, count, home))
                finally:
                    with psycopg.connect(args.pg_url, autocommit=True) as con:
                        con.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        server.terminate()
    out = ROOT / "bench" / "results" / "invites.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpus": os.cpu_count(), "results": results}, indent=2) + "\n", encoding="utf-8")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
