"""land(): any export -> raw.* in a real DuckDB warehouse."""

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import openpyxl
import pytest
from argon2 import PasswordHasher

from ferry.config import RunOptions
from ferry.errors import InputError
from ferry.ingest.land import land

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

ZENAMU = (
    "name and surname,email,entries,credits,phone,consent\r\n"
    "John Doe,john.doe@example.com,0,1000,+420123456789,yes\r\n"
    "Jane Doe,jane.doe@example.com,,,,\r\n"
    "Anna Doe,anna.doe@example.com,,150,,\r\n"
)


def write(tmp_path, data, name="clients.csv"):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def options(tmp_path, path, **kw):
    return RunOptions(file=path, tenant="studio", home=tmp_path / "home", **kw)


def query(tmp_path, sql, params=()):
    # read_only differs from land's connection config, so this also proves land closed it
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def landed_rows(tmp_path, run_id="run-1"):
    return query(tmp_path, "SELECT row_number, cells FROM raw.rows WHERE run_id = ? ORDER BY row_number", [run_id])


def issues(tmp_path, run_id="run-1"):
    return query(
        tmp_path,
        "SELECT row_number, column_name, value, severity, code FROM raw.file_issues WHERE run_id = ? "
        "ORDER BY row_number NULLS FIRST, column_name",
        [run_id],
    )


def test_zenamu_csv_lands_every_raw_table(tmp_path):
    path = write(tmp_path, ZENAMU)
    result = land(options(tmp_path, path), "run-1")

    assert result.rows_read == 3
    assert (result.format, result.encoding, result.delimiter, result.sheet) == ("csv", "utf-8", ",", None)
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (result.file_name, result.size_bytes, result.header_row) == ("clients.csv", path.stat().st_size, 1)
    assert result.source_system == "zenamu"
    assert result.unmapped_columns == []
    assert result.columns == {"full_name": 1, "email": 2, "entries": 3, "credits": 4, "phone": 5, "consent": 6}

    [run] = query(
        tmp_path,
        "SELECT tenant, file_name, file_path, sha256, size_bytes, format, encoding, delimiter, "
        "sheet, header_row, source_system, options FROM raw.runs",
    )
    assert run[:11] == (
        "studio",
        "clients.csv",
        str(path.resolve()),
        result.sha256,
        result.size_bytes,
        "csv",
        "utf-8",
        ",",
        None,
        1,
        "zenamu",
    )
    assert json.loads(run[11])["tenant"] == "studio"
    assert query(tmp_path, "SELECT run_id FROM raw.current_run") == [("run-1",)]
    assert query(
        tmp_path,
        "SELECT column_index, header, header_key, field, mapped_by, is_duplicate "
        "FROM raw.columns ORDER BY column_index",
    )[0] == (1, "name and surname", "name and surname", "full_name", "dictionary", False)
    assert landed_rows(tmp_path) == [
        (2, ["John Doe", "john.doe@example.com", "0", "1000", "+420123456789", "yes"]),
        (3, ["Jane Doe", "jane.doe@example.com", "", "", "", ""]),
        (4, ["Anna Doe", "anna.doe@example.com", "", "150", "", ""]),
    ]
    # Zenamu's own example number is not an assigned Czech range: phone_invalid later
    assert query(tmp_path, "SELECT phone_raw, phone_e164 FROM raw.phone_numbers") == [("+420123456789", None)]
    assert issues(tmp_path) == []


def test_runs_accumulate_and_current_run_follows_the_latest(tmp_path):
    path = write(tmp_path, ZENAMU)
    land(options(tmp_path, path), "run-1")
    land(options(tmp_path, path), "run-2")
    assert query(tmp_path, "SELECT run_id FROM raw.current_run") == [("run-2",)]
    assert query(tmp_path, "SELECT run_id, count(*) FROM raw.rows GROUP BY run_id ORDER BY run_id") == [
        ("run-1", 3),
        ("run-2", 3),
    ]


