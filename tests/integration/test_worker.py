"""The gate's own process (ferry/gate/process.py): it decides the run whatever happens to it."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from ferry import config
from ferry.gate import process as worker

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "studio_clients.csv"


def _worker_pids() -> list[int]:
    pool = worker._worker
    deadline = time.monotonic() + 30
    while pool is not None and not getattr(pool, "_processes", None) and time.monotonic() < deadline:
        time.sleep(0.01)
    return list((getattr(pool, "_processes", None) or {}).keys())


def test_a_killed_gate_process_still_decides_the_run(migrate, home, tmp_path):
    run = migrate(EXAMPLE, "--dry-run", "--max-reject-rate", "0.1")
    assert run.exit_code == 0, run.stderr
    worker.start_gate_worker()
    pids = _worker_pids()
    assert len(pids) == 1 and pids[0] != os.getpid()
    os.kill(pids[0], signal.SIGKILL)

    again = tmp_path / "again"
    again.mkdir()
    result = worker.gate_in_worker(home / "warehouse.duckdb", run.summary["run_id"], again, 0.1)
    assert result.passed
    # the same checks as the run's own gate, decided in this process instead
    first = json.loads((run.run_dir / "gate.json").read_text())
    assert json.loads((again / "gate.json").read_text())["checks"] == first["checks"]
    assert worker._worker is None  # the broken pool is gone; the next run starts a new one


def test_a_strict_gate_in_the_worker_blocks_and_creates_no_target(migrate, home):
    run = migrate(EXAMPLE, "--max-reject-rate", "0")
    assert run.exit_code == 1 and run.summary["status"] == "blocked"
    assert not (home / "booking.db").exists()
    failed = [c["name"] for c in run.summary["gate"]["checks"] if not c["passed"]]
    assert failed


def test_a_big_file_lands_in_a_process_of_its_own_with_the_same_result(migrate, home, tmp_path, monkeypatch):
    """LAND_APART_BYTES (here 0): the file lands in a spawned process; the run is the same
    as landing here, and land's own errors reach the user as they are (exit 2)."""
    here = migrate(EXAMPLE, "--dry-run", "--max-reject-rate", "0.1", "--home", str(tmp_path / "here"))
    monkeypatch.setattr(config, "LAND_APART_BYTES", 0)
    apart = migrate(EXAMPLE, "--dry-run", "--max-reject-rate", "0.1")
    assert (apart.exit_code, here.exit_code) == (0, 0)
    for key in ("rows", "clients", "invites_queued", "balances", "issue_counts", "unmapped_columns"):
        assert apart.summary[key] == here.summary[key], key
    assert apart.summary["source"]["sha256"] == here.summary["source"]["sha256"]

    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n", encoding="utf-8")
    failed = migrate(empty, "--dry-run", json_output=False)
    assert failed.exit_code == 2 and "empty" in failed.stderr


def test_the_gate_process_ends_when_its_parent_is_killed(tmp_path):
    """A run killed with SIGKILL (a batch worker, a Prefect run) cannot stop its gate
    process; the gate process notices and ends instead of waiting for work forever."""
    import subprocess
    import sys

    script = (
        "import time\n"
        "from ferry.gate import process\n"
        "process.start_gate_worker()\n"
        "pool = process._worker\n"
        "while not getattr(pool, '_processes', None): time.sleep(0.01)\n"
        "print(list(pool._processes)[0], flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    gate_pid = int(parent.stdout.readline())
    os.kill(gate_pid, 0)  # alive while its parent is
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(gate_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(gate_pid, signal.SIGKILL)
    raise AssertionError(f"gate process {gate_pid} outlived its killed parent")
