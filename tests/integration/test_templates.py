"""`ferry template` (GitHub issue 5, docs/CONTRACT.md §8): an empty import template (headers + one
example row) for zenamu, etermin, etermin-logins and every card type, in five languages,
as CSV or xlsx; filled in, it migrates with no mapping.

Every kind x language x format is written by the real CLI and read back the way land reads
a file (reader, header row, dictionary); a representative handful is filled in and run
through the real `ferry migrate` into SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import itertools

import pytest
from argon2 import PasswordHasher

from ferry.ingest.card_templates import CARD_TYPES, KIND_BY_TYPE
from ferry.ingest.headers import default_dictionary, find_header_row, map_headers
from ferry.ingest.readers import read_file
from tests.conftest import run_cli
from tests.target_fixtures import sql

LANGUAGES = ("en", "de", "fr", "es", "cs")
FORMATS = ("csv", "xlsx")
CARD_FIELDS = ["first_name", "last_name", "email", "phone", "card_balance"]
FIELDS = {
    "zenamu": ["full_name", "email", "entries", "credits", "phone", "consent"],
    # eTermin's help page: Anrede, Nachname, Vorname, Postleitzahl, E-Mail Adresse
    "etermin": ["salutation", "last_name", "first_name", "postal_code", "email", "phone"],
    "etermin-logins": ["salutation", "last_name", "first_name", "postal_code", "email", "login_id", "password"],
    **{card: CARD_FIELDS for card in CARD_TYPES},
}
KINDS = list(FIELDS)


def make_template(tmp_path, kind: str, language: str, fmt: str):
    out = tmp_path / f"{kind}-{language}.{fmt}"
    code, stdout, stderr = run_cli("template", kind, "-o", out, "--format", fmt, "--language", language)
    assert code == 0, stderr
    assert str(out) in stdout.replace("\n", "")
    return out


def read_back(path):
    """The template as land sees it: (header cells, mapped fields, the example row)."""
    grid = read_file(path)
    rows = [[v for k, v in r.items() if k != "row_number"] for r in grid.table.to_pylist()]
    at = find_header_row(rows, None, default_dictionary(), allow_title_rows=grid.format != "csv")
    assert at == 0, f"{path.name}: the header row is not recognised"
    header = [h for h in rows[0] if h.strip()]
    columns = map_headers(header, None, default_dictionary())
    return header, columns, rows[1:]


def test_every_kind_language_and_format_maps_to_its_fields_without_a_mapping(tmp_path):
    for kind, language, fmt in itertools.product(KINDS, LANGUAGES, FORMATS):
        where = f"{kind} {language} {fmt}"
        header, columns, examples = read_back(make_template(tmp_path, kind, language, fmt))
        assert [c.field for c in columns] == FIELDS[kind], where
        assert not any(c.is_duplicate for c in columns), where
        assert [c.mapped_by for c in columns] == ["dictionary"] * len(columns), where
        # one example row, as wide as the header
        assert len(examples) == 1 and len(examples[0]) == len(header), where
        example = dict(zip(FIELDS[kind], examples[0]))
        assert example["email"] == "jana.novakova@example.com", where
        if "card_balance" in example:
            # membership and coupon cards take no balance from the file: leave it empty
            assert example["card_balance"] == ("" if kind in ("membership", "coupon") else "11"), where
        if "postal_code" in example:
            assert example["postal_code"] == "01067", where  # leading zero kept, also in Excel
        if fmt == "xlsx" and "phone" in example:
            assert example["phone"] == "+420 603 123 456", where  # text, not a formula or a number


def test_headers_differ_by_language(tmp_path):
    headers = {lang: read_back(make_template(tmp_path, "etermin-logins", lang, "csv"))[0] for lang in LANGUAGES}
    assert headers["de"] == ["Anrede", "Nachname", "Vorname", "Postleitzahl", "E-Mail", "Login ID", "Passwort"]
    assert headers["en"][-2:] == ["Login ID", "Password"]
    assert len({tuple(h) for h in headers.values()}) == len(LANGUAGES)


def test_template_defaults_to_an_english_csv_named_after_the_kind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, stderr = run_cli("template", "gift")
    assert code == 0, stderr
    with open(tmp_path / "gift.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["First name", "Last name", "email", "phone", "Balance"]
    # the phone's leading + would make a spreadsheet run it as a formula: quoted
    assert rows[1] == ["Jana", "Nováková", "jana.novakova@example.com", "'+420 603 123 456", "11"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["template", "punchcard"], ["punchcard", "zenamu", "etermin-logins", "stamp", "multipass"]),
        (["template", "stamp", "--language", "pl"], ["--language", "pl", "en, de, fr, es, cs"]),
        (["template", "stamp", "--format", "ods"], ["--format", "ods"]),
    ],
)
def test_bad_template_arguments_are_exit_2(args, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _stdout, stderr = run_cli(*args)
    assert code == 2
    assert all(w in stderr for w in words), stderr
    assert "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


# ---- filled in and fed back through the real migration ------------------------------------

# a second client a user typed in below the example row
FILLED = {
    "etermin-logins": ["Herr", "Mustermann", "Max", "10115", "max@example.de", "Max@Example.de", "Geheim-2026"],
    "stamp": ["Max", "Mustermann", "max@example.de", "+49 30 1234567", "7"],
    "discount": ["Max", "Mustermann", "max@example.de", "", "3 500"],
    "zenamu": ["Max Mustermann", "max@example.de", "2", "100,5", "", "ne"],
}


def fill_in(path, row: list[str]):
    """Type a row below the example, the way a user would, in the template's own format."""
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path)
        book.active.append(row)
        book.save(path)
    else:
        with open(path, "a", encoding="utf-8", newline="") as f:
            csv.writer(f).writerow(row)
    return path


