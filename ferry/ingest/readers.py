"""Read any client export into one shape: text cells with the row numbers a spreadsheet shows.

`read_file` is the whole reading step, kept apart from the warehouse so a benchmark can time
it alone. CSV goes through polars when it parses cleanly (the fast path for big files) and
through Python's csv module otherwise; both give the same cells, which the tests check.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
from python_calamine import CalamineWorkbook

from ferry import config
from ferry.errors import InputError

# Every delimiter Ferry knows, by the names --delimiter takes besides the character itself
# (docs/CONTRACT.md §1): detection tries them in this order, a report shows the first name.
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
DELIMITERS = tuple(dict.fromkeys(DELIMITER_NAMES.values()))
SINGLE_BYTE = ("cp1252", "cp1250")

_EXCEL_MAGIC = {b"PK\x03\x04": "xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "xls"}
_BINARY_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
}
# Accented letters of the languages each code page is used for.
ALPHABETS = {
    "cp1252": (
        "äöüß",
        "àâæçéèêëîïôœùûüÿ",
        "áéíñóúü",
        "àèéìíîòóùú",
        "àáâãçéêíóôõú",
        "áäéèëíïóöúü",
        "æøåé",
        "åäöé",
        "àçèéíïòóúü",
        "áðéíóúýþæö",
    ),
    "cp1250": ("áčďéěíňóřšťúůýž", "áäčďéíĺľňóôŕšťúýž", "ąćęłńóśźż", "áéíóöőúüű", "čšž", "čćđšž", "ăâîşţ", "äöüß"),
}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass
class Grid:
    """Every record of the file: `row_number` (int64, as a spreadsheet shows it) then
    `c1..cN` (text, '' for an empty or missing cell)."""

    table: pa.Table | None  # None once the landing has taken the rows
    format: str  # "csv" | "xlsx" | "xls"
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    # set when the code page was a close call: what the other one would have read
    encoding_note: str | None = None


def read_file(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None, sheet: str | None = None
) -> Grid:
    """Read a CSV/TSV/text or Excel export; format is told by content, not by the name."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found.")
    try:
        with open(path, "rb") as f:
            head = f.read(config.SNIFF_BYTES)
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror}).") from None
    if not head.strip():
        raise InputError(f"{path.name}: the file is empty.")
    for magic, kind in _EXCEL_MAGIC.items():
        if head.startswith(magic):
            return read_excel(path, kind, sheet)
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise InputError(f"{path.name}: this is {what}, not a client list (CSV or Excel).")
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(f"{path.name}: this is a binary file, not a client list (CSV or Excel).")
    if len(head) == config.SNIFF_BYTES and b"\n" not in head and b"\r" not in head:
        raise InputError(
            f"{path.name}: no line break in the first {config.SNIFF_BYTES >> 20} MB, so this is not a client list."
        )
    return read_csv(path, path.read_bytes(), encoding, delimiter)


# --- text ------------------------------------------------------------------------------


def read_csv(path: Path, data: bytes, encoding: str | None, delimiter: str | None) -> Grid:
    """The file's records. A big file is held once as bytes and once as the parsed table:
    UTF-8 is parsed from its own bytes, any other encoding is re-encoded to UTF-8 once, and
    no Python string of the whole file is made (the Python parser's fallback aside)."""
    note, detected = None, encoding is None
    if detected:
        encoding, note = detect_encoding(path, data)
    else:
        encoding = check_encoding(encoding)
    # a detected "utf-8" (not a BOM's "utf-8-sig") is what the detection checked already
    text = to_utf8(path, data, encoding, checked=detected and encoding == "utf-8")
    del data  # the caller passes the file's bytes and keeps no reference to them
    if b"\x00" in text:
        raise InputError(f"{path.name}: this is a binary file, not a client list (CSV or Excel).")
    if not text.strip():
        raise InputError(f"{path.name}: the file is empty.")
    if delimiter:
        delimiter = check_delimiter(delimiter)
    else:
        sample = text[: 4 * config.SAMPLE_CHARS].decode("utf-8", errors="ignore")[: config.SAMPLE_CHARS]
        delimiter = detect_delimiter(sample, cut=len(text) > len(sample))
    if not text.endswith((b"\n", b"\r")):
        # a quote left open in the last line must break the file as it does with a final
        # line break, instead of swallowing the rows after it (docs/CONTRACT.md §2)
        text += b"\r\n" if b"\r\n" in text else b"\n"
    frame = polars_frame(text, delimiter)
    if frame is None:
        table = parse_python(path, text.decode("utf-8"), delimiter)
    else:
        del text  # before the table is made: the bytes and the table are never held at once
        table = arrow_columns(frame)
    return Grid(table, "csv", encoding, delimiter, encoding_note=note)


def to_utf8(path: Path, data: bytes, encoding: str, checked: bool = False) -> bytes:
    """The file's text as UTF-8 bytes without a BOM: a UTF-8 file's own bytes, checked
    unless `checked` says they were."""
    if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):
        if not checked and not _is_utf8(data):
            decode(path, data, "utf-8")  # raises, naming the first bad byte
        return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    return decode(path, data, encoding).encode("utf-8")


