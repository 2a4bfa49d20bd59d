"""The main job end to end on the embedded defaults: real file -> DuckDB -> dbt -> GX ->
SQLite, asserting what a user checks: the summary, rejects.csv and the target."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import json_error, sqlite_rows
from tests.target_fixtures import sql

ZENAMU_EN = """name and surname,email,entries,credits,phone,consent
John Doe,john.doe@example.com,0,1000,+420123456789,yes
Jane Doe,jane.doe@example.com,,,,
Anna Doe,anna.doe@example.com,,150,,
"""

# the French help page's sample: spaces after the commas, a phone with a space
ZENAMU_FR = """name and surname, email, entries, credits, phone, consent
John Doe,john.doe@example.com, 0, 1000, +420 603123456, yes
Jane Doe,jane.doe@example.com,,,,
Anna Doe,anna.doe@example.com,,150,,
"""

ZENAMU_ES = """nombre y apellidos, correo electrónico, entradas, créditos, teléfono, consentimiento
Juan Pérez,juan.perez@example.com, 0, 1000, +34 612345678, sí
Ana López,ana.lopez@example.com,,,,
Luis Gómez,luis.gomez@example.com,,150,,
"""


def test_zenamu_example_loads_clients_balances_and_invites(migrate, write_csv, home):
    run = migrate(write_csv(ZENAMU_EN))
    assert run.exit_code == 0, run.stderr
    s = run.summary
    assert s["status"] == "loaded"
    assert s["rows"] == {"read": 3, "valid": 3, "rejected": 0, "merged": 0, "duplicate": 0, "loaded": 3}
    assert s["clients"] == {"new": 3, "updated": 0, "unchanged": 0}
    assert s["balances"]["entries"] == 0 and s["balances"]["credits"] == 1150
    assert s["invites_queued"] == 3
    assert s["gate"]["passed"] is True
    assert s["source"]["format"] == "csv" and s["source"]["delimiter"] == ","
    clients = sqlite_rows(
        home,
        "select full_name, email, phone, newsletter_consent, registration_status, tenant from clients order by email",
    )
    assert clients == [
        ("Anna Doe", "anna.doe@example.com", None, 0, "unregistered", "studio"),
        ("Jane Doe", "jane.doe@example.com", None, 0, "unregistered", "studio"),
        # +420 123 456 789 is not a valid Czech number (they start with 2-9): phone_invalid
        ("John Doe", "john.doe@example.com", None, 1, "unregistered", "studio"),
    ]
    assert run.codes() == {"phone_invalid": 1}
    assert sqlite_rows(home, "select phone_raw from clients where email = 'john.doe@example.com'") == [
        ("+420123456789",)
    ]
    credits = sqlite_rows(
        home,
        "select c.email, b.amount from balances b join clients c on c.id = b.client_id "
        "where b.kind = 'credits' and b.amount > 0 order by c.email",
    )
    assert [(e, float(a)) for e, a in credits] == [("anna.doe@example.com", 150.0), ("john.doe@example.com", 1000.0)]
    assert sqlite_rows(home, "select count(*), min(status) from invite_queue") == [(3, "pending")]


def test_french_sample_with_spaces_after_commas(migrate, write_csv, home):
    run = migrate(write_csv(ZENAMU_FR))
    assert run.exit_code == 0, run.stderr
    assert run.summary["rows"]["valid"] == 3
    assert run.summary["balances"]["credits"] == 1150
    assert sqlite_rows(home, "select phone from clients where email = 'john.doe@example.com'") == [("+420603123456",)]


def test_spanish_headers_map_without_mapping(migrate, write_csv, home):
    run = migrate(write_csv(ZENAMU_ES))
    assert run.exit_code == 0, run.stderr
    assert run.summary["unmapped_columns"] == []
    assert sqlite_rows(
        home, "select phone, newsletter_consent from clients where email = 'juan.perez@example.com'"
    ) == [("+34612345678", 1)]


def test_bad_row_blocks_the_load_and_leaves_the_target_untouched(migrate, write_csv, home):
    text = ZENAMU_EN + "Bad Mail,bad@,3,,,\n"
    run = migrate(write_csv(text))
    assert run.exit_code == 1
    assert run.summary["status"] == "blocked"
    assert run.summary["rows"]["rejected"] == 1 and run.summary["rows"]["loaded"] == 0
    assert run.summary["invites_queued"] == 0
    assert run.codes()["email_invalid"] == 1
    failed = [c["name"] for c in run.summary["gate"]["checks"] if not c["passed"]]
    assert failed == ["reject_rate_within_limit"]
    assert not (home / "booking.db").exists()
    # the balances that would have loaded are still reported
    assert run.summary["balances"]["credits"] == 1150


def test_max_reject_rate_lets_the_good_rows_through(migrate, write_csv, home):
    text = ZENAMU_EN + "Bad Mail,bad@,3,,,\n"
    run = migrate(write_csv(text), "--max-reject-rate", "0.25")
    assert run.exit_code == 0
    assert run.summary["rows"] == {"read": 4, "valid": 3, "rejected": 1, "merged": 0, "duplicate": 0, "loaded": 3}
    errors = [r for r in run.rejects() if r["severity"] == "error"]
    assert errors == [
        {
            "row": "5",
            "column": "email",
            "value": "bad@",
            "severity": "error",
            "code": "email_invalid",
            "message": errors[0]["message"],
        }
    ]
    assert "bad@" in errors[0]["message"]
    # the phone warning's value starts with '+', so a spreadsheet must not run it
    phone = [r for r in run.rejects() if r["code"] == "phone_invalid"]
    assert phone[0]["value"] == "'+420123456789"
    assert sqlite_rows(home, "select count(*) from clients") == [(3,)]


def test_field_warnings_load_the_client_with_the_bad_value_emptied(migrate, write_csv, home):
    text = "name and surname,email,entries,credits,phone,consent,birth date\nWarn Me,warn@x,,,12,maybe,31.02.1980\n"
    run = migrate(write_csv(text))
    assert run.exit_code == 0, run.stderr
    assert run.codes() == {"email_invalid": 1, "phone_invalid": 1, "consent_unknown": 1, "date_invalid": 1}
    row = sqlite_rows(home, "select email, phone, phone_raw, newsletter_consent, birth_date, extra from clients")[0]
    assert row[:5] == (None, None, "12", 0, None)
    assert json.loads(row[5])["birth_date"] == "31.02.1980"
    assert run.summary["invites_queued"] == 0  # no e-mail, no invitation


def test_errors_reject_rows(migrate, write_csv):
    text = (
        "name and surname,email,entries,credits\n"
        "No Mail,,5,\n"  # email_required
        ",nobody@example.com,,\n"  # name_missing
        "Neg,neg@example.com,-5,\n"  # balance_negative
        "Frac,frac@example.com,1.5,\n"  # entries_invalid
        "Junk,junk@example.com,,abc\n"  # credits_invalid
        "Good,good@example.com,1,\n"
    )
    run = migrate(write_csv(text), "--max-reject-rate", "1")
    assert run.exit_code == 0
    assert run.codes() == {
        "email_required": 1,
        "name_missing": 1,
        "balance_negative": 1,
        "entries_invalid": 1,
        "credits_invalid": 1,
    }
    assert run.summary["rows"]["rejected"] == 5 and run.summary["rows"]["valid"] == 1
    by_row = {r["row"]: r["code"] for r in run.rejects()}
    assert by_row == {
        "2": "email_required",
        "3": "name_missing",
        "4": "balance_negative",
        "5": "entries_invalid",
        "6": "credits_invalid",
    }


def test_a_sign_without_a_number_is_an_error_not_zero(migrate, write_csv, home):
    """'-xx' or a lone '-' is no amount: the row is rejected, never loaded with 0."""
    text = (
        "name and surname,email,entries,credits\n"
        "Dash Credits,dash@example.com,1,-\n"
        "Junk Credits,junk@example.com,,-xx\n"
        "Junk Entries,entries@example.com,-xx,\n"
        "Trailing Sign,trail@example.com,,xx-\n"
        "Good,good@example.com,1,2\n"
    )
    run = migrate(write_csv(text), "--max-reject-rate", "1")
    assert run.exit_code == 0, run.stderr
    assert {r["row"]: r["code"] for r in run.rejects()} == {
        "2": "credits_invalid",
        "3": "credits_invalid",
        "4": "entries_invalid",
        "5": "credits_invalid",
    }
    assert run.summary["rows"]["rejected"] == 4
    assert sqlite_rows(home, "select email from clients") == [("good@example.com",)]


def test_amounts_too_large_are_errors_and_the_largest_allowed_sum_exactly(migrate, write_csv, home):
    """A cell of 10^12 or more is invalid (it could not be summed and stored exactly);
    just below it, a client's merged rows add up to the cent in the target."""
    text = (
        "name and surname,email,entries,credits\n"
        "Big Spender,big@example.com,1,9999999999999999\n"
        "Big Spender,big@example.com,2,9999999999999999\n"
        "Many Entries,many@example.com,1000000000000,\n"
        "Rich Client,rich@example.com,1,999999999999.99\n"
        "Rich Client,rich@example.com,2,999999999999.99\n"
    )
    run = migrate(write_csv(text), "--max-reject-rate", "1")
    assert run.exit_code == 0, run.stderr
    rejects = {r["row"]: (r["code"], r["message"]) for r in run.rejects()}
    assert {row: code for row, (code, _) in rejects.items()} == {
        "2": "credits_invalid",
        "3": "credits_invalid",
        "4": "entries_invalid",
    }
    assert all("too large" in message for _, message in rejects.values())
    assert run.summary["rows"]["merged"] == 1
    assert run.summary["balances"]["credits"] == 1999999999999.98
    (amount,) = sqlite_rows(home, "select amount from balances where kind = 'credits'")[0]
    assert f"{float(amount):.2f}" == "1999999999999.98"


