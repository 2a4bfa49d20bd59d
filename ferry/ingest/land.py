"""The land step: any client export -> raw.* in the DuckDB warehouse (docs/DESIGN.md).

Every cell lands as text with its spreadsheet row number, so an auditor can trace a target
value back to file, row and column. Python decides only what SQL can't do well: which
column is which field (headers.py), password hashes (argon2id, before anything is written)
and phone numbers (libphonenumber, into raw.phone_numbers); dbt does the rest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ferry.config import LAND_MEMORY, MAPPING_SAMPLE_CELLS, RunOptions
from ferry.errors import InputError
from ferry.ingest.card_templates import KIND_BY_TYPE, templates_for_run
from ferry.ingest.headers import (
    Column,
    Dictionary,
    Mapping,
    default_dictionary,
    find_header_row,
    load_mapping,
    looks_like_email,
    map_headers,
    map_order,
    parse_field,
)
from ferry.ingest.passwords import hash_passwords
from ferry.ingest.phones import is_known_region, normalize_array
from ferry.ingest.raw import ensure_raw_schema
from ferry.ingest.readers import DELIMITERS, Grid, read_file

HEAD_ROWS = 10

RUN_TABLES = ("runs", "columns", "rows", "phone_numbers", "file_issues")


@dataclass
class LandResult:
    run_id: str
    rows_read: int
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sha256: str
    file_name: str
    size_bytes: int
    header_row: int | None
    source_system: str
    unmapped_columns: list[str]
    columns: dict[str, int]
    # per column: index, header, field (None when unmapped), confidence, reason (Column.as_record)
    mapping: list[dict] = field(default_factory=list)


@dataclass
class Layout:
    """What the file holds before anything is written: how it was read, where its header
    is, and which column is which field (shared by land and `ferry inspect`)."""

    grid: Grid
    header_row: int | None
    header_cells: list[str]
    columns: list[Column]
    body: pa.Table  # the data rows: row_number, c1..cN


def read_layout(
    opts: RunOptions, mapping: Mapping | None, order: tuple[str | None, ...] | None, dictionary: Dictionary
) -> Layout:
    """Read the file, find its header row and map its columns; exit 2 (InputError) for a
    file without data rows or whose first row is data without --columns/--mapping."""
    path = Path(opts.file)
    grid = read_file(path, encoding=opts.encoding, delimiter=opts.delimiter, sheet=opts.sheet)
    blank = blank_rows(grid.table)
    # filtering copies the table: only a file with blank rows pays for it
    rows = grid.table.filter(pc.invert(blank)) if pc.any(blank).as_py() else grid.table
    grid.table = None  # from here on the rows live in `body` alone
    if rows.num_rows == 0:
        raise InputError(f"{path.name}: the file is empty.")
    if order is not None:
        header_row, header_cells = None, []
        columns = map_order(order, "mapping" if mapping else "columns")
        body = rows
    else:
        head = rows.slice(0, HEAD_ROWS).drop_columns(["row_number"]).to_pylist()
        head_cells = [list(r.values()) for r in head]
        at = find_header_row(head_cells, mapping, dictionary, allow_title_rows=grid.format != "csv")
        if at is None:
            raise needs_columns(path, head_cells[0])
        header_row = rows.column("row_number")[at].as_py()
        header_cells = head_cells[at][: last_filled(head_cells[at])]
        body = rows.slice(at + 1)
        samples = column_samples(body, len(header_cells))
        columns = map_headers(header_cells, mapping, dictionary, samples, card_balance_kind(opts))
    if body.num_rows == 0:
        raise InputError(f"{path.name}: there is a header row but no data rows.")
    return Layout(grid, header_row, header_cells, columns, body)


def column_samples(body: pa.Table, width: int) -> list[list[str]]:
    """The first config.MAPPING_SAMPLE_CELLS cells of each named column: the values the
    mapping may look at, the same few thousand whatever the file's size."""
    top = body.slice(0, MAPPING_SAMPLE_CELLS)
    names = set(top.column_names)
    return [top.column(f"c{j}").to_pylist() if f"c{j}" in names else [] for j in range(1, width + 1)]


