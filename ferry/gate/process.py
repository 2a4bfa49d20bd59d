"""The gate's own process: Great Expectations validates while the load stages.

GX is slow to import and validates on pandas with the GIL held, a long single-core job
for a big run. In a spawned process started before transform, the import runs on the core
dbt's single-threaded start-up leaves idle, and the validation runs on one core while
the load stages the run on the other; the load asks for the verdict before it creates or
changes anything in the target (ferry/target/load.py), so a blocked run still writes nothing.

One worker per Ferry process, reused by its later runs (a test session, a notebook);
after a big run it ends with the gate, so its memory is the load's again. Spawned, not
forked: the caller holds DuckDB and Prefect threads a fork would copy half-way. If the
worker dies (killed, out of memory) the gate runs in this process instead, so the run is
decided all the same.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ferry.gate.validate import GateResult, gate, warm_up

_lock = threading.Lock()
_worker: ProcessPoolExecutor | None = None


def _end_with(parent: int) -> None:
    """In the worker: end when the process that started it is gone. A parent killed with
    SIGKILL (a batch worker, a Prefect run) cannot stop its pool, and an idle worker would
    otherwise wait for work forever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="ferry-parent-watch", daemon=True).start()


def start_gate_worker() -> None:
    """Start this process's gate worker unless it runs already; the import begins now."""
    global _worker
    with _lock:
        if _worker is None:
            _worker = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_end_with, initargs=(os.getpid(),)
            )
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


def gate_in_worker(
    warehouse: Path,
    run_id: str,
    run_dir: Path,
    max_reject_rate: float,
    keep: bool = True,
    assets: Path | None = None,
) -> GateResult:
    """gate() in the worker (started if need be); `keep` False ends the worker after it.
    The paths go absolute: a warm worker keeps the working folder it started in, which
    need not be the caller's now."""
    start_gate_worker()
    absolute = lambda path: None if path is None else Path(path).resolve()  # noqa: E731
    args = (absolute(warehouse), run_id, absolute(run_dir), max_reject_rate, absolute(assets))
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
