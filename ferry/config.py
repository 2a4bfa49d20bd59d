"""Ferry's configuration: where the dbt project is, the quiet environment every heavy
import needs, the options of one migration run, and every tuning threshold.

One frozen `RunOptions` travels through every step so each step is a plain function of
(options, run_id, paths) and can be called from a test without the CLI or Prefect.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from ferry.errors import InputError


def _find_project_dir() -> Path:
    """The dbt project: shipped inside the package (a regular install), else the source
    checkout this package sits in (an editable install, or the repository itself)."""
    here = Path(__file__).resolve().parent
    shipped = here / "project"
    if (shipped / "dbt_project.yml").is_file():
        return shipped
    return here.parent


PROJECT_DIR = _find_project_dir()


def quiet_environment(home: Path | None = None) -> None:
    """No telemetry, ever: the machines Ferry runs on are often offline; dbt, Prefect and
    GX must not try to phone home, and Prefect keeps its state inside Ferry's home."""
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    if home is not None:
        os.environ.setdefault("PREFECT_HOME", str((home / "prefect").resolve()))


SOURCES = ("auto", "zenamu", "etermin", "loyalty", "generic")
INVITE_MODES = ("all", "balances", "none")
DATE_ORDERS = ("dmy", "mdy")


def default_home() -> Path:
    return Path(os.environ.get("FERRY_HOME") or ".ferry")


def default_target(home: Path) -> str:
    return os.environ.get("FERRY_TARGET_URL") or f"sqlite:///{(home / 'booking.db').resolve()}"


def lock_timeout() -> float:
    """Seconds a run waits for another one: for the home's warehouse, or for the target's
    tenant lock (FERRY_LOCK_TIMEOUT, default 600)."""
    return float(os.environ.get("FERRY_LOCK_TIMEOUT") or 600)


def batch_start_timeout() -> float:
    """Seconds a batch under Prefect waits for a worker to start a tenant's run before it
    cancels it and records the tenant as failed (FERRY_BATCH_START_TIMEOUT, default 600)."""
    return float(os.environ.get("FERRY_BATCH_START_TIMEOUT") or 600)


def work_file_below() -> int:
    """Exports smaller than this many bytes are worked in a DuckDB file of the run's own
    and merged into the home's warehouse at the end, so runs on one home work in
    parallel; bigger ones work in the warehouse itself (ferry/workspace.py).
    FERRY_WORK_FILE_BELOW, default 4 MB (about 50,000 rows)."""
    return int(os.environ.get("FERRY_WORK_FILE_BELOW") or 4_000_000)


def default_country() -> str:
    """The region of phones written without +, when no --country says otherwise
    (docs/CONTRACT.md §1, §12); upper case, as the CLI makes a given --country."""
    return (os.environ.get("FERRY_DEFAULT_COUNTRY") or "CZ").upper()


@dataclass(frozen=True)
class Flag:
    """How one `RunOptions` field is given to `ferry migrate` (docs/CONTRACT.md §1), kept in
    the field's metadata so each option is declared once, for the dataclass and the CLI."""

    name: str | None  # "--tenant"; None for the positional argument
    help: str | None = None
    choices: tuple[str, ...] = ()  # checked by `from_cli`, so the message and exit code are Ferry's
    parse: Callable[[Any], Any] | None = None  # the CLI's value -> the field's (not called on None)
    type: Any = None  # the type the CLI parses, when it is not the field's


def cli(name: str | None, help: str | None = None, **flag: Any) -> dict[str, Flag]:
    """A `RunOptions` field's metadata: its `ferry migrate` flag."""
    return {"cli": Flag(name, help, **flag)}


def _columns(value: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in value.split(","))


def _delimiter(value: str) -> str:
    from ferry.ingest.readers import named_delimiter  # polars and friends: only when it is given

    value = named_delimiter(value)
    if len(value) != 1:
        raise InputError(f"--delimiter must be one character (or tab), got '{value}'")
    return value