def test_landing_the_same_run_again_replaces_only_that_run(tmp_path):
    land(options(tmp_path, write(tmp_path, ZENAMU)), "run-1")
    land(options(tmp_path, write(tmp_path, ZENAMU, "b.csv")), "run-2")
    land(options(tmp_path, write(tmp_path, ZENAMU.replace("John", "Johann"), "b.csv")), "run-2")
    assert query(tmp_path, "SELECT run_id, count(*) FROM raw.runs GROUP BY run_id ORDER BY run_id") == [
        ("run-1", 1),
        ("run-2", 1),
    ]
    assert landed_rows(tmp_path, "run-2")[0][1][0] == "Johann Doe"
    assert landed_rows(tmp_path, "run-1")[0][1][0] == "John Doe"


def test_passwords_are_hashed_before_anything_is_written(tmp_path):
    secret, other = "S3cret-Pa55", "Zweites-Geh31m"
    data = (
        "Anrede;Nachname;Vorname;Postleitzahl;E-Mail Adresse;Login ID;Passwort;Password\r\n"
        f"Herr;Muster;Max;01234;max@example.de;max@example.de;{secret};{other}\r\n"
        f"Frau;Muster;Erika;04321;erika@example.de;erika@example.de;  {secret} ;\r\n"
    )
    result = land(options(tmp_path, write(tmp_path, data)), "run-1")
    assert result.source_system == "etermin" and result.columns["password"] == 7
    rows = landed_rows(tmp_path)
    max_hash, erika_hash, dup_hash = rows[0][1][6], rows[1][1][6], rows[0][1][7]
    assert max_hash.startswith("$argon2id$") and dup_hash.startswith("$argon2id$")
    assert erika_hash != max_hash  # same password, own salt: the hashes do not tell
    assert PasswordHasher().verify(erika_hash, secret)  # trimmed before hashing
    assert rows[1][1][7] == ""  # an empty password cell stays empty
    assert rows[0][1][3] == "01234"  # postal codes keep their leading zero
    everything = query(
        tmp_path,
        """
        SELECT string_agg(x, '|') FROM (
            SELECT array_to_string(cells, '|') AS x FROM raw.rows
            UNION ALL SELECT concat_ws('|', value, message, column_name) FROM raw.file_issues
            UNION ALL SELECT concat_ws('|', header, field) FROM raw.columns
            UNION ALL SELECT options FROM raw.runs)""",
    )[0][0]
    assert secret not in everything and other not in everything
    for f in (tmp_path / "home").iterdir():
        assert secret.encode() not in f.read_bytes()


def test_headerless_file_without_columns_is_refused_with_a_hint(tmp_path):
    path = write(tmp_path, "Jan Novák,jan@example.cz,5,,+420601123456,ano\r\n")
    with pytest.raises(InputError) as e:
        land(options(tmp_path, path), "run-1")
    message = str(e.value)
    assert e.value.exit_code == 2
    assert message.startswith("clients.csv: the first row looks like data")
    # it says where the e-mail is but quotes no cell: any column may hold a password
    assert "column 2 holds an e-mail address" in message
    assert not any(cell in message for cell in ("Jan Novák", "jan@example.cz", "+420601123456"))
    assert "--columns a,b,c" in message and "--mapping FILE" in message
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()


def test_first_row_without_any_known_header_is_data(tmp_path):
    with pytest.raises(InputError, match="the first row looks like data"):
        land(options(tmp_path, write(tmp_path, "Jan Novák;Praha\nEva Malá;Brno\n")), "run-1")


def test_columns_option_reads_a_headerless_file_from_row_one(tmp_path):
    path = write(tmp_path, "Jan Novák;jan@example.cz;-;601123456\nEva Malá;eva@example.cz;x;\n")
    result = land(options(tmp_path, path, columns=("full_name", "email", "skip", "phone")), "run-1")
    assert result.header_row is None and result.source_system == "generic"
    assert result.columns == {"full_name": 1, "email": 2, "phone": 4}
    assert landed_rows(tmp_path) == [
        (1, ["Jan Novák", "jan@example.cz", "-", "601123456"]),
        (2, ["Eva Malá", "eva@example.cz", "x", ""]),
    ]
    assert query(tmp_path, "SELECT header, header_key, field, mapped_by FROM raw.columns ORDER BY column_index") == [
        (None, None, "full_name", "columns"),
        (None, None, "email", "columns"),
        (None, None, None, "columns"),
        (None, None, "phone", "columns"),
    ]
    assert query(tmp_path, "SELECT header_row FROM raw.runs") == [(None,)]


