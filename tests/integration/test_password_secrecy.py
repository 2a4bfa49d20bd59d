"""A clear password never leaves the file (GitHub issue 5, docs/CONTRACT.md §2): land hashes it
(argon2id) before anything is written, so it is in no warehouse table, no log line, no
report, no rejects.csv, no summary, no error message and not in the target.

Real `ferry migrate` runs (loaded, blocked, unusable input) with known passwords, then a
search of everything they left behind: every file under the home, dbt's and Prefect's
folders, the target database file, every column of every table of the warehouse and of
the target, and everything printed or logged."""

from __future__ import annotations

import gzip
import json
import logging
import os
import zipfile
from pathlib import Path

import duckdb
from argon2 import PasswordHasher
from openpyxl import Workbook
from sqlalchemy import inspect, text

from ferry.target.db import make_engine, parse_target
from tests.conftest import json_error
from tests.target_fixtures import sql

# Each password holds a distinctive ASCII core: searching for the core finds the password
# however it was escaped (JSON \u00fc, HTML &lt;, CSV quotes) or padded.
PASSWORDS = {
    "Xq7Zebra93": "Xq7Zebra93!",  # a plain login
    "Dup2Column77": "Dup2Column77#",  # a second Passwort column (duplicate_column)
    "Kr4kenGr": "  Kr4kenGrüße <&> ",  # spaces, umlauts, HTML specials
    "Otto0hneMail55": "Otto0hneMail55",  # row rejected: email_required
    "Karla5Formula": "=Karla5Formula(1)",  # row rejected: email_invalid; looks like a formula
    "N0bodyQuote42": 'N0bodyQuote42,"x"',  # row rejected: name_missing; quotes and a comma
    "918273645012": 918273645012,  # Excel: a number
    "M0ritzDup77": "M0ritzDup77",  # login_duplicate (in the file)
    "Max2ndTry88": "Max2ndTry88",  # a valid row of a blocked run
    "HeaderLess99Pw": "HeaderLess99Pw",  # a file without a header row
}

CSV_QUOTED = '"' + PASSWORDS["N0bodyQuote42"].replace('"', '""') + '"'
HEADED = f"""Anrede,Nachname,Vorname,E-Mail,Login ID,Passwort,Notiz,Passwort
Herr,Mustermann,Max,max@example.de,max@example.de,{PASSWORDS["Xq7Zebra93"]},hallo,{PASSWORDS["Dup2Column77"]}
Frau,Müller,Erika,erika@example.de,erika,"{PASSWORDS["Kr4kenGr"]}",,
Herr,Ohne,Otto,,otto,{PASSWORDS["Otto0hneMail55"]},,
Frau,Kaputt,Karla,karla@,karla,{PASSWORDS["Karla5Formula"]},,
,,,nobody@example.de,nobody,{CSV_QUOTED},,
"""
HEADER_LESS = f"max2@example.de;{PASSWORDS['HeaderLess99Pw']};Max Zwei;max2@example.de\n"


def blocked_xlsx(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["Vorname", "Nachname", "E-Mail", "Login ID", "Passwort"])
    sheet.append(["Zahl", "Passwort", "zahl@example.de", "zahl", PASSWORDS["918273645012"]])
    sheet.append(["Moritz", "Erster", "moritz1@example.de", "moritz", PASSWORDS["M0ritzDup77"]])
    sheet.append(["Moritz", "Zweiter", "moritz2@example.de", "MORITZ", PASSWORDS["M0ritzDup77"]])
    sheet.append(["Maxi", "Andere", "maxi@example.de", "Max@Example.de", PASSWORDS["Max2ndTry88"]])
    book.save(path)
    return path


def forms(core: str) -> list[bytes]:
    """The core as it could sit in a file: UTF-8 (also inside JSON/HTML), UTF-16."""
    return [core.encode("utf-8"), core.encode("utf-16-le"), core.encode("utf-16-be")]


def file_contents(path: Path) -> list[bytes]:
    """The file's bytes, and each member's when it is a zip (xlsx) or gzip file."""
    data = path.read_bytes()
    out = [data]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            out += [z.read(name) for name in z.namelist()]
    elif data[:2] == b"\x1f\x8b":
        out.append(gzip.decompress(data))
    return out


