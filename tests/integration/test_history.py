"""`ferry runs [--tenant T]` and `ferry runs show RUN_ID` (docs/CONTRACT.md §8): the run history,
read from each run folder, through the real CLI after real runs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

GOOD = """First name,Last name,Email,Entries,Credits
Anna,Nová,anna@example.cz,5,100
Bob,Malý,bob@example.cz,2,
"""
BAD = """First name,Last name,Email,Entries
Cy,Novák,cy@example.cz,3
Dana,Dvořák,dana@example.cz,-4
"""


def test_runs_lists_filters_and_shows_real_runs(migrate, write_csv, home):
    loaded = migrate(write_csv(GOOD, "good.csv"), tenant="studio-a")
    blocked = migrate(write_csv(BAD, "bad.csv"), tenant="studio-b")
    assert (loaded.exit_code, blocked.exit_code) == (0, 1)
    a, b = loaded.summary, blocked.summary

    # --json: newest first, with id, time, tenant, file, status and counts
    code, out, _ = run_cli("runs", "--home", home, "--json")
    assert code == 0
    items = json.loads(out)
    assert [i["run_id"] for i in items] == [b["run_id"], a["run_id"]]
    first = items[1]
    assert first["tenant"] == "studio-a" and first["status"] == "loaded"
    assert first["file"] == a["source"]["file"] and first["file"].endswith("good.csv")
    assert first["rows"] == {"read": 2, "valid": 2, "rejected": 0, "merged": 0, "duplicate": 0, "loaded": 2}
    assert first["clients"] == {"new": 2, "updated": 0, "unchanged": 0} and first["invites_queued"] == 2
    assert first["started_at"].endswith(" UTC") and first["started_at"][:4] == a["run_id"][:4]
    assert first["report"] == a["paths"]["report"]
    assert items[0]["status"] == "blocked" and items[0]["rows"]["rejected"] == 1 and items[0]["rows"]["loaded"] == 0

    # the table never cuts a run id, even in a pipe
    code, out, _ = run_cli("runs", "--home", home)
    assert code == 0
    for summary, file, status in ((a, "good.csv", "loaded"), (b, "bad.csv", "blocked")):
        line = next(ln for ln in out.splitlines() if summary["run_id"] in ln)
        assert summary["tenant"] in line and file in line and status in line
    assert out.index(b["run_id"]) < out.index(a["run_id"])

    # --tenant filters, an unknown tenant lists nothing
    code, out, _ = run_cli("runs", "--home", home, "--tenant", "studio-a", "--json")
    assert code == 0 and [i["run_id"] for i in json.loads(out)] == [a["run_id"]]
    code, out, _ = run_cli("runs", "--home", home, "--tenant", "studio-a")
    assert code == 0 and a["run_id"] in out and b["run_id"] not in out
    code, out, _ = run_cli("runs", "--home", home, "--tenant", "nobody")
    assert code == 0 and "no runs of tenant nobody" in out

    # show: the summary and every path; --json is summary.json exactly; --home works before or after
    code, out, _ = run_cli("runs", "show", a["run_id"], "--home", home, "--json")
    assert code == 0
    assert json.loads(out) == json.loads(Path(a["paths"]["summary"]).read_text(encoding="utf-8"))
    code, out, _ = run_cli("runs", "--home", home, "show", b["run_id"])
    assert code == 0
    assert "blocked" in out and "studio-b" in out and b["run_id"] in out
    assert "gate blocked the load" in out
    for key in ("report", "rejects", "summary", "warehouse", "data_docs"):
        assert b["paths"][key] in out.replace("\n", ""), key
    assert str(Path(b["paths"]["run_dir"]) / "gate.json") in out

    # an unknown run id is exit 2 with one clear line, as is anything path-like
    for bad in ("20990101T000000Z-abcdef", "../runs", "nope"):
        code, out, err = run_cli("runs", "show", bad, "--home", home)
        assert code == 2, bad
        assert f"no run '{bad}'" in err and "ferry runs" in err and out == ""


def test_runs_in_an_empty_home_says_so(home):
    code, out, _ = run_cli("runs", "--home", home)
    assert code == 0 and "no runs in" in out
    code, out, _ = run_cli("runs", "--home", home, "--json")
    assert code == 0 and json.loads(out) == []
