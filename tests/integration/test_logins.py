"""eTermin logins end to end (GitHub issue 5; docs/CONTRACT.md §3 email required, §4 login
duplicates, §6 accounts and registration): the real `ferry migrate` on real files, into
SQLite and PostgreSQL alike, asserting what a user checks: the summary, rejects.csv and
the target's clients, accounts and invitations."""

from __future__ import annotations

import json
import sqlite3

import pytest
from argon2 import PasswordHasher

from ferry.ingest.headers import default_dictionary, map_headers
from ferry.target.db import ensure_schema, parse_target
from ferry.target.undo import undo_run
from tests.target_fixtures import dump, scalar, sql

# eTermin's own example layout (Anrede, Nachname, Vorname, Postleitzahl, E-Mail) plus the two
# login columns, as German Excel saves "CSV (Trennzeichen-getrennt)": ';' and cp1252.
ETERMIN_HEADER = "Anrede;Nachname;Vorname;Postleitzahl;E-Mail;Login ID;Passwort\n"
ETERMIN_ROWS = [
    "Herr;Mustermann;Max;10115;max@example.de;Max@Example.de;Sommer-2026!\n",  # row 2
    "Frau;Müller;Erika;80331;erika@example.de;erika@example.de;Grüße-2026!\n",  # row 3: account exists
    "Herr;Schmidt;Jonas;20095;jonas@example.de;;\n",  # row 4: no login
    "Frau;Weber;Lena;50667;lena@example.de;lena-w;  Lena#Pass1 \n",  # row 5: login id not an e-mail
]
PASSWORDS = {"max@example.de": "Sommer-2026!", "erika@example.de": "Grüße-2026!", "lena@example.de": "Lena#Pass1"}
TENANT = "studio"


def write(tmp_path, rows: list[str], name: str = "kontakte.csv", header: str = ETERMIN_HEADER, encoding="cp1252"):
    path = tmp_path / name
    path.write_bytes((header + "".join(rows)).encode(encoding))
    return path


def fresh_target(url: str) -> None:
    ensure_schema(parse_target(url))


def clients(url: str, tenant: str = TENANT) -> dict[str, dict]:
    rows = sql(
        url,
        """SELECT email, full_name, login_id, password_hash, registration_status, account_id,
                              must_change_password, tags FROM clients WHERE tenant = :t""",
        t=tenant,
    )
    return {r["email"]: r for r in rows}


def errors_by_row(run) -> dict[int, tuple[str, str]]:
    return {int(r["row"]): (r["code"], r["message"]) for r in run.rejects() if r["severity"] == "error"}


def failed_checks(run) -> list[str]:
    return [c["name"] for c in run.summary["gate"]["checks"] if not c["passed"]]


@pytest.mark.parametrize(
    "headers",
    [
        ["Login ID", "Passwort"],  # eTermin, German
        ["Login ID", "Password"],  # eTermin template, English
        ["Login", "Password"],
        ["LoginID", "password"],  # camelCase and case
        ["login_id", "PASSWORT"],
        ["Identifiant", "Mot de passe"],  # French
        ["Identifiant de connexion", "Mot de passe"],
        ["ID de usuario", "Contraseña"],  # Spanish
        ["Usuario", "contrasena"],  # accents ignored
        ["Přihlašovací jméno", "Heslo"],  # Czech
        ["Benutzername", "Kennwort"],  # German synonyms
    ],
)
def test_login_and_password_headers_map_in_every_language(headers):
    columns = map_headers(["E-Mail", *headers], None, default_dictionary())
    assert [c.field for c in columns] == ["email", "login_id", "password"]