@dataclass(frozen=True)
class RunOptions:
    """Every option of one run, each with its `ferry migrate` flag (`Flag` in the metadata).

    Fields are set by name, so a caller without the CLI (a test, the Prefect flow) builds
    one directly; `from_cli` is the CLI's way in.
    """

    file: Path = field(metadata=cli(None, "The client export: CSV/TSV/text, .xlsx or .xls."))
    tenant: str = field(metadata=cli("--tenant", "The business the clients belong to."))
    source: str = field(default="auto", metadata=cli("--source", f"{', '.join(SOURCES)}.", choices=SOURCES))
    columns: tuple[str, ...] | None = field(
        default=None,
        metadata=cli(
            "--columns", "Canonical field per column, for a file without header row.", parse=_columns, type=str
        ),
    )
    mapping: Path | None = field(
        default=None, metadata=cli("--mapping", "YAML mapping of headers (or order) to fields.")
    )
    delimiter: str | None = field(
        default=None,
        metadata=cli(
            "--delimiter", "Override detection: one character, or tab, comma, semicolon, pipe.", parse=_delimiter
        ),
    )
    encoding: str | None = field(
        default=None, metadata=cli("--encoding", "Override detection, e.g. utf-8, cp1250, utf-16.")
    )
    sheet: str | None = field(default=None, metadata=cli("--sheet", "Sheet name or 0-based index."))
    date_order: str = field(
        default="dmy", metadata=cli("--date-order", "dmy or mdy for dates like 03/04/1980.", choices=DATE_ORDERS)
    )
    country: str = field(
        default_factory=default_country,
        metadata=cli("--country", "Default region for phones without +.", parse=str.upper),
    )
    invites: str = field(default="all", metadata=cli("--invites", "all, balances or none.", choices=INVITE_MODES))
    tags: tuple[str, ...] = field(
        default=(), metadata=cli("--tag", "Tag every imported client (repeatable).", parse=tuple, type=list[str])
    )
    replace_existing: bool = field(
        default=False,
        metadata=cli("--replace-existing", "Delete the tenant's current clients in the same transaction."),
    )
    require_password_change: bool = field(
        default=False,
        metadata=cli("--require-password-change", "Clients imported with a login change their password first."),
    )
    card_template: str | None = field(
        default=None, metadata=cli("--card-template", "The loyalty card template the balance column belongs to.")
    )
    card_templates: Path | None = field(
        default=None, metadata=cli("--card-templates", "A CSV of your own card templates instead of the shipped ones.")
    )
    max_reject_rate: float = field(
        default=0.0, metadata=cli("--max-reject-rate", "Load while rejected / read rows stay at or below this (0-1).")
    )
    dry_run: bool = field(default=False, metadata=cli("--dry-run", "Do everything but write the target."))
    target: str | None = field(default=None, metadata=cli("--target", "sqlite:///path or postgresql://…"))
    home: Path = field(default_factory=default_home, metadata=cli("--home", "Warehouse, run reports, state."))

    @classmethod
    def from_cli(cls, **values: Any) -> RunOptions:
        """The options from `ferry migrate`'s parsed values (one per field, by name): choices
        checked and values parsed as each field's `Flag` says, in field order (an `InputError`,
        exit 2, names the first bad one). None for a field with a default factory means the
        factory's value, so such an option is optional on the CLI."""
        kwargs = {}
        for f in fields(cls):
            flag, value = f.metadata["cli"], values[f.name]
            if value is None and f.default_factory is not MISSING:
                continue
            if flag.choices and value not in flag.choices:
                raise InputError(f"{flag.name} must be one of {', '.join(flag.choices)}, got '{value}'")
            kwargs[f.name] = flag.parse(value) if flag.parse and value is not None else value
        return cls(**kwargs)

    @classmethod
    def from_json(cls, **params: Any) -> RunOptions:
        """The options from JSON-friendly values by field name (a Prefect deployment's
        parameters): str for paths, lists for `columns` and `tags`; a name left out, or None
        for a field with a default factory, takes the default. Choices are checked and values
        parsed as `from_cli` does (an `InputError`, exit 2, names the first bad one); a str
        for a list field is read as the CLI reads that option."""
        import types
        import typing

        unknown = sorted(set(params) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"unknown option(s) {', '.join(unknown)} for a migration run")
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for f in fields(cls):
            if f.name not in params or (params[f.name] is None and f.default_factory is not MISSING):
                continue
            flag, value = f.metadata["cli"], params[f.name]
            hint = hints[f.name]
            members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
            kinds = {typing.get_origin(m) or m for m in members}  # e.g. {tuple, NoneType}
            if flag.choices and value not in flag.choices:
                raise InputError(f"{flag.name} must be one of {', '.join(flag.choices)}, got '{value}'")
            if value is not None:
                if isinstance(value, list | tuple):
                    value = tuple(str(v) for v in value)
                elif isinstance(value, str) and flag.parse and flag.type in (None, str):
                    value = flag.parse(value)
                elif isinstance(value, str) and tuple in kinds:
                    value = (value,)
                if Path in kinds:
                    value = Path(value)
                elif float in kinds and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
            kwargs[f.name] = value
        return cls(**kwargs)

    def to_json(self) -> dict[str, Any]:
        """The options as `from_json` takes them: paths as str, tuples as lists, the
        target as given (unlike `as_record`, which hides its password)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
        return out

    @property
    def target_url(self) -> str:
        return self.target or default_target(self.home)

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    def run_dir(self, run_id: str) -> Path:
        return self.home / "runs" / run_id

    @property
    def assets_dir(self) -> Path:
        """Static files every run's reports share (GX's Data Docs assets), one copy per home."""
        return self.home / "static"

    def as_record(self) -> dict:
        """JSON-safe view of the options, for raw.runs and the report."""
        out = {}
        for k, v in self.__dict__.items():
            if isinstance(v, Path):
                v = str(v)
            elif isinstance(v, tuple):
                v = list(v)
            out[k] = v
        out["target"] = redact_url(self.target_url)
        return out


def redact_url(url: str) -> str:
    """Hide a password in a database URL before it reaches a report or log."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}"
    return url