def _is_utf8(data: bytes, step: int = 1 << 24) -> bool:
    """Whether the bytes are UTF-8, checked in slices so that no string of the whole file
    is made."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for at in range(0, len(view), step):
            decoder.decode(view[at : at + step], final=at + step >= len(view))
    except UnicodeDecodeError:
        return False
    return True


def check_encoding(name: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise InputError(
            f"--encoding {name!r} is not an encoding Ferry knows; try utf-8, utf-16, cp1252 or cp1250."
        ) from None
    return name.lower()


def detect_encoding(path: Path, data: bytes) -> tuple[str, str | None]:
    """BOM first, then strict UTF-8, then cp1252 vs cp1250. Also a note when the code page
    was a close call (see detect_single_byte)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, None
    if _is_utf8(data):
        return "utf-8", None
    return detect_single_byte(path, data)


# How many more of the file's accented words one code page's best language must write
# than the other's for the choice to be more than a guess.
CLEAR_MARGIN = 2


def detect_single_byte(path: Path, data: bytes) -> tuple[str, str | None]:
    """cp1252 unless the words only make sense as cp1250, and a note when that is a guess.

    Only bytes that the two code pages read differently can tell them apart (German
    umlauts and ß are the same bytes in both). First, words that no language of a code
    page can write count against it: "Dvořák" read as cp1252 is "Dvoøák", Polish "Łódź"
    is "£ódŸ", Spanish "Ibáñez" read as cp1250 is "Ibáńez". If that does not settle it,
    the code page whose best single language writes most of the file's accented words
    wins (Hungarian "Győr Szűcs" needs Portuguese and French at once in cp1252). Ties go to
    cp1252, the Western default: a Danish "Søren" in a German list stays cp1252.

    When that last count is close (fewer than CLEAR_MARGIN words apart) the file's words
    read as real words either way ("Søren Lefèvre" is also Czech "Sřren Lefčvre"): the
    choice stands, with a note showing the other reading, which the run reports as the
    warning `encoding_guessed` (refusing would stop as many right guesses as wrong ones).
    """
    high = bytes(set(data.translate(None, bytes(range(128)))))
    valid = [e for e in SINGLE_BYTE if _decodes(high, e)]
    if not valid:
        raise InputError(f"{path.name}: cannot tell the file's encoding; pass --encoding (e.g. utf-8, cp1252).")
    if len(valid) == 1:
        return valid[0], None
    differing = {b for b in high if bytes([b]).decode("cp1252") != bytes([b]).decode("cp1250")}
    if not differing:
        return "cp1252", None
    words = set(re.findall(rb"[A-Za-z\x80-\xff]*[\x80-\xff][A-Za-z\x80-\xff]*", data[: 8 * config.SNIFF_BYTES]))
    telling = [w for w in words if differing.intersection(w)]
    unwritable = {e: sum(not _writable(w.decode(e), ALPHABETS[e]) for w in telling) for e in SINGLE_BYTE}
    if unwritable["cp1250"] != unwritable["cp1252"]:
        return ("cp1250" if unwritable["cp1250"] < unwritable["cp1252"] else "cp1252"), None
    best = {e: max(sum(_writable(w.decode(e), (a,)) for w in words) for a in ALPHABETS[e]) for e in SINGLE_BYTE}
    margin = best["cp1250"] - best["cp1252"]
    choice = "cp1250" if margin > 0 else "cp1252"
    if abs(margin) >= CLEAR_MARGIN:
        return choice, None
    examples = sorted(telling, key=lambda w: (-len(w), w))[:3]
    other = "cp1252" if choice == "cp1250" else "cp1250"
    return choice, (
        f"the file's encoding was guessed: read as {choice} ({', '.join(w.decode(choice) for w in examples)}); "
        f"as {other} it would read {', '.join(w.decode(other) for w in examples)}: if that is right, run again "
        f"with --encoding {other}"
    )


def _writable(word: str, alphabets: tuple[str, ...]) -> bool:
    """Whether one of the alphabets holds every accented letter of the word."""
    special = {c for c in word.casefold() if ord(c) > 127}
    return any(special <= set(a) for a in alphabets)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def decode(path: Path, data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path.name}: cannot be read as {encoding} (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "pass the right --encoding."
        ) from None
    return text.removeprefix("\ufeff")


def named_delimiter(value: str) -> str:
    """The character a name in DELIMITER_NAMES stands for (any case), else `value` as given."""
    return DELIMITER_NAMES.get(value.lower(), value)


def delimiter_label(delimiter: str) -> str:
    """How a report names a delimiter: 'tab', 'comma (,)', …; one Ferry has no name for, as repr."""
    name = next((n for n, d in DELIMITER_NAMES.items() if d == delimiter), None)
    if name is None:
        return repr(delimiter)
    return f"{name} ({delimiter})" if delimiter.strip() else name