def test_etermin_login_import_registers_clients_with_accounts(migrate, tmp_path, target_url):
    fresh_target(target_url)
    # Erika registered in the booking app herself (created_by_tenant NULL) long ago
    sql(target_url, "INSERT INTO accounts (email, created_at) VALUES ('erika@example.de', '2025-01-02 03:04:05')")
    erika_account = sql(target_url, "SELECT * FROM accounts")[0]
    # another business has Max as an unregistered client: a login import here must not claim him
    sql(
        target_url,
        "INSERT INTO clients (tenant, full_name, email) VALUES ('other', 'Max Mustermann', 'max@example.de')",
    )
    # another business gave a client the login id 'lena-w': login ids are per tenant
    sql(
        target_url,
        "INSERT INTO clients (tenant, full_name, email, login_id, password_hash) "
        "VALUES ('other', 'Lena Anders', 'anders@example.de', 'lena-w', 'x')",
    )

    path = write(tmp_path, ETERMIN_ROWS)
    run = migrate(
        path,
        "--target",
        target_url,
        "--require-password-change",
        "--tag",
        "eTermin-Import",
        "--tag",
        "2026",
        tenant=TENANT,
    )
    assert run.exit_code == 0, run.stderr
    s = run.summary
    assert s["status"] == "loaded"
    assert s["source"]["encoding"] == "cp1252" and s["source"]["delimiter"] == ";"
    assert s["rows"] == {"read": 4, "valid": 4, "rejected": 0, "merged": 0, "duplicate": 0, "loaded": 4}
    assert s["clients"] == {"new": 4, "updated": 0, "unchanged": 0}
    assert s["unmapped_columns"] == []
    # only Erika's e-mail already had an account: linked, with a warning naming her
    assert run.codes() == {"login_account_exists": 1}
    (warning,) = run.rejects()
    assert (warning["row"], warning["column"], warning["severity"], warning["code"]) == (
        "3",
        "Login ID",
        "warning",
        "login_account_exists",
    )
    assert "erika@example.de" in warning["message"]
    # clients with a login get no invitation: they can log in already
    assert s["invites_queued"] == 1
    assert [r["email"] for r in sql(target_url, "SELECT email FROM invite_queue WHERE tenant = :t", t=TENANT)] == [
        "jonas@example.de"
    ]

    got = clients(target_url)
    assert set(got) == {"max@example.de", "erika@example.de", "jonas@example.de", "lena@example.de"}
    assert got["erika@example.de"]["full_name"] == "Erika Müller"
    for email, password in PASSWORDS.items():
        c = got[email]
        assert c["registration_status"] == "registered", email
        assert c["account_id"] is not None, email
        assert bool(c["must_change_password"]) is True, email
        assert c["password_hash"].startswith("$argon2id$"), email
        # the hash is of the decoded, trimmed text: the person logs in with what the file said
        assert PasswordHasher().verify(c["password_hash"], password), email
    assert got["max@example.de"]["login_id"].lower() == "max@example.de"
    assert got["lena@example.de"]["login_id"] == "lena-w"
    jonas = got["jonas@example.de"]
    assert (jonas["registration_status"], jonas["account_id"], jonas["login_id"], jonas["password_hash"]) == (
        "unregistered",
        None,
        None,
        None,
    )
    assert bool(jonas["must_change_password"]) is False
    for c in got.values():
        assert sorted(json.loads(c["tags"])) == ["2026", "eTermin-Import"]

    # accounts: one new per login e-mail, created by this tenant; Erika's untouched, linked
    accounts = {a["email"]: a for a in sql(target_url, "SELECT * FROM accounts")}
    assert set(accounts) == {"erika@example.de", "max@example.de", "lena@example.de"}
    assert accounts["erika@example.de"] == erika_account
    assert got["erika@example.de"]["account_id"] == erika_account["id"]
    for email in ("max@example.de", "lena@example.de"):
        assert accounts[email]["created_by_tenant"] == TENANT
        assert got[email]["account_id"] == accounts[email]["id"]
    # the other business's Max is still theirs to invite
    other = sql(
        target_url,
        "SELECT registration_status, account_id FROM clients WHERE tenant = 'other' AND email = 'max@example.de'",
    )
    assert other == [{"registration_status": "unregistered", "account_id": None}]

    # the same file again, except that Jonas now gets a login: the three login clients are
    # unchanged (no new account, no new hash), Jonas registers
    before = clients(target_url)
    rows = (
        ETERMIN_ROWS[:2]
        + ["Herr;Schmidt;Jonas;20095;jonas@example.de;jonas@example.de;Jonas-2026\n"]
        + ETERMIN_ROWS[3:]
    )
    again = migrate(
        write(tmp_path, rows, name="kontakte2.csv"),
        "--target",
        target_url,
        "--require-password-change",
        "--tag",
        "eTermin-Import",
        "--tag",
        "2026",
        tenant=TENANT,
    )
    assert again.exit_code == 0, again.stderr
    assert again.summary["clients"] == {"new": 0, "updated": 1, "unchanged": 3}
    assert again.summary["invites_queued"] == 0
    assert not [r for r in again.rejects() if r["severity"] == "error"]
    # its own accounts from the first run are no news: no login_account_exists warning
    assert "login_account_exists" not in again.codes()
    after = clients(target_url)
    for email in PASSWORDS:
        assert after[email] == before[email], email
    jonas = after["jonas@example.de"]
    assert jonas["registration_status"] == "registered" and bool(jonas["must_change_password"]) is True
    assert PasswordHasher().verify(jonas["password_hash"], "Jonas-2026")
    jonas_account = sql(target_url, "SELECT * FROM accounts WHERE email = 'jonas@example.de'")
    assert [(a["id"], a["created_by_tenant"]) for a in jonas_account] == [(jonas["account_id"], TENANT)]
    assert scalar(target_url, "SELECT count(*) FROM accounts") == 4
    # his invitation from the first run is withdrawn: he can log in already
    invite = "SELECT status FROM invite_queue WHERE tenant = :t AND email = 'jonas@example.de'"
    assert [r["status"] for r in sql(target_url, invite, t=TENANT)] == ["withdrawn"]
    # and undoing the second run brings it back
    undo_run(target_url, again.summary["run_id"])
    assert [r["status"] for r in sql(target_url, invite, t=TENANT)] == ["pending"]
    assert clients(target_url)["jonas@example.de"]["registration_status"] == "unregistered"


