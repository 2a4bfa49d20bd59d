"""Properties: whatever the dialect, encoding and cell text, every non-blank row lands once,
with its spreadsheet row number and its cells unchanged."""

from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferry.config import RunOptions
from ferry.errors import InputError
from ferry.ingest.land import land
from ferry.ingest.readers import parse_polars, parse_python

HEADER = ["Name", "Email", "Phone", "Notes", "City"]
ASCII = "abcXYZ019 .@+-'_/"
SPECIAL = ',;\t|"\r\n'
ACCENTED = {
    "utf-8": "řěšáéüßøñ€漢😀",
    "utf-8-sig": "řěšáéüßøñ€漢😀",
    "utf-16": "řěšáéüßøñ€漢😀",
    "cp1252": "äöüßéèñøå€",
    "cp1250": "řěščžůáéíł€",
}


def cell(text: str, delimiter: str, force: bool) -> str:
    if force or any(ch in text for ch in (delimiter, '"', "\r", "\n")):
        return '"' + text.replace('"', '""') + '"'
    return text


def serialise(rows: list[list[str] | None], delimiter: str, newline: str, quote_all: bool) -> str:
    """RFC 4180: fields with the delimiter, a quote or a line break are quoted; None is an empty line."""
    return "".join(
        ("" if r is None else delimiter.join(cell(c, delimiter, quote_all) for c in r)) + newline for r in rows
    )


@st.composite
def exports(draw):
    encoding = draw(st.sampled_from(sorted(ACCENTED)))
    width = draw(st.integers(2, len(HEADER)))
    text = st.text(alphabet=ASCII + SPECIAL + ACCENTED[encoding], max_size=8)
    row = st.lists(text, min_size=width, max_size=width)
    rows = draw(st.lists(st.one_of(row, st.just(None), st.just([" "] * width)), min_size=0, max_size=12))
    return {
        "encoding": encoding,
        "delimiter": draw(st.sampled_from([",", ";", "\t", "|"])),
        "newline": draw(st.sampled_from(["\n", "\r\n"])),
        "quote_all": draw(st.booleans()),
        "header": HEADER[:width],
        "rows": rows,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(export=exports())
def test_every_non_blank_row_lands_once_with_its_row_number_and_text(tmp_path_factory, export):
    home = tmp_path_factory.mktemp("home")
    records = [export["header"]] + export["rows"]
    text = serialise(records, export["delimiter"], export["newline"], export["quote_all"])
    path = home / "export.csv"
    path.write_bytes(text.encode(export["encoding"]))
    single_byte = export["encoding"].startswith("cp")
    opts = RunOptions(file=path, tenant="t", home=home, encoding=export["encoding"] if single_byte else None)

    expected = [
        (number, r)
        for number, r in enumerate(records, start=1)
        if number > 1 and r is not None and any(c.strip() for c in r)
    ]
    if not expected:
        try:
            land(opts, "run")
        except InputError as e:
            assert "no data rows" in str(e)
            return
        raise AssertionError("a file without data rows landed")

    result = land(opts, "run")
    assert result.rows_read == len(expected)
    assert result.delimiter == export["delimiter"]
    assert result.encoding == export["encoding"]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        landed = con.execute("SELECT row_number, cells FROM raw.rows ORDER BY row_number").fetchall()
    assert landed == expected


@st.composite
def ragged_csv(draw):
    delimiter = draw(st.sampled_from([",", ";"]))
    text = st.text(alphabet="ab ' " + SPECIAL, max_size=5)
    rows = draw(st.lists(st.one_of(st.lists(text, min_size=1, max_size=4), st.just(None)), min_size=1, max_size=8))
    return serialise(rows, delimiter, draw(st.sampled_from(["\n", "\r\n"])), draw(st.booleans())), delimiter


@settings(max_examples=300, deadline=None)
@given(case=ragged_csv())
def test_fast_parser_reads_what_the_reference_parser_reads_or_steps_aside(case):
    text, delimiter = case
    fast = parse_polars(text, delimiter)
    if fast is not None:
        assert records(fast) == records(parse_python(Path("x.csv"), text, delimiter))


def records(table):
    """(row_number, cells) with the '' padding of short rows removed."""
    out = []
    for r in table.to_pylist():
        cells = [v for k, v in r.items() if k != "row_number"]
        while cells and cells[-1] == "":
            cells.pop()
        out.append((r["row_number"], cells))
    return out
