"""Land in a process of its own for a big file.

A big file is landed in a process of its own while this one imports dbt (the slow start
of transform) on the core land leaves idle (DuckDB's reads and writes, the phone worker's
half), and land's memory (which the allocators keep after land returns) goes with its
process instead of staying through transform and load. A small file lands here: a
process start costs more than it would save.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ferry import config
from ferry.config import RunOptions
from ferry.ingest.land import LandResult, land


def land_beside(opts: RunOptions, run_id: str, db: Path | None = None) -> LandResult:
    """land(), for a big file in a spawned process while this one imports dbt."""
    if Path(opts.file).stat().st_size < config.LAND_APART_BYTES:
        return land(opts, run_id, db)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        future = pool.submit(land, opts, run_id, db)
        from dbt.cli.main import dbtRunner  # noqa: F401  transform's slow start

        try:
            return future.result()  # land's own errors (InputError: exit 2) come through as they are
        except BrokenProcessPool:
            return land(opts, run_id, db)
