"""The warehouse's raw layer: one DDL file (raw_schema.sql), one function that applies it.

Every step that writes or reads raw.* calls `ensure_raw_schema(con)` instead of creating
its own tables, so the layer's tables and columns are written down once, with a version.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

RAW_SCHEMA_FILE = "raw_schema.sql"


@cache
def raw_schema_script() -> str:
    """The text of raw_schema.sql (shipped inside the package)."""
    return resources.files("ferry.ingest").joinpath(RAW_SCHEMA_FILE).read_text(encoding="utf-8")


def _script_version(script: str) -> int:
    match = re.search(r"raw schema version (\d+)", script)
    if match is None:
        raise RuntimeError(f"{RAW_SCHEMA_FILE} does not say its raw schema version")
    return int(match.group(1))


RAW_SCHEMA_VERSION = _script_version(raw_schema_script())


def recorded_version(con) -> int | None:
    """The raw schema version the warehouse records; None before it recorded any."""
    present = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'raw' AND table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not present:  # asked this way, not by failing, so a caller's transaction stays usable
        return None
    # fetchall: a result left unfinished would break the caller's next statement (register)
    return con.execute("SELECT max(version) FROM raw.schema_version").fetchall()[0][0]


def ensure_raw_schema(con) -> None:
    """Create (or upgrade) every raw.* table on the DuckDB connection `con`.

    A warehouse already at RAW_SCHEMA_VERSION is left untouched. Otherwise the whole script
    runs (every statement is idempotent, so it also upgrades older warehouses, including
    those from before the version was recorded) and the version is recorded. Runs inside
    the caller's transaction when there is one.
    """
    version = recorded_version(con)
    if version is not None and version >= RAW_SCHEMA_VERSION:
        return
    con.execute(raw_schema_script())
    con.execute("INSERT INTO raw.schema_version VALUES (?, now())", [RAW_SCHEMA_VERSION])
