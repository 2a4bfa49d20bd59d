"""Control totals end to end (docs/CONTRACT.md §1, §6; issue 6): the load re-reads the balances it
wrote inside its own transaction and commits only if they equal the warehouse's totals.

A trigger in the target skims every inserted balance (+1), the way a faulty or hostile
database-side rule would. The real CLI must then exit 3, write nothing, say which kind
differs in the summary, and show the difference in red in report.html; once the trigger is
gone, rerunning the same file loads it.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import run_cli
from tests.target_fixtures import dump, scalar, sql

FILE_A = """First name,Last name,Email,Phone,Entries,Credits,Newsletter
Anna,Nová,anna@example.cz,+420 601 111 111,5,100,ano
Bob,Malý,bob@example.cz,+420 602 222 222,2,,ne
"""

# corrected file: Anna's credits change, Cy is new (an inserted entries and credits row)
FILE_B = FILE_A.replace("5,100,ano", "5,120,ano") + "Cy,Novák,cy@example.cz,+420 603 333 333,1,50,ano\n"

SKIM_SQLITE = """CREATE TRIGGER ferry_test_skim AFTER INSERT ON balances
BEGIN UPDATE balances SET amount = amount + 1 WHERE id = NEW.id; END"""
SKIM_PG_FUNCTION = """CREATE FUNCTION ferry_test_skim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.amount := NEW.amount + 1; RETURN NEW; END $$"""
SKIM_PG_TRIGGER = """CREATE TRIGGER ferry_test_skim BEFORE INSERT ON balances
FOR EACH ROW EXECUTE FUNCTION ferry_test_skim()"""


def _migrate(file, home, target, *extra):
    import json

    code, out, err = run_cli(
        "migrate", file, "--tenant", "studio", "--home", home, "--target", target, "--json", *extra
    )
    return code, (json.loads(out) if out.strip() else None), err


def test_a_skimmed_balance_is_caught_rolled_back_reported_in_red_and_rerun_is_safe(target_url, home, write_csv):
    a = write_csv(FILE_A, "a.csv")
    b = write_csv(FILE_B, "b.csv")
    code, first, err = _migrate(a, home, target_url)
    assert code == 0, err
    assert first["status"] == "loaded" and first["balances"] == {"entries": 7, "credits": 100}

    if target_url.startswith("sqlite"):
        sql(target_url, SKIM_SQLITE)
    else:
        sql(target_url, SKIM_PG_FUNCTION)
        sql(target_url, SKIM_PG_TRIGGER)
    before = dump(target_url)

    code, failed, err = _migrate(b, home, target_url)
    assert code == 3, (code, err)
    assert failed["status"] == "failed"
    assert "control totals differ" in failed["error"]
    assert "credits source 170.00 vs target 171.00" in failed["error"]  # the kind and both sums are named
    assert "entries source 8.00 vs target 9.00" in failed["error"]
    assert "rolled back" in failed["error"]
    assert failed["rows"]["loaded"] == 0 and failed["invites_queued"] == 0
    # nothing written: every booking table exactly as before, and no run on record
    assert dump(target_url) == before
    assert scalar(target_url, "SELECT count(*) FROM ferry_runs WHERE run_id = :r", r=failed["run_id"]) == 0

    html = Path(failed["paths"]["report"]).read_text(encoding="utf-8")
    red = {
        cells[0]: cells
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r'<tr class="diff">(.*?)</tr>', html, re.S)
        )
    }
    # kind, file, planned, target (file + 1 for Cy's inserted row), difference, verdict: red rows
    assert red["credits"][:5] == ["credits", "170", "170", "171", "+1"] and "DIFFERS" in red["credits"][5]
    assert red["entries"][:5] == ["entries", "8", "8", "9", "+1"] and "DIFFERS" in red["entries"][5]
    assert "tr.diff td{background:#fdecea;color:#a93226" in html  # the diff class is red
    assert 'class="status s-failed"' in html and "rolled back" in html
    # the summary on disk and the history say the same
    code, out, _ = run_cli("runs", "show", failed["run_id"], "--home", home, "--json")
    assert code == 0 and '"status": "failed"' in out and "control totals differ" in out

    # the fault is fixed: the same file now loads, exactly once
    if target_url.startswith("sqlite"):
        sql(target_url, "DROP TRIGGER ferry_test_skim")
    else:
        sql(target_url, "DROP TRIGGER ferry_test_skim ON balances")
    code, loaded, err = _migrate(b, home, target_url)
    assert code == 0, err
    assert loaded["status"] == "loaded" and loaded["clients"] == {"new": 1, "updated": 1, "unchanged": 1}
    assert loaded["balances"] == {"entries": 8, "credits": 170}
    assert float(scalar(target_url, "SELECT sum(amount) FROM balances WHERE kind = 'credits'")) == 170
    html = Path(loaded["paths"]["report"]).read_text(encoding="utf-8")
    assert 'class="diff"' not in html and "all agree" in html