def card_balance_kind(opts: RunOptions) -> str | None:
    """The balance kind of --card-template, which chooses among several balance columns
    (stamps: a stamp column); None without one. A bad template is prepare's to report."""
    if not opts.card_template:
        return None
    try:
        rows = templates_for_run(opts.card_template, opts.card_templates)
    except InputError:
        return None
    return next(KIND_BY_TYPE[r.type] for r in rows if r.template == opts.card_template)


def land(opts: RunOptions, run_id: str, db: Path | None = None) -> LandResult:
    """Read opts.file and append this run to raw.* of `db` (the run's DuckDB file; the
    home's warehouse by default), replacing raw.current_run."""
    db = Path(db or opts.warehouse)
    mapping, order = user_mapping(opts)
    if not is_known_region(opts.country):
        raise InputError(f"--country {opts.country!r} is not a region code libphonenumber knows (e.g. CZ, DE, AT).")
    path = Path(opts.file)
    dictionary = default_dictionary()
    layout = read_layout(opts, mapping, order, dictionary)
    grid, columns, body = layout.grid, layout.columns, layout.body
    header_row, header_cells = layout.header_row, layout.header_cells
    header_width = len(columns)
    body, surplus = fit_width(body, header_width)
    columns += [Column(j, None, None, None) for j in range(header_width + 1, body.num_columns)]
    has_passwords = any(c.field == "password" for c in columns)
    if has_passwords and body.num_columns - 1 > header_width:
        body = blank_surplus(body, header_width)
    body = hash_password_columns(body, columns)
    phones = phone_table(body, columns, opts.country, db)

    with open(path, "rb") as f:
        sha256 = hashlib.file_digest(f, "sha256").hexdigest()
    result = LandResult(
        run_id=run_id,
        rows_read=body.num_rows,
        format=grid.format,
        encoding=grid.encoding,
        delimiter=grid.delimiter,
        sheet=grid.sheet,
        sha256=sha256,
        file_name=path.name,
        size_bytes=path.stat().st_size,
        header_row=header_row,
        source_system=opts.source if opts.source != "auto" else dictionary.best_system(header_cells),
        unmapped_columns=[c.header for c in columns if c.field is None and c.header is not None],
        columns={c.field: c.index for c in columns if c.field and not c.is_duplicate},
        mapping=[c.as_record() for c in columns if c.header is not None or c.field is not None],
    )
    write(opts, db, result, path, columns, body, surplus, header_width, phones, has_passwords, grid.encoding_note)
    del grid, layout, body
    # Arrow's allocator keeps freed blocks for reuse; transform and the gate's process need
    # the memory more
    pa.default_memory_pool().release_unused()
    return result


def blank_surplus(body: pa.Table, header_width: int) -> pa.Table:
    """A row with more cells than headers in a file with passwords is shifted: its password
    may sit in a surplus cell, unhashed. Those cells are never landed; the row is rejected."""
    for j in range(header_width + 1, body.num_columns):
        name = f"c{j}"
        body = body.set_column(j, name, pa.array([""] * body.num_rows, body.column(name).type))
    return body


def user_mapping(opts: RunOptions) -> tuple[Mapping | None, tuple[str | None, ...] | None]:
    """The mapping file wins over --columns; both are checked before the file is read."""
    if opts.mapping is not None:
        mapping = load_mapping(opts.mapping)
        return mapping, mapping.order
    if opts.columns is not None:
        return None, tuple(parse_field(f, "--columns") for f in opts.columns)
    return None, None


def needs_columns(path: Path, first: list[str]) -> InputError:
    # No cell is quoted: in a file without headers a password may sit in any column, and
    # it must not reach an error message (docs/CONTRACT.md §2). Positions say enough.
    emails = [i for i, c in enumerate(first, start=1) if looks_like_email(c)]
    why = (
        f"column {emails[0]} holds an e-mail address"
        if emails
        else f"none of its {sum(1 for c in first if c.strip())} cells is a column header Ferry knows"
    )
    return InputError(
        f"{path.name}: the first row looks like data, not column headers ({why}); "
        "pass --columns a,b,c (one field per column) or --mapping FILE."
    )


