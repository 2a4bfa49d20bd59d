"""When the machine stops a run (docs/CONTRACT.md §1): a full disk is exit 5 naming what to
free, not a bug; a bug is exit 70 with its traceback in a file; and once a load has
committed nothing makes the run look failed."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time

import duckdb
import pytest

from tests.conftest import json_error, run_cli

CSV = "name and surname,email,entries,credits\nJana Nováková,jana@example.cz,5,100\nPetr Novák,petr@example.cz,1,0\n"


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB file system: too small for a warehouse (a real ENOSPC, not a simulated one)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.parametrize("lane", ["own_file", "warehouse"])
def test_a_full_disk_is_exit_5_naming_what_to_free(tmp_path, small_disk, lane):
    export = tmp_path / "clients.csv"
    export.write_text(CSV, encoding="utf-8")
    home, target = small_disk / "home", tmp_path / "booking.db"
    env = dict(os.environ, FERRY_WORK_FILE_BELOW="0" if lane == "warehouse" else "100000000")
    cmd = [sys.executable, "-m", "ferry.cli", "migrate", str(export), "--tenant", "studio"]
    proc = subprocess.run(
        [*cmd, "--home", str(home), "--target", f"sqlite:///{target}", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 5, proc.stderr
    assert "disk is full" in json_error(proc.stdout, 5)["error"]
    message = " ".join(proc.stderr.split())
    assert "the disk is full" in message and str(home) in message, message
    assert "run again" in message and "Traceback" not in message and "please report" not in message
    assert not target.exists()  # the target is only written after everything before it worked


def test_a_bug_is_exit_70_with_its_traceback_in_a_file(migrate, write_csv, home):
    home.mkdir(parents=True)
    (home / "work").write_text("a file where the home keeps its runs' work folders", encoding="utf-8")
    run = migrate(write_csv(CSV))
    assert run.exit_code == 70 and json_error(run.stdout, 70)
    assert "unexpected error" in run.stderr and "please report" in run.stderr
    (log,) = (home / "errors").glob("*.log")
    assert "Traceback" in log.read_text(encoding="utf-8")


def test_a_run_whose_load_committed_never_looks_failed(tmp_path, monkeypatch):
    """Another process holds the home's warehouse past FERRY_LOCK_TIMEOUT just when the run
    wants to record itself there, after its load committed: exit 0, status loaded, and a
    warning saying what is missing; the target has the clients."""
    export = tmp_path / "clients.csv"
    export.write_text(CSV, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("FERRY_LOCK_TIMEOUT", "1")
    monkeypatch.setenv("FERRY_WORK_FILE_BELOW", "100000000")  # the run works in a file of its own
    holder = os.open(home / "warehouse.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        code, out, err = run_cli("migrate", export, "--tenant", "studio", "--home", home, "--json")
    finally:
        os.close(holder)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "loaded" and summary["rows"]["loaded"] == 2
    (warning,) = summary["warnings"]
    assert "the load committed" in warning and "in use" in warning and summary["run_id"] in warning
    assert "wait in the home" in warning and "load committed" in " ".join(err.split())
    # nothing lost: the run's work waits in the home, and the next run adds it to the warehouse
    assert (home / "work" / f"unmerged-{summary['run_id']}").is_dir()
    second = tmp_path / "second.csv"
    second.write_text("name and surname,email,entries,credits\nIvy Next,ivy@example.cz,1,1\n", encoding="utf-8")
    code, out, err = run_cli("migrate", second, "--tenant", "gym", "--home", home, "--json")
    assert code == 0, err
    assert "warnings" not in json.loads(out)
    assert not list((home / "work").glob("unmerged-*"))
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        merged = dict(con.execute("select run_id, rows_read from marts.run_summary").fetchall())
        results = dict(con.execute("select run_id, status from raw.run_results").fetchall())
    finally:
        con.close()
    assert merged[summary["run_id"]] == 2 and len(merged) == 2
    assert results[summary["run_id"]] == "loaded" and len(results) == 2
    import sqlite3

    con = sqlite3.connect(home / "booking.db")
    try:
        assert con.execute("select count(*) from clients where tenant = 'studio'").fetchone()[0] == 2
    finally:
        con.close()

    # the run's summary.json was written before the warehouse refused; without it, `ferry
    # runs` still lists the run, from the target's ferry_runs row
    (home / "runs" / summary["run_id"] / "summary.json").unlink()
    code, out, err = run_cli("runs", "--home", home, "--json")
    assert code == 0, err
    (item,) = [i for i in json.loads(out) if i["run_id"] == summary["run_id"]]
    assert (item["run_id"], item["status"], item["tenant"]) == (summary["run_id"], "loaded", "studio")
    assert item["clients"]["new"] == 2 and item["from_target"] is True


def test_a_run_waits_while_an_analyst_has_the_warehouse_open(tmp_path, migrate, write_csv, home):
    """Another process (an analyst's DuckDB session) has the warehouse open just when a run
    wants to add itself: the run says whom it waits for, waits, and then adds itself."""
    first = migrate(write_csv(CSV))
    assert first.exit_code == 0, first.stderr
    release = tmp_path / "release"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, os, sys, time\n"
            f"con = duckdb.connect({str(home / 'warehouse.duckdb')!r}, read_only=True)\n"
            "print('open', flush=True)\n"
            f"while not os.path.exists({str(release)!r}): time.sleep(0.1)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "open"
    done: dict = {}
    worker = threading.Thread(target=lambda: done.update(run=migrate(write_csv(CSV, name="again.csv"), tenant="gym")))
    worker.start()
    try:
        # summary.json is written just before the run adds itself to the warehouse
        deadline = time.monotonic() + 300
        while len(list((home / "runs").glob("*/summary.json"))) < 2:
            assert worker.is_alive() and time.monotonic() < deadline, done
            time.sleep(0.1)
        time.sleep(3)
        assert holder.poll() is None and worker.is_alive()  # it waits while the analyst holds the file
    finally:
        release.touch()
        holder.wait(timeout=30)
        worker.join(timeout=300)
    run = done["run"]
    assert run.exit_code == 0 and "warnings" not in run.summary, run.stderr
    assert "waiting for another process that has warehouse.duckdb open" in " ".join(run.stderr.split())
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from raw.run_results").fetchall()[0][0] == 2
    finally:
        con.close()