# --------------------------------------------------------------------------------------
# Tuning thresholds: where a faster path starts, and how much of the machine it takes.
# None of them changes a result; bench/README.md has the measurements behind them.
# --------------------------------------------------------------------------------------

# readers: bytes read to detect encoding and delimiter; characters of text sampled for it
SNIFF_BYTES = 1 << 20
SAMPLE_CHARS = 64 * 1024
# mapping: the cells of each column (from the top) sampled as evidence for its field
MAPPING_SAMPLE_CELLS = 2000
# land: files at least this big land in a process of their own while dbt imports
LAND_APART_BYTES = 20_000_000
# phones: from this many distinct numbers, a second process normalises half of them
PHONES_PARALLEL_THRESHOLD = 100_000
PHONE_PROCESSES = 2  # this one included
# distinct phone numbers handed to the processes at a time (memory: ~100 bytes each)
PHONE_CHUNK = 500_000
# passwords: from this many password cells, argon2id hashes in worker processes
PASSWORDS_PARALLEL_THRESHOLD = 64
PASSWORD_WORKERS = 2
# gate: a mart with more rows is validated one column group at a time (less memory, faster);
# after a run this big the gate's process ends with it (its memory goes back), smaller
# runs leave it warm for the next run of this process
GATE_SPLIT_ROWS = 100_000
GATE_KEEP_WORKER_BELOW = 100_000
# the gate's DuckDB (reading the marts, coding a big mart's text for its uniqueness checks)
GATE_MEMORY = "512MB"
# stage: more (kind, card_template) pairs than this are staged as rows, not columns
STAGE_MAX_PAIRS = 8
# the load's stage: DuckDB's memory limit, and the most clients it stages in one sorted
# part. Parts this size sort within the limit; one sort of a 10M-client run in 1 GB spilled
# 3 GB to disk (SQLite stage 44.6 s and 1.26 GB against 32.2 s and 0.50 GB in 40 parts)
STAGE_MEMORY_MB = 256
STAGE_PART_CLIENTS = 250_000
# the SQLite stage's DuckDB threads once the gate has answered (one while it validates)
STAGE_THREADS_ALONE = 2
# land's DuckDB while it writes the raw tables: a big insert goes to disk in row groups as
# it comes; without a limit DuckDB keeps taking memory (10M rows: +800 MB on land's peak)
LAND_MEMORY = "1GB"
PG_COPY_PARTS = 4  # PostgreSQL: the clients' CSV in parts, so COPY starts while DuckDB writes
# write: below this many new clients, dropping and rebuilding indexes costs more than it saves
BULK_MIN_CLIENTS = 20_000
# SQLite's page size (bytes) for a booking database Ferry creates and for the load's
# scratch stage: a big load writes and reads fewer, fuller pages (`load_run` alone, against
# 4096: 1M clients 11.0 -> 10.1 s, 10M 126.8 -> 112.8 s); a file that exists keeps its own
SQLITE_PAGE_SIZE = 16_384
# SQLite's page cache for the load's connection (KiB): inserts and look-ups of a big load
SQLITE_CACHE_KB = 262_144
# SQLite's sorter while it builds an index after a bulk insert (KiB): it sorts runs of this
# size (each fits the CPU's caches) on worker threads and merges them from temp files; one
# large run sorted in memory was 3x slower at 10M clients (ferry/target/db.py)
SQLITE_SORT_RUN_KB = 4_096
SQLITE_SORT_THREADS = 2