def test_a_row_joined_by_another_delimiter_is_rejected_not_loaded_as_a_name(migrate, write_csv, home):
    text = (
        "name and surname,email,entries,credits\n"
        "Jan Novak,jan@example.cz,1,10\n"
        "Jana Novakova;jana@example.cz;5;100\n"
        "Eva Bila,eva@example.cz,,\n"
    )
    blocked = migrate(write_csv(text))
    assert blocked.exit_code == 1 and blocked.summary["status"] == "blocked"
    run = migrate(write_csv(text), "--max-reject-rate", "0.5")
    assert run.exit_code == 0, run.stderr
    assert run.summary["rows"]["read"] == 3 and run.summary["rows"]["rejected"] == 1
    assert [(r["row"], r["code"], r["severity"]) for r in run.rejects()] == [("3", "row_delimiter", "error")]
    names = [n for (n,) in sqlite_rows(home, "select full_name from clients order by id")]
    assert names == ["Jan Novak", "Eva Bila"]


def test_a_name_with_a_comma_in_a_semicolon_file_is_not_a_joined_row(migrate, write_csv, home):
    run = migrate(write_csv("Name;Email;Credits\nNovak, Jan;;\nEva Bila;eva@example.cz;1\n"))
    assert run.exit_code == 0, run.stderr
    assert "row_delimiter" not in run.codes()
    assert run.summary["rows"]["valid"] == 2


