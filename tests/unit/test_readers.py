"""Reading CSV/Excel exports into text cells with spreadsheet row numbers."""

import codecs
import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from ferry.errors import InputError
from ferry.ingest.readers import cell_text, detect_delimiter, parse_polars, parse_python, read_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def rows(grid):
    """(row_number, cells) per record, trailing '' padding removed."""
    out = []
    for r in grid.table.to_pylist():
        cells = [r[f"c{j}"] for j in range(1, grid.table.num_columns)]
        while cells and cells[-1] == "":
            cells.pop()
        out.append((r["row_number"], cells))
    return out


def write(tmp_path, data: bytes, name="clients.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


CZECH = "Jméno a příjmení;E-mail;Město\nJiří Dvořák;jiri@example.cz;Plzeň\nŠárka Řezníčková;s@example.cz;Děčín\n"
GERMAN = "Vorname;Nachname;Straße\nJürgen;Größe;Weißdornweg\nÄnne;Öztürk;Fußgasse\n"


@pytest.mark.parametrize(
    "data, encoding",
    [
        (CZECH.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + CZECH.encode("utf-8"), "utf-8-sig"),
        (CZECH.encode("utf-16"), "utf-16"),  # BOM + little endian
        (codecs.BOM_UTF16_BE + CZECH.encode("utf-16-be"), "utf-16"),
        (CZECH.encode("cp1250"), "cp1250"),
    ],
)
def test_czech_text_decodes_in_every_supported_encoding(tmp_path, data, encoding):
    grid = read_file(write(tmp_path, data))
    assert grid.encoding == encoding
    assert rows(grid)[1] == (2, ["Jiří Dvořák", "jiri@example.cz", "Plzeň"])
    assert rows(grid)[0][1][0] == "Jméno a příjmení"  # no BOM left on the first header


def test_german_single_byte_file_is_cp1252(tmp_path):
    grid = read_file(write(tmp_path, GERMAN.encode("cp1252")))
    assert grid.encoding == "cp1252"
    assert rows(grid)[1] == (2, ["Jürgen", "Größe", "Weißdornweg"])


@pytest.mark.parametrize(
    "text, encoding",
    [
        ("Vorname;Nachname\nJürgen;Müller\nSøren;Weiß\nRené;Lefèvre\n", "cp1252"),  # foreign names in German
        ("Fornavn;Efternavn;By\nSøren;Kierkegaard;København\nÆbel;Ørsted;Århus\n", "cp1252"),
        ("Prénom;Nom\nHélène;Lefèvre\nAgnès;Dupré\n", "cp1252"),
        ("Nombre;Apellidos\nJosé;Muñoz\nMaría;Ibáñez\n", "cp1252"),
        ("Imię;Nazwisko\nŁukasz;Wiśniewski\nZofia;Żółkiewska\n", "cp1250"),
        ("Meno;Priezvisko\nĽubomír;Šťastný\n", "cp1250"),
        ("Név;Város\nŐrsi Gábor;Győr\nSzűcs Éva;Pécs\n", "cp1250"),
        ("Name;Email\nJiří Novák;j@x.cz\n", "cp1250"),
    ],
)
def test_single_byte_code_page_is_told_from_the_words(tmp_path, text, encoding):
    assert read_file(write(tmp_path, text.encode(encoding))).encoding == encoding


def test_a_clear_code_page_has_no_note(tmp_path):
    text = "Fornavn;Efternavn;By\nSøren;Kierkegaard;København\nÆbel;Ørsted;Århus\n"
    assert read_file(write(tmp_path, text.encode("cp1252"))).encoding_note is None
    assert read_file(write(tmp_path, "Jiří Dvořák;Plzeň\n".encode("cp1250"))).encoding_note is None


@pytest.mark.parametrize(
    "text, written, read, other",
    [
        # a French name and a Danish one also spell Czech words in cp1250 ("Sřren",
        # "Lefčvre"): the guess is cp1250, and the note shows the file's own reading
        ("Name;Email\nSøren Lefèvre;s@x.dk\nRené Dupont;r@x.fr\n", "cp1252", "cp1250", "Lefèvre, Søren"),
        # a Czech "Čech" is also a French-looking "Èech": the Western default, with the note
        ("Jméno;Email\nPetr Čech;p@x.cz\nJan Novák;j@x.cz\n", "cp1250", "cp1252", "Čech"),
    ],
)
def test_a_close_call_between_code_pages_says_what_the_other_would_read(tmp_path, text, written, read, other):
    grid = read_file(write(tmp_path, text.encode(written)))
    assert grid.encoding == read
    assert f"as {written} it would read {other}" in grid.encoding_note
    assert f"--encoding {written}" in grid.encoding_note
    # the choice stands: the file's rows are read, in the guessed code page
    assert rows(grid)[1][1][0] == text.splitlines()[1].split(";")[0].encode(written).decode(read)
    # --encoding settles it: no note
    assert read_file(write(tmp_path, text.encode(written)), encoding=written).encoding_note is None


def test_encoding_option_overrides_detection(tmp_path):
    grid = read_file(write(tmp_path, GERMAN.encode("cp1252")), encoding="latin-1")
    assert grid.encoding == "latin-1" and rows(grid)[1][1] == ["Jürgen", "Größe", "Weißdornweg"]


def test_unknown_encoding_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="'klingon' is not an encoding"):
        read_file(write(tmp_path, b"a;b\n1;2\n"), encoding="klingon")


