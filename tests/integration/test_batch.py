"""`ferry batch` (docs/CONTRACT.md §8): one run per manifest row in worker processes, on
one home; one tenant's blocked run or unusable file never stops the others, and a bad
manifest stops the batch before anything runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import json_error
from tests.target_fixtures import sql

GOOD = [
    ("Ada Alpha", "ada@alpha.cz", 3, 100),
    ("Ben Alpha", "ben@alpha.cz", 1, 0),
    ("Cid Alpha", "cid@alpha.cz", 0, 50),
]


def _batch(*args) -> tuple[int, str, str]:
    cmd = [sys.executable, "-m", "ferry.cli", "batch", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def test_batch_runs_every_row_and_reports_the_highest_exit_code(tmp_path, target_url):
    files = tmp_path / "exports"
    files.mkdir()
    lines = ["name and surname,email,entries,credits"] + [f"{n},{e},{en},{cr}" for n, e, en, cr in GOOD]
    (files / "good.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # an invalid e-mail on a row with a balance is an error; with max_reject_rate 0 the gate blocks
    (files / "blocked.csv").write_text(
        "name and surname,email,entries,credits\nFay Beta,not-an-email,2,20\nGil Beta,gil@beta.cz,1,0\n",
        encoding="utf-8",
    )
    (files / "empty.csv").write_text("", encoding="utf-8")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "file,tenant,max_reject_rate,tag,country\n"
        "exports/good.csv,alpha,0.1,vip;spring,cz\n"
        "exports/blocked.csv,beta,0,,\n"
        "exports/empty.csv,beta,,,\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"

    code, out, err = _batch(manifest, "--concurrency", "2", "--home", home, "--target", target_url, "--json")

    assert code == 2, err  # the highest of 0, 1 and 2
    doc = json.loads(out)  # stdout is the JSON alone
    assert set(doc) == {"runs", "counts", "report"}
    runs = doc["runs"]
    assert [set(r) for r in runs] == [{"tenant", "file", "status", "exit_code", "run_id", "error"}] * 3
    assert [(r["tenant"], Path(r["file"]).name, r["status"], r["exit_code"]) for r in runs] == [
        ("alpha", "good.csv", "loaded", 0),
        ("beta", "blocked.csv", "blocked", 1),
        ("beta", "empty.csv", "input_error", 2),
    ], runs
    assert doc["counts"] == {"loaded": 1, "dry_run": 0, "blocked": 1, "failed": 0, "input_error": 1}
    good, blocked, empty = runs
    assert good["error"] is None and "blocked" in blocked["error"]
    assert empty["run_id"] is None and "empty" in empty["error"]

    summary = json.loads((home / "runs" / good["run_id"] / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "loaded" and summary["tenant"] == "alpha"
    assert summary["rows"]["read"] == summary["rows"]["loaded"] == 3
    assert summary["balances"] == {"entries": 4, "credits": 150}
    blocked_summary = json.loads((home / "runs" / blocked["run_id"] / "summary.json").read_text(encoding="utf-8"))
    assert blocked_summary["status"] == "blocked" and blocked_summary["rows"]["loaded"] == 0

    emails = sql(target_url, "SELECT email, tenant FROM clients ORDER BY email")
    assert emails == [{"email": e, "tenant": "alpha"} for _, e, _, _ in GOOD]  # nothing of beta

    page = Path(doc["report"])
    assert page == home.resolve() / "batches" / page.parent.name / "batch.html" and page.is_file()
    html = page.read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]+)"', html)
    assert sorted(links) == sorted(f"../../runs/{r['run_id']}/report.html" for r in (good, blocked))
    assert all((page.parent / link).resolve().is_file() for link in links)
    assert "http" not in html.replace("http-equiv", "")  # offline: nothing fetched
    assert "ferry: [3/3]" in err


def _no_runs(home: Path) -> bool:
    return not (home / "runs").exists() or not any((home / "runs").iterdir())


def test_a_bad_manifest_stops_the_batch_before_anything_runs(tmp_path):
    export = tmp_path / "good.csv"
    export.write_text("name and surname,email\nAda Alpha,ada@alpha.cz\n", encoding="utf-8")
    home = tmp_path / "home"

    unknown = tmp_path / "unknown.csv"
    unknown.write_text("file,tenant,colour\ngood.csv,alpha,blue\n", encoding="utf-8")
    code, out, err = _batch(unknown, "--home", home, "--json")
    assert code == 2 and json_error(out, 2)
    assert "unknown.csv" in err and "row 1" in err and "'colour'" in err and "unknown column" in err

    no_file = tmp_path / "no_file.csv"
    no_file.write_text("tenant,country\nalpha,CZ\n", encoding="utf-8")
    code, out, err = _batch(no_file, "--home", home)
    assert code == 2 and "no_file.csv" in err and "no 'file' column" in err

    bad_value = tmp_path / "bad_value.yaml"
    bad_value.write_text(
        "- {file: good.csv, tenant: alpha}\n- {file: good.csv, tenant: beta, invites: sometimes}\n", encoding="utf-8"
    )
    code, out, err = _batch(bad_value, "--home", home)
    assert code == 2 and "bad_value.yaml" in err and "row 2, column 'invites'" in err and "sometimes" in err

    missing = tmp_path / "missing.csv"
    missing.write_text("file,tenant\ngood.csv,alpha\nnope.csv,beta\n", encoding="utf-8")
    code, out, err = _batch(missing, "--home", home)
    assert code == 2 and "row 3, column 'file'" in err and "not found" in err

    assert _no_runs(home)  # not even the good rows ran