def leaks_in_files(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            for data in file_contents(path):
                found += [f"{path}: {core}" for core in PASSWORDS if any(f in data for f in forms(core))]
    return found


def leaks_in_text(where: str, text_: str) -> list[str]:
    return [f"{where}: {core}" for core in PASSWORDS if core in text_]


def leaks_in_warehouse(path: Path) -> list[str]:
    found = []
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        assert ("raw", "rows") in tables and ("marts", "clients") in tables
        for schema, table in tables:
            for row in con.execute(f'select * from "{schema}"."{table}"').fetchall():
                found += leaks_in_text(f"warehouse {schema}.{table}", repr(row) + str(row))
    finally:
        con.close()
    return found


def leaks_in_target(url: str) -> list[str]:
    found = []
    engine = make_engine(parse_target(url))
    try:
        tables = inspect(engine).get_table_names()
        assert "clients" in tables and "accounts" in tables
        with engine.connect() as conn:
            for table in tables:
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    found += leaks_in_text(f"target {table}", str(tuple(row)))
    finally:
        engine.dispose()
    return found


def search(home: Path, texts: dict[str, str], target: str | None = None, folders=()) -> list[str]:
    """Every place a run leaves something: texts (output, logs), files, warehouse, target."""
    leaks = [leak for where, t in texts.items() for leak in leaks_in_text(where, t)]
    for folder in (home, os.environ.get("FERRY_DBT_DIR"), os.environ.get("PREFECT_HOME"), *folders):
        if folder and Path(folder).is_dir():
            leaks += leaks_in_files(Path(folder))
    if target is not None:
        if target.startswith("sqlite:///"):
            db = Path(target.removeprefix("sqlite:///"))
            assert db.is_file()
            leaks += [f"{db}: {core}" for core in PASSWORDS if any(f in db.read_bytes() for f in forms(core))]
        leaks += leaks_in_target(target)
    leaks += leaks_in_warehouse(home / "warehouse.duckdb")
    return leaks


def logged(caplog, capfd) -> dict[str, str]:
    captured = capfd.readouterr()
    return {
        "process stdout": captured.out,
        "process stderr": captured.err,
        "log records": "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records),
    }


def test_no_clear_password_anywhere(migrate, tmp_path, home, target_url, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    hasher = PasswordHasher()

    # 1. valid logins, rejected rows with passwords, a second password column
    headed = tmp_path / "kontakte.csv"
    headed.write_text(HEADED, encoding="utf-8")
    loaded = migrate(headed, "--target", target_url, "--max-reject-rate", "1", tenant="studio")
    assert loaded.exit_code == 0, loaded.stderr
    assert loaded.summary["rows"]["valid"] == 2 and loaded.summary["rows"]["rejected"] == 3
    assert {"email_required", "email_invalid", "name_missing", "duplicate_column"} <= set(loaded.codes())
    clients = {c["email"]: c for c in sql(target_url, "SELECT email, password_hash, extra FROM clients")}
    assert hasher.verify(clients["max@example.de"]["password_hash"], PASSWORDS["Xq7Zebra93"])
    assert hasher.verify(clients["erika@example.de"]["password_hash"], PASSWORDS["Kr4kenGr"].strip())
    # the second password column is kept in extra, as a hash
    dup = json.loads(clients["max@example.de"]["extra"])["Passwort"]
    assert dup.startswith("$argon2id$") and hasher.verify(dup, PASSWORDS["Dup2Column77"])

    # 2. a file without a header row: unusable without --columns (exit 2: the message
    #    names the file and the problem, quoting no cell), then loaded with them
    header_less = tmp_path / "ohne_kopf.csv"
    header_less.write_text(HEADER_LESS, encoding="utf-8")
    refused = migrate(header_less, "--target", target_url, tenant="studio")
    assert refused.exit_code == 2 and json_error(refused.stdout, 2)
    assert "ohne_kopf.csv" in refused.stderr and "--columns" in refused.stderr
    ordered = migrate(
        header_less, "--target", target_url, "--columns", "email,password,full_name,login_id", tenant="studio"
    )
    assert ordered.exit_code == 0, ordered.stderr
    (max2,) = sql(target_url, "SELECT password_hash FROM clients WHERE email = 'max2@example.de'")
    assert hasher.verify(max2["password_hash"], PASSWORDS["HeaderLess99Pw"])

    texts = logged(caplog, capfd)
    for name, run in {"loaded": loaded, "refused": refused, "ordered": ordered}.items():
        texts[f"{name} stdout"], texts[f"{name} stderr"] = run.stdout, run.stderr
    assert search(home, texts, target_url) == []

    # the search does find the passwords where they are: in the input files
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for f in (headed, header_less):
        f.rename(inputs / f.name)
    assert {leak.split(": ")[-1] for leak in leaks_in_files(inputs)} == {
        "Xq7Zebra93",
        "Dup2Column77",
        "Kr4kenGr",
        "Otto0hneMail55",
        "Karla5Formula",
        "N0bodyQuote42",
        "HeaderLess99Pw",
    }


def test_no_clear_password_in_a_prefect_run(tmp_path, caplog, capfd):
    """The Prefect flow (tasks, their results, its API database and logs) on a run blocked
    by login_duplicate, from Excel with a password typed as a number."""
    import prefect.settings
    from prefect.testing.utilities import prefect_test_harness

    from flows.migrate import migrate_clients

    caplog.set_level(logging.DEBUG)
    home = tmp_path / "home"
    path = blocked_xlsx(tmp_path / "logins.xlsx")
    with prefect_test_harness(server_startup_timeout=120):
        api_db = Path(prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split(":///", 1)[1])
        state = migrate_clients(file=str(path), tenant="studio", home=str(home), max_reject_rate=1.0, return_state=True)
        summary = state.result(raise_on_failure=False)
        assert state.is_failed() and summary["status"] == "blocked"
        assert summary["issue_counts"]["login_duplicate"] == 2
        api_dump = dump_sqlite(api_db)
    # the number typed as a password is hashed as its digits (no ".0")
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        (cells,) = con.execute(
            "select cells from raw.rows where run_id = ? and row_number = 2", [summary["run_id"]]
        ).fetchone()
    finally:
        con.close()
    assert PasswordHasher().verify(cells[4], "918273645012")
    texts = logged(caplog, capfd)
    texts["flow result"] = json.dumps(summary, default=str) + repr(state)
    texts["prefect api database"] = api_dump
    assert not (home / "booking.db").exists()  # blocked: the target was never created
    assert search(home, texts, folders=[api_db.parent]) == []


def dump_sqlite(path: Path) -> str:
    import sqlite3

    con = sqlite3.connect(path)
    try:
        tables = [t for (t,) in con.execute("select name from sqlite_master where type = 'table'")]
        return "\n".join(str(row) for t in tables for row in con.execute(f'select * from "{t}"'))
    finally:
        con.close()