def test_unknown_field_in_columns_is_named(tmp_path):
    with pytest.raises(InputError, match=r"--columns: 'mail' is not a field Ferry knows; use one of full_name"):
        land(options(tmp_path, write(tmp_path, ZENAMU), columns=("full_name", "mail")), "run-1")


def test_mapping_file_beats_columns_and_dictionary(tmp_path):
    mapping = tmp_path / "map.yml"
    mapping.write_text('columns:\n  "Kontakt": phone\n  "name and surname": skip\n  "Klient": full_name\n')
    data = "name and surname;Klient;Kontakt;email\nignored;Jan Novák;601123456;jan@example.cz\n"
    result = land(options(tmp_path, write(tmp_path, data), mapping=mapping, columns=("email",)), "run-1")
    assert result.columns == {"full_name": 2, "phone": 3, "email": 4}
    assert result.unmapped_columns == ["name and surname"]
    assert query(tmp_path, "SELECT field, mapped_by FROM raw.columns ORDER BY column_index") == [
        (None, "mapping"),
        ("full_name", "mapping"),
        ("phone", "mapping"),
        ("email", "dictionary"),
    ]


def test_mapping_file_order_reads_a_headerless_file(tmp_path):
    mapping = tmp_path / "map.yml"
    mapping.write_text("order: [email, full_name]\n")
    result = land(options(tmp_path, write(tmp_path, "jan@example.cz;Jan\n"), mapping=mapping), "run-1")
    assert result.columns == {"email": 1, "full_name": 2} and landed_rows(tmp_path) == [(1, ["jan@example.cz", "Jan"])]


def test_second_column_for_a_field_is_kept_and_flagged(tmp_path):
    data = "Name;Phone;Email;Phone;Mobile;Notes;Notes\nJan;601123456;j@x.cz;777;888;a;b\n"
    result = land(options(tmp_path, write(tmp_path, data)), "run-1")
    assert result.columns == {"full_name": 1, "phone": 2, "email": 3}
    assert result.unmapped_columns == ["Notes", "Notes"]  # repeated names are told apart, not merged
    assert query(tmp_path, "SELECT column_index, header, field, is_duplicate FROM raw.columns ORDER BY 1") == [
        (1, "Name", "full_name", False),
        (2, "Phone", "phone", False),
        (3, "Email", "email", False),
        (4, "Phone", "phone", True),
        (5, "Mobile", "phone", True),
        (6, "Notes", None, False),
        (7, "Notes", None, False),
    ]
    assert issues(tmp_path) == [
        (None, "Mobile", None, "warning", "duplicate_column"),
        (None, "Phone", None, "warning", "duplicate_column"),
    ]
    assert landed_rows(tmp_path) == [(2, ["Jan", "601123456", "j@x.cz", "777", "888", "a", "b"])]
    assert query(tmp_path, "SELECT phone_raw FROM raw.phone_numbers") == [("601123456",)]


def test_a_guessed_code_page_is_a_file_warning(tmp_path):
    data = "Name;Email\nSøren Lefèvre;s@x.dk\nRené Dupont;r@x.fr\n".encode("cp1252")
    result = land(options(tmp_path, write(tmp_path, data)), "run-1")
    assert result.encoding == "cp1250" and result.rows_read == 2
    assert issues(tmp_path) == [(None, None, None, "warning", "encoding_guessed")]
    (message,) = query(tmp_path, "SELECT message FROM raw.file_issues")[0]
    assert "as cp1252 it would read Lefèvre, Søren" in message


def test_extra_cells_land_as_extra_columns_and_short_rows_are_padded(tmp_path):
    data = "Name;Email;Phone\nJan;j@x.cz;601123456;surplus;more\nEva;e@x.cz\nPetr;p@x.cz;;;\n"
    result = land(options(tmp_path, write(tmp_path, data)), "run-1")
    assert result.rows_read == 3 and result.unmapped_columns == []
    assert landed_rows(tmp_path) == [
        (2, ["Jan", "j@x.cz", "601123456", "surplus", "more"]),
        (3, ["Eva", "e@x.cz", "", "", ""]),
        (4, ["Petr", "p@x.cz", "", "", ""]),
    ]
    assert query(tmp_path, "SELECT column_index, header, field FROM raw.columns WHERE column_index > 3") == [
        (4, None, None),
        (5, None, None),
    ]
    assert issues(tmp_path) == [(2, "column_4", "surplus | more", "warning", "extra_cells")]