def test_wrong_encoding_names_the_file_and_the_byte(tmp_path):
    with pytest.raises(InputError, match=r"clients.csv: cannot be read as utf-8 \(byte 0xdf at offset 21"):
        read_file(write(tmp_path, GERMAN.encode("cp1252")), encoding="utf-8")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_detected(tmp_path, delimiter):
    line = delimiter.join
    data = "\r\n".join([line(["Name", "Email", "Note"]), line(["Doe", "d@x.cz", '"a, b; c | d\te"']), ""])
    grid = read_file(write(tmp_path, data.encode()))
    assert grid.delimiter == delimiter
    assert rows(grid)[1] == (2, ["Doe", "d@x.cz", "a, b; c | d\te"])


def test_delimiter_option_overrides_detection(tmp_path):
    grid = read_file(write(tmp_path, b"a;b,c\n1;2,3\n"), delimiter=",")
    assert rows(grid) == [(1, ["a;b", "c"]), (2, ["1;2", "3"])]
    assert read_file(write(tmp_path, b"a\tb\n1\t2\n"), delimiter="tab").delimiter == "\t"
    with pytest.raises(InputError, match="one character"):
        read_file(write(tmp_path, b"a;b\n"), delimiter=";;")


def test_delimiter_detection_prefers_the_consistent_split():
    assert detect_delimiter("Name, Vorname;E-Mail;Telefon\nDoe, John;j@x.de;123\n") == ";"
    assert detect_delimiter("just one column\nvalue\n") == ","


def test_quotes_embedded_newlines_crlf_and_blank_lines_keep_spreadsheet_row_numbers(tmp_path):
    data = b'Name;Note\r\n"Doe; Jane";"line 1\r\nline 2"\r\n\r\nSmith;"say ""hi"""\r\n'
    grid = read_file(write(tmp_path, data))
    assert rows(grid) == [
        (1, ["Name", "Note"]),
        (2, ["Doe; Jane", "line 1\r\nline 2"]),
        (3, []),
        (4, ["Smith", 'say "hi"']),
    ]


def test_ragged_and_stray_quotes_fall_back_to_the_python_parser(tmp_path):
    data = b'Name;Height;Note\n1;5" tall\n2;6;x;extra\n'
    assert parse_polars(data.decode(), ";") is None
    assert rows(read_file(write(tmp_path, data))) == [
        (1, ["Name", "Height", "Note"]),
        (2, ["1", '5" tall']),
        (3, ["2", "6", "x", "extra"]),
    ]


def test_lone_cr_line_ends_are_read(tmp_path):
    assert rows(read_file(write(tmp_path, b"Name;Email\r1;a@x.cz\r2;b@x.cz\r"))) == [
        (1, ["Name", "Email"]),
        (2, ["1", "a@x.cz"]),
        (3, ["2", "b@x.cz"]),
    ]


def test_fast_and_reference_parsers_agree():
    text = 'a;b;c\r\n1;" x ";"q""z"\r\n\r\n;;\r\n4;"multi\r\nline";6\r\n7;8\r\n'
    assert parse_polars(text, ";").to_pylist() == parse_python(Path("x.csv"), text, ";").to_pylist()


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_an_unclosed_quote_in_a_file_without_a_final_line_break_is_still_an_error(tmp_path, eol):
    """Without the last line break, the open quote must not swallow the rows after it."""
    text = eol.join(["Name,Email", "Jana,jana@x.cz", '"Petr,petr@x.cz', "Eva,eva@x.cz", "Ota,ota@x.cz"])
    with pytest.raises(InputError, match=r"clients.csv, row 3: a quote opened here is never closed"):
        read_file(write(tmp_path, text.encode()))


def test_unclosed_quote_is_an_input_error_naming_the_row(tmp_path):
    with pytest.raises(InputError, match=r"clients.csv, row 3: a quote opened here is never closed"):
        read_file(write(tmp_path, b'Name;Email\nJan;j@x.cz\n"Eva;e@x.cz\nPetr;p@x.cz\n'))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "the file is empty"),
        (b"  \r\n\r\n", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "this is a PNG image, not a client list"),
        (b"%PDF-1.7\n", "this is a PDF document"),
        (b"Name;Email\n\x00\x01\x02", "this is a binary file"),
    ],
)
def test_unusable_files_are_input_errors(tmp_path, data, message):
    with pytest.raises(InputError, match=message):
        read_file(write(tmp_path, data))


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="nope.csv: file not found"):
        read_file(tmp_path / "nope.csv")


