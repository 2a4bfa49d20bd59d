"""Runs on one home never mix (docs/CONTRACT.md §9): four `ferry migrate` processes started
at once — two tenants, two files each — each report exactly their own rows, and the target
holds exactly the union of each tenant's files. Both ways a run works are tried: in a work
file of its own (small files) and in the home's warehouse under its lock (big files, here
forced with FERRY_WORK_FILE_BELOW=0)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest

from tests.target_fixtures import sql

FILES = {
    ("alpha", "a1.csv"): [
        ("Ada Alpha", "ada@alpha.cz", 3, 100),
        ("Ben Alpha", "ben@alpha.cz", 1, 0),
        ("Cid Alpha", "cid@alpha.cz", 0, 50),
    ],
    ("alpha", "a2.csv"): [("Dan Alpha", "dan@alpha.cz", 2, 10), ("Eva Alpha", "eva@alpha.cz", 5, 5)],
    ("beta", "b1.csv"): [("Fay Beta", "fay@beta.cz", 7, 70), ("Gil Beta", "gil@beta.cz", 0, 0)],
    ("beta", "b2.csv"): [
        ("Hal Beta", "hal@beta.cz", 1, 1),
        ("Ivy Beta", "ivy@beta.cz", 2, 2),
        ("Jon Beta", "jon@beta.cz", 3, 3),
        ("Kim Beta", "kim@beta.cz", 4, 4),
    ],
}


def _write(path, rows) -> None:
    lines = ["name and surname,email,entries,credits"] + [f"{n},{e},{en},{cr}" for n, e, en, cr in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("lane", ["own_file", "warehouse"])
def test_four_runs_at_once_on_one_home_each_report_their_own_rows(tmp_path, target_url, lane):
    if lane == "warehouse" and not target_url.startswith("sqlite"):
        pytest.skip("the lane does not depend on the target: tried on SQLite")
    home = tmp_path / "home"
    env = dict(os.environ, FERRY_WORK_FILE_BELOW="0" if lane == "warehouse" else "100000000")
    procs = {}
    for (tenant, name), rows in FILES.items():
        path = tmp_path / name
        _write(path, rows)
        cmd = [
            sys.executable,
            "-m",
            "ferry.cli",
            "migrate",
            str(path),
            "--tenant",
            tenant,
            "--home",
            str(home),
            "--target",
            target_url,
            "--json",
        ]
        procs[(tenant, name)] = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )

    results = {key: (p.wait(timeout=600), *p.communicate()) for key, p in procs.items()}
    run_ids = set()
    for (tenant, name), (code, out, err) in results.items():
        assert code == 0, (name, err)
        assert "unexpected error" not in err and "lock" not in err.replace("waiting for run", ""), err
        summary = json.loads(out)  # stdout is the summary alone, even for a run that waited
        rows = FILES[(tenant, name)]
        assert summary["tenant"] == tenant and summary["source"]["file"].endswith(name)
        assert summary["status"] == "loaded"
        assert summary["rows"]["read"] == summary["rows"]["loaded"] == len(rows), (name, summary["rows"])
        assert summary["clients"] == {"new": len(rows), "updated": 0, "unchanged": 0}
        assert summary["balances"] == {"entries": sum(r[2] for r in rows), "credits": sum(r[3] for r in rows)}
        run_ids.add(summary["run_id"])
    assert len(run_ids) == 4
    if lane == "warehouse":
        # the runs started together: at least one waited for the warehouse, and said so
        assert any("waiting for run" in err for _, _, err in results.values())
    # every run removed its work folder (work file, dbt's files, the load's scratch)
    assert [p.name for p in (home / "work").iterdir() if p.is_dir()] == []

    for tenant in ("alpha", "beta"):
        expected = sorted(r[1] for (t, _), rows in FILES.items() if t == tenant for r in rows)
        got = sql(target_url, "SELECT email FROM clients WHERE tenant = :t ORDER BY email", t=tenant)
        assert [r["email"] for r in got] == expected
        credits = sql(
            target_url, "SELECT sum(amount) AS s FROM balances WHERE tenant = :t AND kind = 'credits'", t=tenant
        )[0]["s"]
        assert float(credits) == sum(r[3] for (t, _), rows in FILES.items() if t == tenant for r in rows)

    # the analysts' warehouse shows every run, each with its own rows
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        per_run = dict(con.execute("select run_id, rows_read from marts.run_summary").fetchall())
    finally:
        con.close()
    assert set(per_run) == run_ids
    assert sorted(per_run.values()) == sorted(len(rows) for rows in FILES.values())