def test_trailing_delimiter_adds_no_column(tmp_path):
    land(options(tmp_path, write(tmp_path, "Name;Email;\r\nJan;j@x.cz;\r\nEva;e@x.cz;\r\n")), "run-1")
    assert query(tmp_path, "SELECT count(*) FROM raw.columns") == [(2,)]
    assert landed_rows(tmp_path) == [(2, ["Jan", "j@x.cz"]), (3, ["Eva", "e@x.cz"])]
    assert issues(tmp_path) == []


def test_blank_rows_are_skipped_but_row_numbers_stay_those_of_the_sheet(tmp_path):
    data = 'Name;Note\r\n\r\nJan;"two\r\nlines"\r\n ; \r\n;\r\nEva;x\r\n'
    result = land(options(tmp_path, write(tmp_path, data)), "run-1")
    assert result.rows_read == 2
    assert landed_rows(tmp_path) == [(3, ["Jan", "two\r\nlines"]), (6, ["Eva", "x"])]


def test_header_only_file_has_no_data_rows(tmp_path):
    with pytest.raises(InputError, match="clients.csv: there is a header row but no data rows"):
        land(options(tmp_path, write(tmp_path, "Name;Email\r\n;\r\n")), "run-1")


def test_sql_in_a_header_is_just_an_unmapped_column(tmp_path):
    header = 'x");DROP TABLE clients;--'
    data = f'Name;Email;"{header.replace(chr(34), chr(34) * 2)}"\nJan;j@x.cz;1\n'
    result = land(options(tmp_path, write(tmp_path, data)), "run-1")
    assert result.unmapped_columns == [header]
    assert query(tmp_path, "SELECT header FROM raw.columns WHERE column_index = 3") == [(header,)]
    assert landed_rows(tmp_path) == [(2, ["Jan", "j@x.cz", "1"])]


def test_prefixed_camel_case_headers_of_german_practice_software(tmp_path):
    data = (
        "personSalutation;personFirstName;personLastName;personEmail;personPhone;personBirthday;personZip\n"
        "Frau;Erika;Muster;erika@example.de;030 1234567;31.12.1980;10115\n"
    )
    result = land(options(tmp_path, write(tmp_path, data), country="DE"), "run-1")
    assert result.columns == {
        "salutation": 1,
        "first_name": 2,
        "last_name": 3,
        "email": 4,
        "phone": 5,
        "birth_date": 6,
        "postal_code": 7,
    }
    assert result.source_system == "practice"
    assert query(tmp_path, "SELECT phone_e164 FROM raw.phone_numbers") == [("+49301234567",)]


def test_source_option_names_the_system(tmp_path):
    assert land(options(tmp_path, write(tmp_path, ZENAMU), source="loyalty"), "run-1").source_system == "loyalty"


def test_unknown_country_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="--country 'XX'"):
        land(options(tmp_path, write(tmp_path, ZENAMU), country="XX"), "run-1")