def blank_rows(table: pa.Table) -> pa.ChunkedArray:
    """True for rows whose cells are all empty or whitespace."""
    blank = pa.repeat(True, table.num_rows)
    for name in table.column_names[1:]:
        blank = pc.and_(blank, blank_cells(table.column(name)))
    return blank


def blank_cells(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.or_(pc.equal(pc.utf8_length(column), 0), pc.utf8_is_space(column))


def last_filled(cells: list[str]) -> int:
    """Length of a row without its trailing blank cells (a trailing delimiter adds one)."""
    n = len(cells)
    while n and not cells[n - 1].strip():
        n -= 1
    return n


def fit_width(body: pa.Table, header_width: int) -> tuple[pa.Table, pa.ChunkedArray]:
    """Columns `row_number, c1..cW`: the header's width, plus surplus columns where some row
    has more cells than headers (landed too, flagged `extra_cells`); '' where a row is short.
    Returns the table and, per row, whether it has surplus cells."""
    cells = body.column_names[1:]
    filled = [pc.any(pc.invert(blank_cells(body.column(c)))).as_py() for c in cells]
    width = max([header_width] + [j for j, f in enumerate(filled, start=1) if f])
    empty = pa.repeat(pa.scalar("", pa.large_string()), body.num_rows)
    out = [body.column("row_number")] + [
        body.column(f"c{j}") if j <= len(cells) else empty for j in range(1, width + 1)
    ]
    table = pa.table(out, names=["row_number"] + [f"c{j}" for j in range(1, width + 1)])
    surplus = pa.repeat(False, body.num_rows)
    for j in range(header_width + 1, width + 1):
        surplus = pc.or_(surplus, pc.invert(blank_cells(table.column(f"c{j}"))))
    return table, surplus


def hash_password_columns(body: pa.Table, columns: list[Column]) -> pa.Table:
    """Replace every password cell (duplicate password columns too) by its argon2id hash."""
    for c in columns:
        if c.field != "password":
            continue
        name = f"c{c.index}"
        hashed = pa.array(hash_passwords(body.column(name).to_pylist()), pa.large_string())
        body = body.set_column(c.index, name, hashed)
    return body


def phone_table(body: pa.Table, columns: list[Column], country: str, warehouse: Path | None = None) -> pa.Table:
    """raw.phone_numbers: each distinct trimmed phone cell once, with its E.164 form (NULL
    when libphonenumber calls it invalid), from an earlier run where one has it."""

    column = next((c for c in columns if c.field == "phone" and not c.is_duplicate), None)
    values = pc.unique(untick_cells(body.column(f"c{column.index}"))) if column else pa.array([], pa.string())
    values = values.cast(pa.string())
    known = known_phones(warehouse, country, values)
    new = values.filter(
        pc.and_(
            pc.invert(pc.is_in(values, value_set=known.column("phone_raw").combine_chunks())), pc.not_equal(values, "")
        )
    )
    # Arrow trims what str.strip() does (tests/test_phones.py), so these are the distinct
    # keys normalize_phones() would make: no dict, no conversion back to Arrow
    found = pa.table({"phone_raw": new, "phone_e164": normalize_array(new, country)})
    return pa.concat_tables([known, found])


def untick_cells(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Trimmed cells without a leading `'` text marker: the key the models join phone
    numbers on (macro ferry_untick, ferry/ingest/values.py: untick)."""
    trimmed = pc.utf8_trim_whitespace(column)
    if not pc.any(pc.starts_with(trimmed, "'")).as_py():  # the common case: no marker at all
        return trimmed
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(trimmed, pattern="^'", replacement=""))


def known_phones(warehouse: Path | None, country: str, values: pa.Array) -> pa.Table:
    """Numbers earlier runs with the same --country already normalised (phone_raw, phone_e164),
    one row each: the latest run's answer.

    A migration is usually run several times (dry run, corrected file, real load); the
    phone numbers it has seen cost libphonenumber nothing the second time.
    """
    none = pa.table({"phone_raw": pa.array([], pa.string()), "phone_e164": pa.array([], pa.string())})
    if warehouse is None or not Path(warehouse).exists() or len(values) == 0:
        return none
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return none
    try:
        con.register("wanted", pa.table({"phone_raw": values.cast(pa.string())}))
        rows = con.sql(
            """SELECT p.phone_raw, arg_max_null(p.phone_e164, r.started_at) AS phone_e164
               FROM raw.phone_numbers AS p
               JOIN raw.runs AS r USING (run_id)
               JOIN wanted AS w ON w.phone_raw = p.phone_raw
               WHERE upper(json_extract_string(r.options, '$.country')) = ?
               GROUP BY p.phone_raw""",
            params=[country.upper()],
        ).to_arrow_table()
    except duckdb.Error:  # no raw tables yet
        return none
    finally:
        con.close()
    return rows.cast(none.schema)


def write(
    opts: RunOptions,
    db: Path,
    result: LandResult,
    path: Path,
    columns: list[Column],
    body: pa.Table,
    surplus: pa.ChunkedArray,
    header_width: int,
    phones: pa.Table,
    has_passwords: bool = False,
    encoding_note: str | None = None,
) -> None:
    """One transaction; the connection is closed before returning so the next step can open
    the warehouse."""
    db.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db))
    try:
        con.execute(f"SET memory_limit = '{LAND_MEMORY}'")
        con.execute("BEGIN")
        ensure_raw_schema(con)
        for table in RUN_TABLES:  # a retried run replaces its own rows, never another run's
            con.execute(f"DELETE FROM raw.{table} WHERE run_id = ?", [result.run_id])
        con.execute(
            """INSERT INTO raw.runs (run_id, tenant, started_at, file_name, file_path, sha256, size_bytes, format,
                                     encoding, delimiter, sheet, header_row, source_system, options)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                result.run_id,
                opts.tenant,
                datetime.now(UTC),
                result.file_name,
                str(path.resolve()),
                result.sha256,
                result.size_bytes,
                result.format,
                result.encoding,
                result.delimiter,
                result.sheet,
                result.header_row,
                result.source_system,
                json.dumps(opts.as_record(), default=str),
            ],
        )
        con.execute("DELETE FROM raw.current_run")
        con.execute("INSERT INTO raw.current_run (run_id) VALUES (?)", [result.run_id])
        insert(con, "raw.columns", result.run_id, columns_table(columns))
        insert(con, "raw.phone_numbers", result.run_id, phones)
        insert(con, "raw.file_issues", result.run_id, file_warnings(columns, encoding_note))
        write_rows(con, result.run_id, body, surplus, header_width, has_passwords)
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:  # nothing to roll back: keep the original error
            pass
        raise
    finally:
        con.close()