def test_duplicates_merges_and_shared_emails(migrate, write_csv, home):
    text = (
        "name and surname,email,entries,credits\n"
        "John Doe,john@example.com,2,100\n"
        "John Doe,john@example.com,2,100\n"  # identical: duplicate_row
        'john doe,JOHN@example.com,1,"50,5"\n'  # same e-mail + name: merged, balances add
        "Jane Roe,shared@example.com,1,\n"
        "Jim Roe,shared@example.com,1,\n"
    )  # same e-mail, other name: email_shared x2
    run = migrate(write_csv(text), "--max-reject-rate", "0.5")
    assert run.exit_code == 0, run.stderr
    assert run.summary["rows"] == {"read": 5, "valid": 1, "rejected": 2, "merged": 1, "duplicate": 1, "loaded": 1}
    assert run.codes() == {"duplicate_row": 1, "email_shared": 2}
    assert run.summary["balances"] == {"entries": 3, "credits": 150.5}
    amounts = dict(sqlite_rows(home, "select kind, amount from balances"))
    assert float(amounts["entries"]) == 3 and float(amounts["credits"]) == 150.5


def test_dry_run_reads_but_never_creates_the_target(migrate, write_csv, home):
    run = migrate(write_csv(ZENAMU_EN), "--dry-run")
    assert run.exit_code == 0
    assert run.summary["status"] == "dry_run"
    assert run.summary["invites_queued"] == 0 and run.summary["rows"]["loaded"] == 0
    assert run.summary["balances"]["credits"] == 1150
    assert not (home / "booking.db").exists()