def test_xlsx_with_title_rows_lands_with_sheet_row_numbers(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Kunden"
    for r in (
        ["Kundenliste"],
        ["Stand: Mai"],
        [],
        ["Vorname", "Nachname", "E-Mail", "Telefon", "Geburtstag"],
        ["Erika", "Muster", "erika@example.de", 420601123456, dt.datetime(1980, 12, 31)],
        [],
        ["Max", "Muster", "max@example.de", "4.20601E+11", dt.date(1975, 1, 2)],
    ):
        ws.append(r)
    wb.create_sheet("Notizen")
    path = tmp_path / "kunden.xlsx"
    wb.save(path)
    result = land(options(tmp_path, path), "run-1")
    assert (result.format, result.sheet, result.header_row, result.rows_read) == ("xlsx", "Kunden", 4, 2)
    assert landed_rows(tmp_path) == [
        (5, ["Erika", "Muster", "erika@example.de", "420601123456", "1980-12-31"]),
        (7, ["Max", "Muster", "max@example.de", "4.20601E+11", "1975-01-02"]),
    ]
    # a number cell keeps its digits (libphonenumber reads the leading 420 as CZ's code);
    # Excel's scientific notation text is never expanded into a guessed number
    assert sorted(query(tmp_path, "SELECT phone_raw, phone_e164 FROM raw.phone_numbers")) == [
        ("4.20601E+11", None),
        ("420601123456", "+420601123456"),
    ]
    with pytest.raises(InputError, match=r"there is no sheet 'Clients'; the sheets are 'Kunden', 'Notizen'"):
        land(options(tmp_path, path, sheet="Clients"), "run-2")


def test_xls_fixture_lands(tmp_path):
    result = land(options(tmp_path, FIXTURES / "clients.xls"), "run-1")
    assert (result.format, result.sheet, result.header_row, result.source_system) == ("xls", "Klienti", 3, "zenamu")
    assert result.columns == {"full_name": 1, "email": 2, "phone": 3, "birth_date": 4, "entries": 5, "credits": 6}
    assert landed_rows(tmp_path)[0] == (
        4,
        ["Jiří Dvořák", "jiri@example.cz", "420601123456", "1980-12-31", "5", "150.5"],
    )
    assert sorted(query(tmp_path, "SELECT phone_raw, phone_e164 FROM raw.phone_numbers")) == [
        ("+420 777 888 999", "+420777888999"),
        ("420601123456", "+420601123456"),
    ]


def test_cp1250_file_lands_decoded(tmp_path):
    data = "Jméno a příjmení;E-mail;Vstupy\r\nJiří Dvořák;jiri@example.cz;5\r\n".encode("cp1250")
    result = land(options(tmp_path, write(tmp_path, data)), "run-1")
    assert (result.encoding, result.delimiter, result.source_system) == ("cp1250", ";", "zenamu")
    assert landed_rows(tmp_path) == [(2, ["Jiří Dvořák", "jiri@example.cz", "5"])]


def test_blank_header_cells_are_columns_without_a_header(tmp_path):
    wb = openpyxl.Workbook()
    for r in (["", "Name", "", "Email"], ["1", "Jan", "note", "j@x.cz"]):
        wb.active.append(r)
    path = tmp_path / "gaps.xlsx"
    wb.save(path)
    result = land(options(tmp_path, path), "run-1")
    assert result.columns == {"full_name": 2, "email": 4} and result.unmapped_columns == []
    assert query(tmp_path, "SELECT column_index, header, field FROM raw.columns ORDER BY 1") == [
        (1, None, None),
        (2, "Name", "full_name"),
        (3, None, None),
        (4, "Email", "email"),
    ]
    assert landed_rows(tmp_path) == [(2, ["1", "Jan", "note", "j@x.cz"])]


def test_a_rerun_takes_known_phone_numbers_from_earlier_runs_of_the_same_country(tmp_path):
    path = write(tmp_path, "name,email,phone\nJan,jan@example.cz,603 123 456\nEva,eva@example.cz,+49 30 1234567\n")
    land(options(tmp_path, path), "run-1")
    # plant a marker in run-1's lookup: a second run that re-parsed would not produce it
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb")) as con:
        con.execute("UPDATE raw.phone_numbers SET phone_e164 = '+420000000001' WHERE phone_raw = '603 123 456'")
    land(options(tmp_path, path), "run-2")
    land(options(tmp_path, path, country="SK"), "run-3")
    found = dict(query(tmp_path, "SELECT run_id, phone_e164 FROM raw.phone_numbers WHERE phone_raw = '603 123 456'"))
    assert found["run-2"] == "+420000000001"  # reused for the same --country
    assert found["run-3"] != "+420000000001"  # another default region is parsed afresh
    assert (
        dict(query(tmp_path, "SELECT run_id, phone_e164 FROM raw.phone_numbers WHERE phone_raw = '+49 30 1234567'"))[
            "run-2"
        ]
        == "+49301234567"
    )
