"""Helper processes: the gate's, and land's for a big file.

The gate's own process: Great Expectations validates while the load stages.

GX takes ~2.5 s to import and validates on pandas with the GIL held (~4 s per 1M
clients). In a spawned process started before transform, the import runs on the core
dbt's single-threaded start-up leaves idle, and the validation runs on one core while
the load stages the run on the other; the load asks for the verdict before it creates or
changes anything in the target (flows/load.py), so a blocked run still writes nothing.

One worker per Ferry process, reused by its later runs (a test session, a notebook);
after a big run it ends with the gate, so its memory is the load's again. Spawned, not
forked: the caller holds DuckDB and Prefect threads a fork would copy half-way. If the
worker dies (killed, out of memory) the gate runs in this process instead, so the run is
decided all the same.

A big file is landed in a process of its own while this one imports dbt (~1.5 s of
transform) on the core land leaves idle (DuckDB's reads and writes, the phone worker's
half), and land's memory (0.4-0.6 GB per 1M rows, kept by the allocators) goes with its
process instead of staying through transform and load. A small file lands here: a
process start costs more than it would save.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from flows.gate import GateResult, gate, warm_up
from flows.land import LandResult, land
from flows.options import RunOptions

_lock = threading.Lock()
_worker: ProcessPoolExecutor | None = None


def start_gate_worker() -> None:
    """Start this process's gate worker unless it runs already; the import begins now."""
    global _worker
    with _lock:
        if _worker is None:
            _worker = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            _worker.submit(warm_up)  # a pool spawns on its first task


def stop_gate_worker(terminate: bool = False) -> None:
    """End the worker; `terminate`: without waiting for what it does (a failed run)."""
    global _worker
    with _lock:
        worker, _worker = _worker, None
    if worker is None:
        return
    if terminate:
        for process in list((getattr(worker, "_processes", None) or {}).values()):
            process.terminate()
    worker.shutdown(wait=True, cancel_futures=True)


def gate_in_worker(warehouse: Path, run_id: str, run_dir: Path, max_reject_rate: float,
                   keep: bool = True) -> GateResult:
    """gate() in the worker (started if need be); `keep` False ends the worker after it."""
    start_gate_worker()
    args = (warehouse, run_id, run_dir, max_reject_rate)
    try:
        with _lock:
            worker = _worker
        return worker.submit(gate, *args).result()
    except BrokenProcessPool:
        stop_gate_worker()
        return gate(*args)
    finally:
        if not keep:
            stop_gate_worker()


LAND_APART_BYTES = 20_000_000  # files at least this big land in a process of their own


def land_beside(opts: RunOptions, run_id: str) -> LandResult:
    """land(), for a big file in a spawned process while this one imports dbt."""
    if Path(opts.file).stat().st_size < LAND_APART_BYTES:
        return land(opts, run_id)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        future = pool.submit(land, opts, run_id)
        from dbt.cli.main import dbtRunner  # noqa: F401  transform's first second and a half
        try:
            return future.result()  # land's own errors (InputError: exit 2) come through as they are
        except BrokenProcessPool:
            return land(opts, run_id)
