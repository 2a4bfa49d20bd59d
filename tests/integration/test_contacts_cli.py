"""`ferry export-contacts` (docs/CONTRACT.md §8) after real migrations through the CLI, on SQLite and
PostgreSQL: the marketing hand-off holds the tenant's clients with an e-mail, in the fixed
columns, formula-safe, consent-filtered on request, and never another tenant's clients."""

from __future__ import annotations

import csv

from tests.conftest import run_cli

STUDIO_A = """First name,Last name,Email,Phone,Newsletter,Tags
Žofie,Dvořáková,zofie@example.cz,+420 601 123 456,ano,"vip, yoga"
=cmd|' /C calc'!A0,@SUM(1),evil@example.cz,,ne,-x
Anna,Nová,ANNA@example.cz,,yes,
Nomail,Person,,,ano,
"""
# another business: one of its clients shares Anna's e-mail address
STUDIO_B = """First name,Last name,Email,Phone,Newsletter
Anna,Jiná,anna@example.cz,+420 777 000 111,ano
Olga,Cizí,olga@example.cz,,ano
"""
HEADER = ["email", "first_name", "last_name", "phone", "tags", "consent"]


def read(path) -> tuple[list[str], list[dict]]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # plain UTF-8
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def test_export_contacts_after_real_migrations(target_url, home, write_csv, tmp_path):
    for tenant, text, extra in (("studio-a", STUDIO_A, ["--tag", "spring"]), ("studio-b", STUDIO_B, [])):
        code, _out, err = run_cli(
            "migrate",
            write_csv(text, f"{tenant}.csv"),
            "--tenant",
            tenant,
            "--home",
            home,
            "--target",
            target_url,
            "--json",
            *extra,
        )
        assert code == 0, err

    out = tmp_path / "contacts.csv"
    code, stdout, err = run_cli("export-contacts", "--tenant", "studio-a", "-o", out, "--target", target_url)
    assert code == 0, err
    assert "3 contacts written" in stdout
    header, rows = read(out)
    assert header == HEADER
    assert rows == [
        {
            "email": "zofie@example.cz",
            "first_name": "Žofie",
            "last_name": "Dvořáková",
            "phone": "'+420601123456",
            "tags": "spring, vip, yoga",
            "consent": "true",
        },
        {
            "email": "evil@example.cz",
            "first_name": "'=cmd|' /C calc'!A0",
            "last_name": "'@SUM(1)",
            "phone": "",
            "tags": "'-x, spring",
            "consent": "false",
        },
        {
            "email": "anna@example.cz",
            "first_name": "Anna",
            "last_name": "Nová",
            "phone": "",
            "tags": "spring",
            "consent": "true",
        },
    ]
    # nothing in the file would run as a formula in a spreadsheet
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    text = out.read_text(encoding="utf-8")
    assert "Jiná" not in text and "olga@example.cz" not in text and "Nomail" not in text

    # --consented-only: only those who agreed to the newsletter
    consented = tmp_path / "consented.csv"
    code, stdout, err = run_cli(
        "export-contacts", "--tenant", "studio-a", "--consented-only", "-o", consented, "--target", target_url
    )
    assert code == 0, err
    assert "2 contacts written" in stdout
    header, rows = read(consented)
    assert header == HEADER
    assert [(r["email"], r["consent"]) for r in rows] == [("zofie@example.cz", "true"), ("anna@example.cz", "true")]

    # the other business gets its own clients, Anna's shared address with its own name
    other = tmp_path / "other.csv"
    code, stdout, err = run_cli("export-contacts", "--tenant", "studio-b", "-o", other, "--target", target_url)
    assert code == 0, err
    _header, rows = read(other)
    assert [(r["email"], r["last_name"]) for r in rows] == [("anna@example.cz", "Jiná"), ("olga@example.cz", "Cizí")]

    # a tenant without clients: the header only
    empty = tmp_path / "empty.csv"
    code, stdout, err = run_cli("export-contacts", "--tenant", "nobody", "-o", empty, "--target", target_url)
    assert code == 0, err
    assert "0 contacts written" in stdout
    assert read(empty) == (HEADER, [])


def test_export_contacts_from_a_missing_target_is_a_clear_error(tmp_path):
    db = tmp_path / "booking.db"
    code, _out, err = run_cli(
        "export-contacts", "--tenant", "studio", "-o", tmp_path / "c.csv", "--target", f"sqlite:///{db}"
    )
    assert code == 3 and "does not exist" in err
    assert not db.exists() and not (tmp_path / "c.csv").exists()
