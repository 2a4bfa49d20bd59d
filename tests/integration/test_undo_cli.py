"""`ferry undo RUN_ID` (docs/CONTRACT.md §8) through the real CLI after real migrations, on SQLite
and PostgreSQL: migrate file A, then a corrected file B, undo B -> the target is exactly as
A left it (B's new client gone, Anna's fields and balances back, B's invitation withdrawn);
undo refuses, naming the client and changing nothing, once a client registered since."""

from __future__ import annotations

import json

from tests.conftest import run_cli
from tests.target_fixtures import dump, scalar, sql

FILE_A = """First name,Last name,Email,Phone,Entries,Credits,Newsletter,Tags
Anna,Nová,anna@example.cz,+420 601 111 111,5,100,ano,yoga
Bob,Malý,bob@example.cz,+420 602 222 222,2,,ne,
"""
# corrected: Anna's phone, credits, entries and tags change; Bob as before; Cy is new
FILE_B = """First name,Last name,Email,Phone,Entries,Credits,Newsletter,Tags
Anna,Nová,anna@example.cz,+420 601 999 999,7,120,ano,"yoga, vip"
Bob,Malý,bob@example.cz,+420 602 222 222,2,,ne,
Cy,Novák,cy@example.cz,,,30,ano,
"""


def migrate(file, home, target) -> dict:
    code, out, err = run_cli("migrate", file, "--tenant", "studio", "--home", home, "--target", target, "--json")
    assert code == 0, err
    return json.loads(out)


def test_undo_restores_the_state_before_the_run_and_refuses_after_a_registration(target_url, home, write_csv):
    a = migrate(write_csv(FILE_A, "a.csv"), home, target_url)
    after_a = dump(target_url)
    b = migrate(write_csv(FILE_B, "b.csv"), home, target_url)
    assert b["clients"] == {"new": 1, "updated": 1, "unchanged": 1} and b["invites_queued"] == 1
    anna = sql(target_url, "SELECT phone, tags FROM clients WHERE email = 'anna@example.cz'")[0]
    assert anna["phone"] == "+420601999999" and json.loads(anna["tags"]) == ["vip", "yoga"]
    cy_invite = sql(target_url, "SELECT id, status FROM invite_queue WHERE email = 'cy@example.cz'")
    assert [r["status"] for r in cy_invite] == ["pending"]

    # undo B: one transaction, what it did is reported
    code, out, err = run_cli("undo", b["run_id"], "--target", target_url, "--home", home, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["clients_removed"], result["clients_restored"], result["invites_withdrawn"]) == (1, 1, 1)
    assert result["balances_restored"] == 2  # Anna's entries and credits

    # the target equals the state after A; Cy's invitation is kept on record as withdrawn
    now = dump(target_url)
    for table in ("clients", "balances", "accounts", "appointments"):
        assert now[table] == after_a[table], table
    assert [r for r in now["invite_queue"] if r["id"] != cy_invite[0]["id"]] == after_a["invite_queue"]
    withdrawn = [r for r in now["invite_queue"] if r["id"] == cy_invite[0]["id"]]
    assert [(r["status"], r["client_id"], r["email"]) for r in withdrawn] == [("withdrawn", None, "cy@example.cz")]
    assert scalar(target_url, "SELECT count(*) FROM clients WHERE email = 'cy@example.cz'") == 0
    assert scalar(target_url, "SELECT status FROM ferry_runs WHERE run_id = :r", r=b["run_id"]) == "undone"

    # the history says it was undone
    code, out, _ = run_cli("runs", "--home", home, "--json")
    status = {r["run_id"]: (r["status"], r.get("undone_at") is not None) for r in json.loads(out)}
    assert status == {a["run_id"]: ("loaded", False), b["run_id"]: ("loaded", True)}
    code, out, _ = run_cli("runs", "--home", home)
    assert "(undone)" in next(ln for ln in out.splitlines() if b["run_id"] in ln)
    assert "(undone)" not in next(ln for ln in out.splitlines() if a["run_id"] in ln)
    code, out, _ = run_cli("runs", "show", b["run_id"], "--home", home)
    assert code == 0 and "undone at" in out

    # undoing it twice is refused; an unknown run is exit 2
    code, _out, err = run_cli("undo", b["run_id"], "--target", target_url, "--home", home)
    assert code == 1 and "already undone" in err
    code, _out, err = run_cli("undo", "20990101T000000Z-abcdef", "--target", target_url, "--home", home)
    assert code == 2 and "no run '20990101T000000Z-abcdef'" in err

    # Anna registers in the booking app: the claim trigger makes her 'registered'
    sql(target_url, "INSERT INTO accounts (email, created_at) VALUES ('Anna@Example.cz', CURRENT_TIMESTAMP)")
    assert scalar(target_url, "SELECT registration_status FROM clients WHERE email = 'anna@example.cz'") == "registered"
    before = dump(target_url)
    code, out, err = run_cli("undo", a["run_id"], "--target", target_url, "--home", home)
    assert code != 0 and code == 1
    assert "registered since" in err and "Anna Nová <anna@example.cz>" in err and "Bob" not in err
    assert dump(target_url) == before
    assert scalar(target_url, "SELECT status FROM ferry_runs WHERE run_id = :r", r=a["run_id"]) == "loaded"
