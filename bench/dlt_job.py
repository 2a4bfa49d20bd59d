"""One dlt pipeline run over a CSV export, the way a user who picked dlt instead of Ferry
would write it: a peer's time on the same file (issue 17).

    bench/.peers-venv/bin/python bench/dlt_job.py FILE --mode rows|arrow \\
        --destination sqlite|postgres --target URL --work DIR

It runs with the peers venv's python (`make bench-peers`), never Ferry's: dlt's dependencies
must not touch Ferry's pinned ones, and so this file imports nothing from ferry or bench.
`rows` is a resource yielding the dicts of csv.DictReader one by one; `arrow` yields pyarrow
record batches from pyarrow.csv.open_csv with every column read as text. The destination is
dlt's `sqlalchemy` one on a SQLite file URL, or its `postgres` one. The caller
(bench/peers.py) starts from a fresh target and a fresh --work folder and points dlt's own
files there (DLT_DATA_DIR, which also stands in for dlt's global dir, and pipelines_dir),
with telemetry off.
Prints one JSON line: rows written, counted back from the destination, and in-process
seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

TABLE = "clients"
DATASET = "dlt_peer"


def rows_resource(path: Path):
    import dlt

    @dlt.resource(name=TABLE, write_disposition="append")
    def clients():
        with open(path, newline="", encoding="utf-8") as f:
            yield from csv.DictReader(f)

    return clients


def arrow_resource(path: Path):
    import dlt
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    as_text = pacsv.ConvertOptions(column_types={name: pa.string() for name in header})

    @dlt.resource(name=TABLE, write_disposition="append")
    def clients():
        with pacsv.open_csv(path, convert_options=as_text) as reader:
            yield from reader

    return clients


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", type=Path)
    ap.add_argument("--mode", choices=("rows", "arrow"), required=True)
    ap.add_argument("--destination", choices=("sqlite", "postgres"), required=True)
    ap.add_argument("--target", required=True, help="sqlite:///FILE or a PostgreSQL URL")
    ap.add_argument("--work", type=Path, required=True, help="dlt's pipelines folder")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import dlt

    import_seconds = time.perf_counter() - t0
    # telemetry off still writes an .anonymous_id into dlt's global dir (/var/dlt for root,
    # else ~/.dlt): keep it in the data dir the caller gave
    dlt.current.run_context()._global_dir = os.environ.get("DLT_DATA_DIR") or str(args.work)
    if args.destination == "sqlite":
        destination = dlt.destinations.sqlalchemy(credentials=args.target)
    else:
        from dlt.destinations.impl.postgres.configuration import PostgresCredentials

        credentials = PostgresCredentials()
        credentials.parse_native_representation(args.target)
        if credentials.password is None:  # dlt insists on one; a trust-auth server never asks
            credentials.password = ""
        destination = dlt.destinations.postgres(credentials=credentials)
    pipeline = dlt.pipeline(
        pipeline_name=f"peer_{args.mode}_{args.destination}",
        pipelines_dir=str(args.work),
        destination=destination,
        dataset_name=DATASET,
    )
    resource = (rows_resource if args.mode == "rows" else arrow_resource)(args.file.resolve())
    t1 = time.perf_counter()
    info = pipeline.run(resource)
    run_seconds = time.perf_counter() - t1
    info.raise_on_failed_jobs()
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(TABLE)
        rows = client.execute_sql(f"SELECT count(*) FROM {table}")[0][0]
    print(
        json.dumps(
            {
                "rows": rows,
                "import_seconds": round(import_seconds, 3),
                "run_seconds": round(run_seconds, 3),
                "dlt": dlt.__version__,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