LOGIN_CLASHES = """Salutation,Last name,First name,Postal code,email,Login ID,Password
Mr,Mustermann,Max,10115,max@example.de,max@example.de,pw-alpha-1
Mr,Muster,Maximilian,10117,maxi@example.de,MAX@Example.DE,pw-alpha-2
Ms,Neu,Nina,10119,nina@example.de,taken@example.de,pw-alpha-3
Mr,Anders,Tom,10121,tom@example.de,elsewhere@example.de,pw-alpha-4
Mr,Ohne,Otto,10123,,max@example.de,pw-alpha-5
Ms,Kaputt,Karla,10125,karla@,karla-login,pw-alpha-6
Ms,Eins,Tina,10127,tina1@example.de,trio,pw-alpha-7
Ms,Zwei,Tina,10129,tina2@example.de,Trio,pw-alpha-8
Ms,Drei,Tina,10131,tina3@example.de,TRIO,pw-alpha-9
Mr,Schmidt,Jonas,20095,jonas@example.de,,
"""


def test_shared_login_ids_block_the_load_whatever_the_reject_rate(migrate, tmp_path, target_url):
    fresh_target(target_url)
    # Anna is already in the target with login id taken@example.de; in another tenant,
    # elsewhere@example.de belongs to someone else (login ids are per tenant)
    sql(
        target_url,
        "INSERT INTO clients (tenant, full_name, email, login_id, password_hash) "
        "VALUES (:t, 'Anna Alt', 'anna@example.de', 'taken@example.de', 'h1'), "
        "('other', 'Eva Else', 'eva@example.de', 'elsewhere@example.de', 'h2')",
        t=TENANT,
    )
    before = dump(target_url)
    path = tmp_path / "logins.csv"
    path.write_text(LOGIN_CLASHES, encoding="utf-8")

    run = migrate(path, "--target", target_url, "--max-reject-rate", "1", tenant=TENANT)
    assert run.exit_code == 1, run.stderr
    s = run.summary
    assert s["status"] == "blocked"
    assert failed_checks(run) == ["no_duplicate_logins"]
    assert s["rows"]["read"] == 10 and s["rows"]["loaded"] == 0 and s["invites_queued"] == 0
    assert s["rows"]["rejected"] == 8
    assert run.codes() == {"login_duplicate": 6, "email_required": 1, "email_invalid": 1}
    errors = errors_by_row(run)
    assert {row: code for row, (code, _) in errors.items()} == {
        2: "login_duplicate",
        3: "login_duplicate",
        4: "login_duplicate",
        6: "email_required",
        7: "email_invalid",
        8: "login_duplicate",
        9: "login_duplicate",
        10: "login_duplicate",
    }
    # the message names the rows (a rejected row 6 with the same login takes no part)
    for row in (2, 3):
        message = errors[row][1]
        assert "rows 2 and 3 share login id" in message and "max@example.de" in message.lower()
    for row in (8, 9, 10):
        assert "rows 8, 9 and 10 share login id" in errors[row][1]
        assert "trio" in errors[row][1].lower()
    assert "taken@example.de" in errors[4][1] and "already belongs to another client" in errors[4][1]
    assert "login" in errors[6][1] and "e-mail" in errors[6][1]
    assert "karla@" in errors[7][1]
    # the column is the file's own header, the value the login id as written
    by_row = {int(r["row"]): r for r in run.rejects() if r["code"] == "login_duplicate"}
    assert (by_row[3]["column"], by_row[3]["value"]) == ("Login ID", "MAX@Example.DE")
    # Tom's login id is only taken in another tenant: no clash
    assert 5 not in errors
    # blocked: the target is exactly as it was
    assert dump(target_url) == before

    # a dry run says the same and still changes nothing
    dry = migrate(path, "--target", target_url, "--max-reject-rate", "1", "--dry-run", tenant=TENANT)
    assert (dry.exit_code, dry.summary["status"]) == (1, "blocked")
    assert dry.codes() == run.codes()
    assert dump(target_url) == before