def check_delimiter(delimiter: str) -> str:
    d = named_delimiter(delimiter)
    if len(d) != 1 or d in '"\r\n':
        raise InputError(f"--delimiter {delimiter!r} must be one character such as ',', ';', '|' or 'tab'.")
    return d


def detect_delimiter(text: str, cut: bool | None = None) -> str:
    """The candidate that splits the first row into most columns that the next rows repeat.
    `cut`: whether the text is the start of a longer file (its last row may be cut off);
    by default, whether it is longer than the sample."""
    sample = text[: config.SAMPLE_CHARS]
    cut = len(text) > config.SAMPLE_CHARS if cut is None else cut
    best, best_score = ",", None
    for d in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=d) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if cut:
            rows = rows[:-1]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(len(r) == width for r in rows) / len(rows), width)
        if best_score is None or score > best_score:
            best, best_score = d, score
    return best


def parse_polars(text: str | bytes, delimiter: str) -> pa.Table | None:
    """Fast path; None when the file is anything but plain RFC 4180 (ragged rows, stray
    quotes, lone CR line ends), which the Python parser then reads and judges. `text`: a
    string or its UTF-8 bytes."""
    frame = polars_frame(text.encode("utf-8") if isinstance(text, str) else text, delimiter)
    return None if frame is None else arrow_columns(frame)


def polars_frame(data: bytes, delimiter: str) -> pl.DataFrame | None:
    """The records as polars reads them (None: not plain RFC 4180, see parse_polars)."""
    if data.count(b"\r") != data.count(b"\r\n"):
        return None
    try:
        return pl.read_csv(
            data,
            has_header=False,
            separator=delimiter,
            quote_char='"',
            infer_schema=False,
            comment_prefix=None,
            null_values=None,
            try_parse_dates=False,
            truncate_ragged_lines=False,
        )
    except Exception:  # any complaint: let the strict parser decide and explain
        return None


def arrow_columns(frame: pl.DataFrame) -> pa.Table:
    """row_number, c1..cN ('' for an empty cell), taken from the frame one column at a
    time so that the frame and the table never both hold every cell."""
    columns = {"row_number": pa.array(range(1, frame.height + 1), pa.int64())}
    for i, name in enumerate(list(frame.columns), start=1):
        column = frame.drop_in_place(name)
        if column.null_count():
            column = column.fill_null("")
        columns[f"c{i}"] = column.to_arrow()
        del column
    return pa.table(columns)


def parse_python(path: Path, text: str, delimiter: str) -> pa.Table:
    """Reference parser: every record, blank ones included, so row numbers stay true."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True)
    rows: list[list[str]] = []
    try:
        rows.extend(reader)
    except csv.Error as e:
        raise InputError(f"{path.name}, row {len(rows) + 1}: {_csv_problem(str(e))}.") from None
    return columns_table(rows, range(1, len(rows) + 1))


def _csv_problem(message: str) -> str:
    if "unexpected end of data" in message:
        return "a quote opened here is never closed"
    if "field larger than field limit" in message:
        return f"a cell is longer than {csv.field_size_limit()} characters"
    return f"the quoting is broken ({message})"


def columns_table(rows: list[list[str]], row_numbers) -> pa.Table:
    width = max((len(r) for r in rows), default=0)
    padded = [r if len(r) == width else r + [""] * (width - len(r)) for r in rows]
    columns = list(zip(*padded)) if padded else [()] * width
    data = {"row_number": pa.array(row_numbers, pa.int64())}
    data.update({f"c{j}": pa.array(col, pa.large_string()) for j, col in enumerate(columns, start=1)})
    return pa.table(data)


# --- Excel -----------------------------------------------------------------------------


def read_excel(path: Path, kind: str, sheet: str | None) -> Grid:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception:
        raise InputError(f"{path.name}: not a readable {kind} file (damaged or truncated?).") from None
    try:
        name, rows = _pick_sheet(path, workbook, sheet)
    finally:
        workbook.close()
    text_rows = [[c if type(c) is str else cell_text(c) for c in r] for r in rows]
    return Grid(columns_table(text_rows, range(1, len(text_rows) + 1)), kind, sheet=name)


def _pick_sheet(path: Path, workbook: CalamineWorkbook, sheet: str | None) -> tuple[str, list[list]]:
    names = workbook.sheet_names
    try:
        if sheet is not None:
            if sheet in names:
                name = sheet
            elif sheet.strip().isdigit() and int(sheet) < len(names):
                name = names[int(sheet)]
            else:
                raise InputError(
                    f"{path.name}: there is no sheet {sheet!r}; the sheets are {', '.join(map(repr, names))}."
                )
            return name, workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for name in names:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            if any(cell_text(c).strip() for r in rows for c in r):
                return name, rows
    except InputError:
        raise
    except Exception:
        raise InputError(f"{path.name}: not a readable Excel file (damaged or truncated?).") from None
    raise InputError(f"{path.name}: every sheet is empty.")


def cell_text(value) -> str:
    """A cell as the user reads it: whole numbers without `.0`, no scientific notation,
    dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f") if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)