def test_blocked_dry_run_exits_1(migrate, write_csv, home):
    run = migrate(write_csv(ZENAMU_EN + "Bad Mail,bad@,3,,,\n"), "--dry-run")
    assert (run.exit_code, run.summary["status"]) == (1, "blocked")


def test_invites_balances_only_those_holding_a_balance(migrate, write_csv, home):
    run = migrate(write_csv(ZENAMU_EN), "--invites", "balances")
    assert run.summary["invites_queued"] == 2
    invited = sqlite_rows(home, "select email from invite_queue order by email")
    assert invited == [("anna.doe@example.com",), ("john.doe@example.com",)]


def test_invites_none_counts_balances_without_invite(migrate, write_csv, home):
    run = migrate(write_csv(ZENAMU_EN), "--invites", "none")
    assert run.summary["invites_queued"] == 0
    assert run.summary["issue_counts"]["balance_without_invite"] == 2
    assert sqlite_rows(home, "select count(*) from invite_queue") == [(0,)]


def test_rerun_of_the_same_file_changes_nothing(migrate, write_csv, home):
    path = write_csv(ZENAMU_EN)
    first = migrate(path)
    before = sqlite_rows(home, "select id, full_name, email, updated_at from clients order by id")
    second = migrate(path)
    assert second.exit_code == 0
    assert second.summary["clients"] == {"new": 0, "updated": 0, "unchanged": 3}
    assert second.summary["invites_queued"] == 0
    assert sqlite_rows(home, "select id, full_name, email, updated_at from clients order by id") == before
    assert sqlite_rows(home, "select count(*) from invite_queue") == [(3,)]
    assert first.summary["run_id"] != second.summary["run_id"]


def test_corrected_file_sets_new_sums(migrate, write_csv, home):
    migrate(write_csv(ZENAMU_EN))
    corrected = ZENAMU_EN.replace("Anna Doe,anna.doe@example.com,,150,,", "Anna Doe,anna.doe@example.com,,175,,")
    run = migrate(write_csv(corrected, name="corrected.csv"))
    assert run.summary["clients"] == {"new": 0, "updated": 1, "unchanged": 2}
    amount = sqlite_rows(
        home,
        "select b.amount from balances b join clients c on c.id = b.client_id "
        "where c.email = 'anna.doe@example.com' and b.kind = 'credits'",
    )
    assert [float(a) for (a,) in amount] == [175.0]


def test_tags_and_unmapped_columns_are_kept(migrate, write_csv, home):
    text = "name and surname,email,Lieblingskurs,Notiz\nEva Malá,eva@example.com,Yoga,=1+1\n"
    run = migrate(write_csv(text), "--tag", "migrated", "--tag", "2026")
    assert run.exit_code == 0, run.stderr
    assert run.summary["unmapped_columns"] == ["Lieblingskurs", "Notiz"]
    tags, extra = sqlite_rows(home, "select tags, extra from clients")[0]
    assert sorted(json.loads(tags)) == ["2026", "migrated"]
    assert json.loads(extra) == {"Lieblingskurs": "Yoga", "Notiz": "=1+1"}


def test_rejects_csv_is_formula_safe(migrate, write_csv):
    text = 'name and surname,email,entries\nEvil,"=HYPERLINK(""http://x"")",3\nTab,"@SUM(1)",2\n'
    run = migrate(write_csv(text), "--max-reject-rate", "1")
    values = [r["value"] for r in run.rejects()]
    assert values == ['\'=HYPERLINK("http://x")', "'@SUM(1)"]