@pytest.mark.parametrize(
    "kind, language, fmt",
    [
        ("etermin-logins", "de", "csv"),
        ("stamp", "en", "xlsx"),
        ("discount", "cs", "csv"),
        ("zenamu", "es", "csv"),
    ],
)
def test_a_filled_in_template_migrates_without_a_mapping(kind, language, fmt, migrate, tmp_path, target_url):
    path = fill_in(make_template(tmp_path, kind, language, fmt), FILLED[kind])
    args = ["--target", target_url]
    if kind in CARD_TYPES:
        args += ["--card-template", kind]
    run = migrate(path, *args, tenant="studio")
    assert run.exit_code == 0, run.stderr
    s = run.summary
    assert s["status"] == "loaded"
    assert s["source"]["format"] == fmt
    assert s["unmapped_columns"] == []
    assert s["rows"] == {"read": 2, "valid": 2, "rejected": 0, "merged": 0, "duplicate": 0, "loaded": 2}
    assert not run.codes(), run.rejects()
    clients = {c["email"]: c for c in sql(target_url, "SELECT * FROM clients WHERE tenant = 'studio'")}
    assert set(clients) == {"jana.novakova@example.com", "max@example.de"}
    jana, max_ = clients["jana.novakova@example.com"], clients["max@example.de"]
    assert (jana["first_name"], jana["last_name"], jana["full_name"]) == ("Jana", "Nováková", "Jana Nováková")
    assert max_["full_name"] == "Max Mustermann"
    amounts = {
        (r["email"], r["kind"]): (float(r["amount"]), r["tier"])
        for r in sql(
            target_url,
            """
        SELECT c.email, b.kind, b.amount, b.tier FROM balances b JOIN clients c ON c.id = b.client_id""",
        )
    }

    if kind == "etermin-logins":
        assert (jana["salutation"], jana["postal_code"]) == ("Frau", "01067")
        for c, password in ((jana, "change-me-2026"), (max_, "Geheim-2026")):
            assert c["registration_status"] == "registered"
            assert PasswordHasher().verify(c["password_hash"], password)
        assert s["invites_queued"] == 0 and amounts == {}
    elif kind == "stamp":
        assert (jana["phone"], max_["phone"]) == ("+420603123456", "+49301234567")
        assert amounts == {("jana.novakova@example.com", "stamps"): (11, None), ("max@example.de", "stamps"): (7, None)}
    elif kind == "discount":
        kind_ = KIND_BY_TYPE["discount"]
        assert amounts == {("jana.novakova@example.com", kind_): (11, "0%"), ("max@example.de", kind_): (3500, "10%")}
    else:
        assert jana["phone"] == "+420603123456" and bool(jana["newsletter_consent"]) is True
        assert bool(max_["newsletter_consent"]) is False
        assert amounts == {
            ("jana.novakova@example.com", "entries"): (5, None),
            ("jana.novakova@example.com", "credits"): (250, None),
            ("max@example.de", "entries"): (2, None),
            ("max@example.de", "credits"): (100.5, None),
        }
        assert s["invites_queued"] == 2