def insert(con: duckdb.DuckDBPyConnection, target: str, run_id: str, table: pa.Table) -> None:
    """Append an Arrow table; the views registered here go away with the connection."""
    view = "land_" + target.replace(".", "_")
    names = ", ".join(table.column_names)
    con.register(view, table)
    con.execute(f"INSERT INTO {target} (run_id, {names}) SELECT ?, {names} FROM {view}", [run_id])


def write_rows(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    body: pa.Table,
    surplus: pa.ChunkedArray,
    named: int,
    has_passwords: bool = False,
):
    """raw.rows in one INSERT ... SELECT; rows with surplus cells get an `extra_cells` warning
    (an error in a file with passwords: the row is shifted and its surplus cells were dropped)."""
    width = body.num_columns - 1
    cells = ", ".join(f"c{j}" for j in range(1, width + 1))
    con.register("land_rows", body.append_column("surplus", surplus))
    con.execute(
        f"INSERT INTO raw.rows (run_id, row_number, cells) SELECT ?, row_number, [{cells}] FROM land_rows", [run_id]
    )
    joined_rows(con, run_id, body, named)
    if width > named and has_passwords:
        con.execute(
            """
            INSERT INTO raw.file_issues (run_id, row_number, column_name, value, severity, code, message)
            SELECT ?, row_number, 'column_' || ?, NULL, 'error', 'extra_cells',
                   'row ' || row_number || ' has more cells than there are headers, so its cells are '
                   || 'shifted and a password may sit in the wrong column: the surplus cells were '
                   || 'not kept and the row is rejected; quote the cell that holds the delimiter'
            FROM land_rows WHERE surplus
            """,
            [run_id, named + 1],
        )
    elif width > named:
        extra = ", ".join(f"c{j}" for j in range(named + 1, width + 1))
        con.execute(
            f"""
            INSERT INTO raw.file_issues (run_id, row_number, column_name, value, severity, code, message)
            SELECT ?, row_number, 'column_' || ?,
                   array_to_string(list_filter([{extra}], lambda x: trim(x) <> ''), ' | '),
                   'warning', 'extra_cells',
                   'row ' || row_number || ' has more cells than there are headers; '
                   || 'the surplus cells are kept as extra columns'
            FROM land_rows WHERE surplus
            """,
            [run_id, named + 1],
        )