def test_run_folder_holds_the_evidence(migrate, write_csv, home):
    run = migrate(write_csv(ZENAMU_EN + "Bad Mail,bad@,3,,,\n"), "--max-reject-rate", "0.5")
    files = {p.name for p in run.run_dir.iterdir()}
    assert {"summary.json", "rejects.csv", "report.html"} <= files
    assert json.loads((run.run_dir / "summary.json").read_text()) == run.summary
    docs = run.summary["paths"]["data_docs"]
    assert docs.endswith("index.html") and Path(docs).read_text().count("<html") >= 1
    html = (run.run_dir / "report.html").read_text()
    assert run.summary["source"]["sha256"] in html and "email_invalid" in html
    assert "http://" not in html.split("</style>")[0]  # no CDN, no external stylesheet


def test_warehouse_keeps_every_run_keyed_by_run_id(migrate, write_csv, home):
    a = migrate(write_csv(ZENAMU_EN))
    b = migrate(write_csv(ZENAMU_ES, name="es.csv"))
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        per_run = dict(con.execute("select run_id, count(*) from marts.clients group by run_id").fetchall())
        raw = dict(con.execute("select run_id, count(*) from raw.rows group by run_id").fetchall())
        sha = con.execute("select sha256 from raw.runs where run_id = ?", [a.summary["run_id"]]).fetchone()[0]
    finally:
        con.close()
    assert per_run == {a.summary["run_id"]: 3, b.summary["run_id"]: 3}
    assert raw == per_run
    assert sha == a.summary["source"]["sha256"]


def test_summary_row_accounting_always_adds_up(migrate, write_csv):
    text = "name and surname,email,entries\n" + "A B,a@example.com,1\n" * 3 + "C D,,2\n" + ",x@example.com,\n"
    s = migrate(write_csv(text), "--max-reject-rate", "1").summary
    r = s["rows"]
    assert r["read"] == r["valid"] + r["rejected"] + r["merged"] + r["duplicate"] == 5


def test_missing_file_is_exit_2_with_one_clear_line(migrate, tmp_path, home):
    run = migrate(tmp_path / "nope.csv")
    assert run.exit_code == 2
    assert "nope.csv" in json_error(run.stdout, 2)["error"]
    assert "nope.csv" in run.stderr and "Traceback" not in run.stderr
    assert not (home / "booking.db").exists()


def test_header_less_file_needs_columns(migrate, write_csv, home):
    path = write_csv("John Doe,john@example.com,3\nJane Doe,jane@example.com,\n")
    run = migrate(path)
    assert run.exit_code == 2
    assert "--columns" in run.stderr and "--mapping" in run.stderr
    run = migrate(path, "--columns", "full_name,email,entries")
    assert run.exit_code == 0, run.stderr
    assert run.summary["rows"]["read"] == 2 and run.summary["balances"]["entries"] == 3


def test_unknown_card_template_is_exit_2(migrate, write_csv):
    run = migrate(write_csv(ZENAMU_EN), "--card-template", "nope")
    assert run.exit_code == 2 and "nope" in run.stderr


def test_a_shifted_row_in_a_login_file_never_lands_its_surplus_cells(migrate, write_csv, home):
    # row 3's name holds an unquoted comma: every cell moves right, the password into a surplus cell
    text = (
        "name,email,Login ID,Password\n"
        "Max Muster,max@example.de,max@example.de,Geheim-111\n"
        "Muster, Erika,erika@example.de,erika@example.de,Geheim-222\n"
    )
    run = migrate(write_csv(text), "--max-reject-rate", "1")
    assert run.exit_code == 0, run.stderr
    assert run.summary["rows"]["rejected"] == 1 and run.summary["rows"]["valid"] == 1
    extra = [r for r in run.rejects() if r["code"] == "extra_cells"]
    assert [(r["row"], r["severity"]) for r in extra] == [("3", "error")]
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        cells = " ".join(str(c) for (c,) in con.execute("select cells from raw.rows").fetchall())
    finally:
        con.close()
    assert "Geheim-222" not in cells and "Geheim-111" not in cells
    assert "Geheim-222" not in (home / "booking.db").read_bytes().decode("utf-8", "replace")


