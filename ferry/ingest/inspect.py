"""`ferry inspect`: what Ferry would read from a file, before anything is written.

The file is read and mapped exactly as land reads it (land.read_layout), and the first
rows are parsed by the same DuckDB macros the models use (macros/create_ferry_functions.sql,
rendered into an in-memory database), so what inspect shows is what a run would load.
Nothing is written: no run, no target, no warehouse.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import duckdb
import jinja2
import pyarrow as pa
import yaml

from ferry import rules
from ferry.config import PROJECT_DIR, RunOptions
from ferry.errors import InputError
from ferry.ingest.headers import Column, default_dictionary
from ferry.ingest.land import read_layout, user_mapping
from ferry.ingest.phones import is_known_region, normalize_list
from ferry.ingest.values import untick
from ferry.report.summary import number

PREVIEW_ROWS = 5
# fields whose cells are shown as written (after trimming)
# fields whose leading ' text marker is stripped (the models' ferry_untick)
UNTICKED = ("phone", "postal_code", "external_id", *rules.BALANCE_FIELDS)
TEXT_FIELDS = ("full_name", "first_name", "last_name", "surname_prefix", "salutation", "login_id", "tags")


@functools.cache
def ferry_functions_sql() -> str:
    """The models' field rules as DuckDB macros: the dbt macro file rendered with the
    project's vars, so inspect parses with the very same SQL."""
    text = (PROJECT_DIR / "macros" / "create_ferry_functions.sql").read_text(encoding="utf-8")
    module = jinja2.Environment().from_string(text, globals={"var": rules.project_var}).module
    return str(module.create_ferry_functions())


@functools.cache
def consent_values() -> dict[str, bool]:
    with open(PROJECT_DIR / "seeds" / "consent_values.csv", encoding="utf-8", newline="") as f:
        return {row["value"].casefold(): row["consent"] == "true" for row in csv.DictReader(f)}


def inspect_file(opts: RunOptions, preview_rows: int = PREVIEW_ROWS) -> dict:
    """The file's reading, its columns' mapping (field, confidence, reason), warnings, and
    its first rows as they would load. InputError (exit 2) for unusable input, as migrate."""
    mapping, order = user_mapping(opts)
    if not is_known_region(opts.country):
        raise InputError(f"--country {opts.country!r} is not a region code libphonenumber knows (e.g. CZ, DE, AT).")
    dictionary = default_dictionary()
    layout = read_layout(opts, mapping, order, dictionary)
    columns = layout.columns
    source = opts.source if opts.source != "auto" else dictionary.best_system(layout.header_cells)
    return {
        "file": str(opts.file),
        "format": layout.grid.format,
        "encoding": layout.grid.encoding,
        "delimiter": layout.grid.delimiter,
        "sheet": layout.grid.sheet,
        "header_row": layout.header_row,
        "system": source,
        "rows": layout.body.num_rows,
        "columns": [c.as_record() for c in columns],
        "warnings": ([layout.grid.encoding_note] if layout.grid.encoding_note else []) + warnings(columns),
        "preview": preview(layout.body, columns, opts, preview_rows),
    }


def warnings(columns: list[Column]) -> list[str]:
    """Contradicting values and the columns that lost a field to a better one."""
    out = [f"column {c.index} ({c.label}): {c.warning}" for c in columns if c.warning]
    for c in columns:
        if c.is_duplicate:
            out.append(f"column {c.index} ({c.label}) could also be {c.field}: {c.reason}")
    return out


def preview(body: pa.Table, columns: list[Column], opts: RunOptions, n: int) -> list[dict]:
    """The first n rows: each mapped field parsed by the models' rules, and its issues."""
    cells = {
        c.field: body.column(f"c{c.index}").slice(0, n).to_pylist()
        for c in columns
        if c.field and not c.is_duplicate and f"c{c.index}" in body.column_names
    }
    rows = body.column("row_number").slice(0, n).to_pylist()
    parsed = _parse(cells, len(rows), opts)
    return [{"row": r, **p} for r, p in zip(rows, parsed, strict=True)]


