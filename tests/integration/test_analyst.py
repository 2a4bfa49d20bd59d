"""The analyst views (models/analyst/) and `ferry docs`, after real runs of two tenants,
queried the way an analyst would: duckdb from Python, read-only, while no run is going."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tests.conftest import run_cli

A1 = """First name,Last name,Email,Entries,Credits
Anna,Nová,anna@example.cz,5,100
Bob,Malý,bob@example.cz,2,
"""
A2 = A1.replace("5,100", "6,100") + "Cy,Novák,cy@example.cz,1,\n"  # corrected file, one new client
B1 = """First name,Last name,Email,Entries
Dana,Dvořák,dana@example.cz,3
Eva,Svobodová,not-an-email,
"""
B2 = """First name,Last name,Email,Entries
Filip,Horák,filip@example.cz,-4
Gita,Malá,gita@example.cz,1
"""


def rows(con, sql: str, *params) -> list[dict]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_analyst_views_after_two_runs_of_two_tenants_and_docs(migrate, write_csv, home):
    a1 = migrate(write_csv(A1, "a1.csv"), tenant="studio-a")
    a2 = migrate(write_csv(A2, "a2.csv"), tenant="studio-a")
    b1 = migrate(write_csv(B1, "b1.csv"), tenant="studio-b")
    b2 = migrate(write_csv(B2, "b2.csv"), tenant="studio-b")  # blocked: a negative balance
    assert [r.exit_code for r in (a1, a2, b1, b2)] == [0, 0, 0, 1]
    runs = {r.summary["run_id"]: r.summary for r in (a1, a2, b1, b2)}

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        # latest_clients: each tenant's clients as its latest *loaded* run left them
        latest = rows(
            con,
            "select tenant, run_id, email, full_name from analyst.latest_clients order by tenant, email nulls first",
        )
        assert [(r["tenant"], r["run_id"], r["email"]) for r in latest] == [
            ("studio-a", a2.summary["run_id"], "anna@example.cz"),
            ("studio-a", a2.summary["run_id"], "bob@example.cz"),
            ("studio-a", a2.summary["run_id"], "cy@example.cz"),
            ("studio-b", b1.summary["run_id"], None),  # Eva loads without her invalid e-mail
            ("studio-b", b1.summary["run_id"], "dana@example.cz"),
        ]
        assert {r["full_name"] for r in latest if r["tenant"] == "studio-b"} == {"Dana Dvořák", "Eva Svobodová"}
        only_b = rows(con, "select count(*) as n from analyst.latest_clients where tenant = ?", "studio-b")
        assert only_b == [{"n": 2}]

        # run_history: one row per run with outcome, file and row accounting
        history = {r["run_id"]: r for r in rows(con, "select * from analyst.run_history")}
        assert set(history) == set(runs)
        for run_id, summary in runs.items():
            h = history[run_id]
            assert (h["tenant"], h["status"]) == (summary["tenant"], summary["status"])
            assert h["sha256"] == summary["source"]["sha256"] and h["format"] == "csv"
            assert Path(summary["source"]["file"]).name == h["file_name"]
            assert (
                h["rows_read"],
                h["rows_valid"],
                h["rows_rejected"],
                h["rows_merged"],
                h["rows_duplicate"],
            ) == tuple(summary["rows"][k] for k in ("read", "valid", "rejected", "merged", "duplicate"))
            assert h["started_at"] <= h["finished_at"]
        assert [history[r]["status"] for r in runs] == ["loaded", "loaded", "loaded", "blocked"]

        # issues_by_code: the same counts as each run's summary, with the first row
        issues = rows(con, "select run_id, tenant, code, severity, issues, first_row from analyst.issues_by_code")
        for run_id, summary in runs.items():
            counted: dict[str, int] = {}
            for r in issues:
                if r["run_id"] == run_id:
                    assert r["tenant"] == summary["tenant"]
                    counted[r["code"]] = counted.get(r["code"], 0) + r["issues"]
            expected = {k: v for k, v in summary["issue_counts"].items() if v and k != "balance_without_invite"}
            assert counted == expected, run_id
        b1_issues = [
            (r["code"], r["severity"], r["issues"], r["first_row"])
            for r in issues
            if r["run_id"] == b1.summary["run_id"]
        ]
        assert b1_issues == [("email_invalid", "warning", 1, 3)]
        b2_errors = [(r["severity"], r["first_row"]) for r in issues if r["run_id"] == b2.summary["run_id"]]
        assert ("error", 2) in b2_errors
        assert [r for r in issues if r["run_id"] in (a1.summary["run_id"], a2.summary["run_id"])] == []
    finally:
        con.close()

    # ferry docs: dbt's static documentation next to the warehouse, offline
    code, out, err = run_cli("docs", "--home", home)
    assert code == 0, err
    page = home / "dbt-docs" / "static_index.html"
    assert page.is_file() and str(page.resolve()) in out.replace("\n", "")
    text = page.read_text(encoding="utf-8")
    assert page.stat().st_size > 100_000 and "latest_clients" in text and "issues_by_code" in text
    # the docs never hold a landed cell
    assert "anna@example.cz" not in text and json.dumps("Dvořák")[1:-1] not in text


def test_docs_without_a_warehouse_is_exit_2(home):
    code, _out, err = run_cli("docs", "--home", home)
    assert code == 2 and "run `ferry migrate` first" in err
    assert not (home / "dbt-docs").exists()