def test_an_unexpected_error_is_one_line_and_a_log_file(migrate, write_csv, home):
    # a file where the home keeps its runs' work folders: no rule anticipates it
    home.mkdir(parents=True)
    (home / "work").write_text("not a folder", encoding="utf-8")
    run = migrate(write_csv(ZENAMU_EN))
    assert run.exit_code == 70 and "please report" in json_error(run.stdout, 70)["error"]
    assert "unexpected error" in run.stderr and "Traceback" not in run.stderr
    logs = list((home / "errors").glob("*.log"))
    assert len(logs) == 1 and "Traceback" in logs[0].read_text() and str(logs[0]) in run.stderr.replace("\n", "")
    assert not (home / "booking.db").exists()


def test_a_very_long_name_or_email_gives_the_same_result_on_every_target(migrate, write_csv, target_url):
    """A name of thousands of characters loads on PostgreSQL as on SQLite (its match key is
    hashed to fit an index); an e-mail longer than 254 characters is invalid on both."""
    long_name = "Anna " + "Nováková" * 863
    text = (
        "name and surname,email,entries,credits\n"
        f"{long_name},,,\n"
        f"Bob Long,{'b' * 250}@example.com,,\n"
        "Cyd Short,cyd@example.com,1,2\n"
    )
    run = migrate(write_csv(text), "--target", target_url)
    assert run.exit_code == 0, run.stderr
    assert run.summary["rows"]["loaded"] == 3 and run.codes() == {"email_invalid": 1}
    names = sql(target_url, "SELECT full_name, email FROM clients ORDER BY id")
    assert [len(r["full_name"]) for r in names] == [len(long_name), 8, 9]
    assert names[1]["email"] is None
    again = migrate(write_csv(text), "--target", target_url)  # the hashed key finds the client again
    assert again.summary["clients"] == {"new": 0, "updated": 0, "unchanged": 3}


@pytest.mark.parametrize(
    "args, words",
    [
        (["--home", "{file}"], ["--home", "is a file, not a folder"]),
        (["--home", "/proc/self/ferry-home"], ["--home", "cannot write there"]),
        (["--target", "postgresql://ferry:secret@localhost:abc/booking"], ["port is not a number", "ferry:***@"]),
    ],
    ids=["home-is-a-file", "home-not-writable", "port-not-a-number"],
)
def test_unusable_environment_arguments_are_exit_2_not_a_bug(args, words, write_csv, tmp_path):
    """A --home Ferry cannot use or a target URL that cannot be read is bad input (exit 2,
    one line naming it, the password hidden), not an 'unexpected error'."""
    from tests.conftest import run_cli

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    argv = [a.format(file=blocker) for a in args]
    if "--home" not in argv:
        argv += ["--home", str(tmp_path / "home")]
    code, out, err = run_cli(
        "migrate", str(write_csv("Name,Email\nJan,jan@example.cz\n")), "--tenant", "t", *argv, "--json"
    )
    assert code == 2, err
    assert json_error(out, 2) and "unexpected" not in err and "secret" not in err + out
    assert all(w in err for w in words), err


def test_a_login_id_too_long_to_index_is_a_row_error_on_every_target(migrate, write_csv, target_url):
    """PostgreSQL cannot index a login id of thousands of characters; so that a file has one
    outcome whatever the target, such a login is the row's error on SQLite too, and the
    other rows load. A long external id is not indexed: it loads whole on both."""
    text = (
        "name and surname,email,login,customer id,credits\n"
        f"Ann Long,ann@example.com,{'a' * 3000},{'7' * 5000},5\n"
        "Bob Edge,bob@example.com,b" + "o" * 253 + ",42,1\n"
        "Cyd Short,cyd@example.com,cyd,43,2\n"
    )
    run = migrate(write_csv(text), "--target", target_url, "--max-reject-rate", "0.5")
    assert run.exit_code == 0, run.stderr
    assert run.codes() == {"login_id_too_long": 1}
    assert run.summary["rows"]["rejected"] == 1 and run.summary["rows"]["loaded"] == 2
    (issue,) = [r for r in run.rejects() if r["code"] == "login_id_too_long"]
    assert issue["row"] == "2" and "3000 characters" in issue["message"] and len(issue["value"]) < 60
    logins = sql(target_url, "SELECT login_id FROM clients ORDER BY id")
    assert [len(r["login_id"]) for r in logins] == [254, 3]  # at the limit it loads