def test_replace_existing_deletes_old_contacts_keeps_appointments(migrate, tmp_path, target_url):
    """eTermin's "delete existing contacts": the tenant's clients go, their appointments
    stay (unlinked, the name kept), and a login id of a deleted client is free again."""
    fresh_target(target_url)
    sql(
        target_url,
        "INSERT INTO clients (tenant, full_name, email) VALUES (:t, 'Olga Alt', 'olga@example.de')",
        t=TENANT,
    )
    sql(
        target_url,
        "INSERT INTO clients (tenant, full_name, email, login_id, password_hash) "
        "VALUES (:t, 'Moritz Weg', 'moritz@example.de', 'max@example.de', 'old-hash')",
        t=TENANT,
    )
    sql(target_url, "INSERT INTO clients (tenant, full_name, email) VALUES ('other', 'Kim Bleib', 'kim@example.de')")
    for email in ("olga@example.de", "kim@example.de"):
        sql(
            target_url,
            """INSERT INTO appointments (tenant, client_id, client_name, starts_at)
                           SELECT tenant, id, NULL, '2026-03-01 10:00' FROM clients WHERE email = :e""",
            e=email,
        )
    other_before = sql(target_url, "SELECT * FROM clients WHERE tenant = 'other'")

    path = write(tmp_path, ETERMIN_ROWS[:1] + ETERMIN_ROWS[2:3])  # Max (login max@example.de), Jonas
    run = migrate(path, "--target", target_url, "--replace-existing", "--tag", "Import", tenant=TENANT)
    assert run.exit_code == 0, run.stderr
    assert run.summary["status"] == "loaded"
    assert run.summary["clients"] == {"new": 2, "updated": 0, "unchanged": 0}
    assert not run.codes()
    got = clients(target_url)
    assert set(got) == {"max@example.de", "jonas@example.de"}
    assert all(json.loads(c["tags"]) == ["Import"] for c in got.values())
    max_ = got["max@example.de"]
    assert max_["registration_status"] == "registered" and max_["login_id"].lower() == "max@example.de"
    assert bool(max_["must_change_password"]) is False  # no --require-password-change
    assert PasswordHasher().verify(max_["password_hash"], "Sommer-2026!")
    appointments = sql(target_url, "SELECT tenant, client_id, client_name FROM appointments ORDER BY id")
    assert appointments[0] == {"tenant": TENANT, "client_id": None, "client_name": "Olga Alt"}
    assert appointments[1]["tenant"] == "other" and appointments[1]["client_id"] is not None
    assert sql(target_url, "SELECT * FROM clients WHERE tenant = 'other'") == other_before


def test_a_login_without_a_password_still_registers_the_client(migrate, write_csv, home):
    """docs/CONTRACT.md §6: a client imported with a login gets an account and 'registered'; with no
    password to import, the person sets one through the app's password reset."""
    text = "name,email,Login ID,Passwort\nMax Muster,max@example.de,max.m,\n"
    run = migrate(write_csv(text), "--require-password-change")
    assert run.exit_code == 0, run.stderr
    assert run.summary["invites_queued"] == 0
    con = sqlite3.connect(home / "booking.db")
    try:
        row = con.execute(
            "select registration_status, account_id is not null, password_hash, login_id from clients"
        ).fetchone()
        accounts = con.execute("select email, created_by_tenant from accounts").fetchall()
    finally:
        con.close()
    assert row == ("registered", 1, None, "max.m")
    assert accounts == [("max@example.de", "studio")]


def test_a_password_without_a_login_id_is_not_imported(migrate, write_csv, home):
    text = "name,email,Login ID,Passwort\nEva Malá,eva@example.cz,,Geheim-333\n"
    run = migrate(write_csv(text))
    assert run.exit_code == 0, run.stderr
    assert run.codes() == {"password_ignored": 1}
    warning = [r for r in run.rejects() if r["code"] == "password_ignored"][0]
    assert (warning["row"], warning["value"]) == ("2", "")  # never the password, nor its hash
    con = sqlite3.connect(home / "booking.db")
    try:
        assert con.execute("select password_hash, login_id, registration_status from clients").fetchall() == [
            (None, None, "unregistered")
        ]
    finally:
        con.close()