def _parse(cells: dict[str, list[str]], n: int, opts: RunOptions) -> list[dict]:
    """Parse with the macros in an in-memory DuckDB; the cells travel as an Arrow table
    with the canonical field names, never as SQL text."""
    fields = [f for f in rules.CANONICAL_FIELDS if f in cells and f != "password"]
    # the ' text marker goes here (values.untick, the macro ferry_untick's twin): nested
    # macros multiply the expression DuckDB plans
    texts = {f: [untick(c or "") if f in UNTICKED else c or "" for c in cells[f]] for f in fields}
    table = pa.table({f: pa.array(texts[f], pa.string()) for f in fields} | {"_": [0] * n})
    con = duckdb.connect()
    try:
        con.execute(ferry_functions_sql())
        con.register("preview_cells", table)
        select = {
            "email": "lower(ferry_trim(email))",
            "email_ok": "ferry_email_is_valid(lower(ferry_trim(email)))",
            "birth_date": "cast(ferry_parse_date(birth_date, $order) as varchar)",
            **{f: f"ferry_parse_number({f})" for f in rules.BALANCE_FIELDS},
            **{f"{f}_negative": f"ferry_is_negative({f})" for f in rules.BALANCE_FIELDS},
            "postal_code": "ferry_trim(postal_code)",
            "external_id": "ferry_trim(external_id)",
            **{f: f"ferry_collapse({f})" for f in TEXT_FIELDS},
        }
        wanted = {k: v for k, v in select.items() if k.removesuffix("_ok").removesuffix("_negative") in fields}
        sql = "select " + ", ".join(f"{expr} as {name}" for name, expr in wanted.items()) + " from preview_cells"
        values = con.execute(sql, {"order": opts.date_order} if "$order" in sql else None).fetchall() if wanted else []
        names = list(wanted)
    finally:
        con.close()
    phones = normalize_list([untick(c or "") for c in cells.get("phone", [])], opts.country) if "phone" in cells else []
    out = []
    for i in range(n):
        row = dict(zip(names, values[i], strict=True)) if values else {}
        out.append(_row(row, {f: cells[f][i] for f in cells}, phones[i] if phones else None))
    return out


def _row(parsed: dict, raw: dict[str, str], phone: str | None) -> dict:
    """One previewed row: fields (None when blank) and the issue codes the models would give."""
    fields, issues = {}, []
    for f, value in parsed.items():
        if f.endswith(("_ok", "_negative")):
            continue
        fields[f] = number(value) if value is not None and f in rules.BALANCE_FIELDS else value
    if (raw.get("email") or "").strip() and not parsed.get("email_ok"):
        issues.append("email_invalid")
    if "phone" in raw:
        fields["phone"] = phone
        if (raw["phone"] or "").strip() and phone is None:
            issues.append("phone_invalid")
    if (raw.get("birth_date") or "").strip() and fields.get("birth_date") is None:
        issues.append("date_invalid")
    if "consent" in raw:
        answer = (raw["consent"] or "").strip().casefold()
        fields["consent"] = consent_values().get(answer, False) if answer else False
        if answer and answer not in consent_values():
            issues.append("consent_unknown")
    for f in rules.BALANCE_FIELDS:
        if (raw.get(f) or "").strip():
            if parsed.get(f"{f}_negative"):
                issues.append("balance_negative")
            elif parsed.get(f) is None:
                issues.append(f"{'balance' if f == 'card_balance' else f}_invalid")
    if "password" in raw:
        fields["password"] = "(hashed with argon2id)" if (raw["password"] or "").strip() else None
    if not any(fields.get(f) for f in ("full_name", "first_name", "last_name")):
        issues.append("name_missing")
    return {"fields": fields, "issues": issues}


def mapping_yaml(columns: list[dict]) -> str:
    """The decided mapping as a `--mapping` file (docs/CONTRACT.md §1): every header with its
    field, `-` for a column left unmapped, each decision's reason as a comment to edit by."""
    lines = [
        "# Ferry's mapping of this file's columns. Edit a field (or '-' to leave a column in extra)",
        "# and pass the file back: ferry migrate FILE --mapping THIS_FILE",
        "columns:",
    ]
    seen = set()
    for c in columns:
        if c["header"] is None or c["header"] in seen:
            continue
        seen.add(c["header"])
        key = yaml.safe_dump(c["header"], allow_unicode=True, default_style='"').strip()
        confidence = "" if c["confidence"] is None else f"{c['confidence']:.2f}, "
        field = c["field"] or '"-"'
        lines.append(f"  {key}: {field}  # {confidence}{c['reason']}")
    return "\n".join(lines) + "\n"


def write_mapping(path: Path, columns: list[dict]) -> Path:
    Path(path).write_text(mapping_yaml(columns), encoding="utf-8")
    return Path(path)
