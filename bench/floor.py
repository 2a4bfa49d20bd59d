"""The floor job: the simplest program that does a migration's essential work on the same
file, so that Ferry's end-to-end time can be read as a ratio to it (issue 17).

    python -m bench.floor bench/data/zenamu_100000.csv
    python -m bench.floor bench/data/zenamu_100000.csv --pg-url postgresql://postgres@127.0.0.1:5432/bench

The work, and nothing more: DuckDB reads the CSV as text and hands it out as Arrow record
batches of 100k rows; each batch's phones go through the classic libphonenumber parse,
is_valid and E.164 format (region CZ, one call per value, no cache, a failure is None), split
between two worker processes; and every row is written to the target in a single
transaction: SQLite by `executemany` into a fresh file, PostgreSQL by `COPY ... FROM STDIN`
into a fresh `floor_clients` table, dropped after counting. The phones of the next batch are
worked on while the current one is written, so the floor is simple but not idle.

`seconds` runs from the call to the commit, worker start-up included, interpreter start
not; the rows written are counted back from the target afterwards. Expects the zenamu layout
(`python -m bench.generate`): the column named `phone` becomes `phone_e164`, the others are
written as they were read. This is never part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import chain
from pathlib import Path

TABLE = "floor_clients"
BATCH_ROWS = 100_000
WORKERS = 2
REGION = "CZ"


def e164(values: list[str | None]) -> list[str | None]:
    """Runs in a worker: each value parsed, checked and formatted on its own."""
    import phonenumbers

    out: list[str | None] = []
    for value in values:
        if not value:
            out.append(None)
            continue
        try:
            number = phonenumbers.parse(value, REGION)
        except phonenumbers.NumberParseException:
            out.append(None)
            continue
        if phonenumbers.is_valid_number(number):
            out.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        else:
            out.append(None)
    return out


def column_name(header: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_") or "col"


def batches(csv_path: Path) -> tuple[list[str], Iterator[tuple[list[list], int]]]:
    """The output column names, and an iterator over the file's record batches: (columns as
    Python lists, index of the phone column)."""
    import duckdb

    con = duckdb.connect()
    rel = con.read_csv(str(csv_path), all_varchar=True, header=True)
    headers = rel.columns
    names = [column_name(h) for h in headers]
    if "phone" not in names:
        raise ValueError(f"floor: {csv_path} has no `phone` column: {headers}")
    phone = names.index("phone")
    names[phone] = "phone_e164"

    def each() -> Iterator[tuple[list[list], int]]:
        try:
            for batch in rel.to_arrow_reader(BATCH_ROWS):
                yield [c.to_pylist() for c in batch.columns], phone
        finally:
            con.close()

    return names, each()


def run(source: Iterator[tuple[list[list], int]], write: Callable[[list[tuple]], None]) -> dict:
    """Send each batch's phones to the pool, write it once they are back."""
    read = valid = 0
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that runs DuckDB threads
    with ProcessPoolExecutor(WORKERS, mp_context=ctx) as pool:
        pending: tuple[list[list], int, list[Future]] | None = None
        for item in chain(source, [None]):
            submitted = None
            if item is not None:
                cols, phone = item
                values = cols[phone]
                half = (len(values) + 1) // 2
                futures = [pool.submit(e164, values[:half]), pool.submit(e164, values[half:])]
                submitted = (cols, phone, futures)
            if pending is not None:
                cols, phone, futures = pending
                cols[phone] = futures[0].result() + futures[1].result()
                valid += sum(v is not None for v in cols[phone])
                read += len(cols[phone])
                write(list(zip(*cols)))
            pending = submitted
    return {"rows_read": read, "phones_valid": valid}


def floor_sqlite(csv_path: Path, db_path: Path) -> dict:
    """The floor into a fresh SQLite file: one executemany per batch, one transaction."""
    t0 = time.perf_counter()
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for p in (db_path, Path(f"{db_path}-journal"), Path(f"{db_path}-wal")):
        p.unlink(missing_ok=True)
    names, source = batches(csv_path)
    con = sqlite3.connect(db_path, isolation_level=None)
    try:
        con.execute(f"DROP TABLE IF EXISTS {TABLE}")
        con.execute(f"CREATE TABLE {TABLE} ({', '.join(f'{n} TEXT' for n in names)})")
        con.execute("BEGIN")
        insert = f"INSERT INTO {TABLE} VALUES ({', '.join('?' * len(names))})"
        info = run(source, lambda rows: con.executemany(insert, rows))
        con.execute("COMMIT")
        seconds = time.perf_counter() - t0
        rows = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    finally:
        con.close()
    return {"target": "sqlite", "seconds": round(seconds, 3), "rows": rows, **_facts(info)}


def floor_postgres(csv_path: Path, url: str) -> dict:
    """The floor into a fresh table of the database at `url`: COPY per batch, one
    transaction; the table is dropped after its rows are counted."""
    import psycopg

    t0 = time.perf_counter()
    names, source = batches(csv_path)
    with psycopg.connect(url) as conn:
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
                cur.execute(f"CREATE TABLE {TABLE} ({', '.join(f'{n} text' for n in names)})")

                def write(rows: list[tuple]) -> None:
                    with cur.copy(f"COPY {TABLE} ({', '.join(names)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)

                info = run(source, write)
            seconds = time.perf_counter() - t0
            rows = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
        finally:
            conn.rollback()
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
            conn.commit()
    return {"target": "postgresql", "seconds": round(seconds, 3), "rows": rows, **_facts(info)}


def _facts(info: dict) -> dict:
    return {"rows_read": info["rows_read"], "phones_valid": info["phones_valid"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.split("\n\n")[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--pg-url", help="also the PostgreSQL floor, into this database")
    ap.add_argument("--db", type=Path, help="the SQLite file (default: bench/data/floor/<file stem>.sqlite)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    db = args.db or Path(__file__).resolve().parent / "data" / "floor" / f"{args.file.stem}.sqlite"
    results = [floor_sqlite(args.file, db)]
    if args.pg_url:
        results.append(floor_postgres(args.file, args.pg_url))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            print(
                f"floor {r['target']:<10} {r['seconds']:8.2f} s  {r['rows']:>10,} rows written "
                f"({r['rows_read']:,} read, {r['phones_valid']:,} valid phones)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