def joined_rows(con: duckdb.DuckDBPyConnection, run_id: str, body: pa.Table, named: int) -> None:
    """Reject a row whose whole text sits in its first cell, split by another delimiter
    (`Jana;jana@example.cz;5` in a comma file): loaded, it would be a client named after the
    whole line with no e-mail and no balance (docs/CONTRACT.md §2, `row_delimiter`)."""
    if named < 2:
        return
    delimiter = con.execute("SELECT delimiter FROM raw.runs WHERE run_id = ?", [run_id]).fetchall()
    others = [d for d in DELIMITERS if not delimiter or d != delimiter[0][0]]
    rest_blank = " AND ".join(f"trim(c{j}) = ''" for j in range(2, body.num_columns))
    con.execute(
        f"""
        INSERT INTO raw.file_issues (run_id, row_number, column_name, value, severity, code, message)
        SELECT $run, row_number, NULL, c1, 'error', 'row_delimiter',
               'row ' || row_number || ' holds all its cells in the first column, split by another '
               || 'delimiter than the rest of the file: the row is rejected; fix the row '
               || '(or pass --delimiter when the whole file uses that one)'
        FROM land_rows
        WHERE trim(c1) <> '' AND {rest_blank}
          AND list_max(list_transform($others, lambda d: len(string_split(c1, d)))) >= $parts
        """,
        {"run": run_id, "others": others, "parts": max(2, min(named, 3))},
    )


def columns_table(columns: list[Column]) -> pa.Table:
    return pa.table(
        {
            "column_index": pa.array([c.index for c in columns], pa.int32()),
            "header": pa.array([c.header for c in columns], pa.string()),
            "header_key": pa.array([c.header_key for c in columns], pa.string()),
            "field": pa.array([c.field for c in columns], pa.string()),
            "mapped_by": pa.array([c.mapped_by for c in columns], pa.string()),
            "is_duplicate": pa.array([c.is_duplicate for c in columns], pa.bool_()),
            "confidence": pa.array([c.confidence for c in columns], pa.float64()),
            "reason": pa.array([c.reason for c in columns], pa.string()),
            "warning": pa.array([c.warning for c in columns], pa.string()),
        }
    )


def file_warnings(columns: list[Column], encoding_note: str | None = None) -> pa.Table:
    """The file's own warnings (no row): a column that lost its field to a better one
    (`duplicate_column`), a code page that was a close call (`encoding_guessed`)."""
    first = {c.field: c for c in columns if c.field and not c.is_duplicate}
    found = [
        (
            c.label,
            "duplicate_column",
            f"{c.label!r} also maps to {c.field}; the column that holds it best "
            f"({first[c.field].label!r}) is used and this one is kept in extra",
        )
        for c in columns
        if c.is_duplicate
    ]
    if encoding_note:
        found.append((None, "encoding_guessed", encoding_note))
    return pa.table(
        {
            "row_number": pa.array([None] * len(found), pa.int64()),
            "column_name": pa.array([f[0] for f in found], pa.string()),
            "value": pa.array([None] * len(found), pa.string()),
            "severity": pa.array(["warning"] * len(found), pa.string()),
            "code": pa.array([f[1] for f in found], pa.string()),
            "message": pa.array([f[2] for f in found], pa.string()),
        }
    )