def test_a_200_mb_single_line_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        chunk = b"x;" * (1 << 19)
        for _ in range(200):
            f.write(chunk)
    with pytest.raises(InputError, match="huge.csv: no line break in the first 1 MB"):
        read_file(path)


def test_overlong_cell_is_an_input_error_in_the_reference_parser(tmp_path):
    # the fast parser takes long cells; a file it hands over (here: ragged) is held to csv's limit
    data = b'Name;Note\nJan;"' + b"x\n" * 70_000 + b'"\nEva;x;ragged\n'
    with pytest.raises(InputError, match="row 2: a cell is longer than"):
        read_file(write(tmp_path, data))


# --- Excel -------------------------------------------------------------------------------


def workbook(tmp_path, sheets: dict[str, list[list]], name="clients.xlsx"):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, data in sheets.items():
        ws = wb.create_sheet(title)
        for r in data:
            ws.append(r)
    path = tmp_path / name
    wb.save(path)
    return path


def test_xlsx_cells_read_as_the_user_sees_them(tmp_path):
    path = workbook(
        tmp_path,
        {
            "Clients": [
                ["Client list"],
                [],
                ["Name", "Phone", "Born", "Visit", "Balance", "Entries", "VIP", "Phone as text"],
                [
                    "Jan",
                    420601123456,
                    dt.datetime(1980, 12, 31),
                    dt.datetime(2024, 5, 6, 14, 30),
                    12.5,
                    3.0,
                    True,
                    "4.20601E+11",
                ],
                ["Eva", 601123456, dt.date(1990, 1, 2), None, 0.1, 1e21, False, "00420601123456"],
            ]
        },
    )
    grid = read_file(path)
    assert (grid.format, grid.sheet, grid.encoding, grid.delimiter) == ("xlsx", "Clients", None, None)
    assert rows(grid) == [
        (1, ["Client list"]),
        (2, []),
        (3, ["Name", "Phone", "Born", "Visit", "Balance", "Entries", "VIP", "Phone as text"]),
        (4, ["Jan", "420601123456", "1980-12-31", "2024-05-06", "12.5", "3", "TRUE", "4.20601E+11"]),
        (5, ["Eva", "601123456", "1990-01-02", "", "0.1", "1000000000000000000000", "FALSE", "00420601123456"]),
    ]


def test_first_non_empty_sheet_is_read_unless_one_is_named(tmp_path):
    path = workbook(tmp_path, {"Empty": [], "Clients": [["Name"], ["Jan"]], "Old": [["Name"], ["Eva"]]})
    assert read_file(path).sheet == "Clients"
    assert rows(read_file(path, sheet="Old"))[1] == (2, ["Eva"])
    assert read_file(path, sheet="2").sheet == "Old"
    with pytest.raises(InputError, match=r"there is no sheet 'Archive'; the sheets are 'Empty', 'Clients', 'Old'"):
        read_file(path, sheet="Archive")


def test_workbook_without_data_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="every sheet is empty"):
        read_file(workbook(tmp_path, {"A": [], "B": [[None]]}))


def test_truncated_xlsx_is_an_input_error(tmp_path):
    good = workbook(tmp_path, {"Clients": [["Name"], ["Jan"]]})
    broken = write(tmp_path, good.read_bytes()[:1500], "broken.xlsx")
    with pytest.raises(InputError, match="broken.xlsx: not a readable xlsx file"):
        read_file(broken)


def test_excel_is_told_by_content_not_by_name(tmp_path):
    xlsx = workbook(tmp_path, {"Clients": [["Name"], ["Jan"]]})
    renamed = write(tmp_path, xlsx.read_bytes(), "export.csv")
    assert read_file(renamed).format == "xlsx"
    text_named_xls = write(tmp_path, b"Name;Email\nJan;j@x.cz\n", "export.xls")
    assert read_file(text_named_xls).format == "csv"


def test_real_xls_file_is_read_with_sheet_row_numbers():
    grid = read_file(FIXTURES / "clients.xls")
    assert (grid.format, grid.sheet) == ("xls", "Klienti")
    assert rows(grid)[2:] == [
        (3, ["Jméno a příjmení", "E-mail", "Telefon", "Datum narození", "Vstupy", "Kredity"]),
        (4, ["Jiří Dvořák", "jiri@example.cz", "420601123456", "1980-12-31", "5", "150.5"]),
        (5, ["Šárka Řezníčková", "sarka@example.cz", "+420 777 888 999", "1992-03-04", "0", "1000"]),
    ]


@pytest.mark.parametrize(
    "value, text",
    [(None, ""), (5.0, "5"), (-2.0, "-2"), (1.5e-05, "0.000015"), (dt.time(9, 30), "09:30:00"), (7, "7")],
)
def test_cell_text(value, text):
    assert cell_text(value) == text
