"""Connections to the target booking database: URL, schema, transactions, the tenant lock.

Every connection Ferry makes to the target comes from here, so that
- SQLite and PostgreSQL behave alike (SQLite gets an explicit BEGIN IMMEDIATE: the write
  lock is taken at the start, not half-way through a load),
- every database error leaves as a TargetError with the URL's password hidden,
- two migrations of one tenant never interleave (the tenant lock), and
- read-only callers (snapshot, dry run, export, undo look-ups) never create a file,
  database or table.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ferry import config
from ferry.config import lock_timeout, redact_url
from ferry.errors import FerryError, TargetError

SCHEMA_VERSION = 5


def _rebuild(index: str) -> Callable[[str], str]:
    return lambda dialect: f"DROP INDEX IF EXISTS {index};\n{schema_index(dialect, index)}"


# Upgrades from version N to N+1: {N: function of the dialect returning the SQL script}.
UPGRADES: dict[int, Callable[[str], str]] = {
    1: lambda dialect: (
        "CREATE INDEX IF NOT EXISTS balances_account ON balances (account_id);"
    ),  # undo of a big login import
    2: _rebuild("clients_match_key"),  # partial: only keys without an e-mail are looked up
    3: lambda dialect: _invite_delivery(dialect),  # ferry invites send: delivery states and their log
    4: _rebuild("balances_account"),  # partial: a load's new balances carry no account
}

# invite_queue's delivery columns (version 4), in schema order; a column already there is
# skipped (PostgreSQL: IF NOT EXISTS; SQLite: run_script), as every other upgrade statement
INVITE_DELIVERY_COLUMNS = (
    ("attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("last_error", "TEXT"),
    ("sent_at", "{ts}"),
    ("message_id", "TEXT"),
    ("lease_until", "{ts}"),
    ("claimed_by", "TEXT"),
)


def _invite_delivery(dialect: str) -> str:
    ts, exists = ("timestamptz", "IF NOT EXISTS ") if dialect == "postgresql" else ("TEXT", "")
    alters = "".join(
        f"ALTER TABLE invite_queue ADD COLUMN {exists}{name} {kind.format(ts=ts)};\n"
        for name, kind in INVITE_DELIVERY_COLUMNS
    )
    table = re.search(r"CREATE TABLE IF NOT EXISTS invite_sends \(.*?\n\);\n", schema_script(dialect), re.S).group(0)
    indexes = [ddl for _, ddl in schema_indexes(dialect, "invite_sends")]
    return "\n".join([alters, schema_index(dialect, "invite_queue_claim"), table, *indexes])


LOCK_NAMESPACE = 0x46525259  # 'FRRY': keeps Ferry's advisory locks apart from the app's
SCHEMA_LOCK_KEY = 0

# The columns of each table after `id`, in schema order: change-log images and undo use them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "clients": (
        "tenant",
        "full_name",
        "first_name",
        "last_name",
        "salutation",
        "email",
        "phone",
        "phone_raw",
        "postal_code",
        "birth_date",
        "newsletter_consent",
        "registration_status",
        "account_id",
        "login_id",
        "password_hash",
        "must_change_password",
        "tags",
        "extra",
        "external_id",
        "run_id",
        "created_at",
        "updated_at",
        "match_key",
        "created_run_id",
    ),
    "balances": (
        "tenant",
        "client_id",
        "kind",
        "card_template",
        "amount",
        "tier",
        "run_id",
        "account_id",
        "created_run_id",
    ),
    "invite_queue": ("tenant", "client_id", "email", "status", "created_at", "run_id"),
    "appointments": ("tenant", "client_id", "client_name", "starts_at"),
}


@dataclass(frozen=True)
class Target:
    url: str
    dialect: str  # "sqlite" | "postgresql"
    path: Path | None = None  # the SQLite file; None for an in-memory database

    @property
    def shown(self) -> str:
        return redact_url(self.url)

    @property
    def is_pg(self) -> bool:
        return self.dialect == "postgresql"


def parse_target(url: str) -> Target:
    """sqlite:///relative.db, sqlite:////absolute.db, sqlite:// (memory), postgresql://…"""
    if url.startswith("sqlite:"):
        rest = url[len("sqlite:") :]
        if rest in ("", "//", "///:memory:", "//:memory:"):
            return Target(url, "sqlite", None)
        if not rest.startswith("///"):
            raise TargetError(f"target {url}: a SQLite target is written sqlite:///path/to/file.db")
        return Target(url, "sqlite", Path(rest[3:].split("?", 1)[0]))
    if url.startswith(("postgresql:", "postgres:", "postgresql+psycopg:")):
        return Target(url, "postgresql")
    raise TargetError(f"target {redact_url(url)}: use sqlite:///path or postgresql://…")


def memory_target() -> Target:
    return Target("sqlite://", "sqlite", None)


# --------------------------------------------------------------------------- engines


_TEMP_FOLDER = threading.Lock()


@contextmanager
def sqlite_temp_files(folder: Path | None) -> Iterator[bool]:
    """Whether the block's SQLite connections may keep temp data in files in `folder`.

    SQLite sorts an index build in runs it merges from temp files (on worker threads) only
    when temp storage is on files; with temp_store=MEMORY it sorts the whole index as one
    list in memory, which took 27 s instead of 8.5 s for 10M clients' e-mails. Temp files
    hold clients' details, so they go to `folder`, a scratch folder in the home, never to
    /tmp. SQLite has one temp folder per process: a block takes it only when no other block
    of the process holds it; otherwise (False) its temp data stays in memory, as before."""
    if folder is None or not _TEMP_FOLDER.acquire(blocking=False):
        yield False
        return
    try:
        before = _swap_temp_folder(str(folder))
        try:
            yield True
        finally:
            _swap_temp_folder(before)
    finally:
        _TEMP_FOLDER.release()


def _swap_temp_folder(folder: str) -> str:
    """Set SQLite's temp folder ('' = its defaults); returns the one set before."""
    con = sqlite3.connect(":memory:")
    try:
        row = con.execute("PRAGMA temp_store_directory").fetchone()
        con.execute("PRAGMA temp_store_directory = '{}'".format(folder.replace("'", "''")))
        return row[0] if row else ""
    finally:
        con.close()


def _sqlite_engine(target: Target, read_only: bool, attach: Path | None = None, temp_files: bool = False):
    timeout = lock_timeout()
    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"
    if read_only and target.path is not None and Path(f"{target.path}-journal").exists():
        # A writer died mid-transaction (kill -9, power cut) and left a hot journal, which
        # only a read-write connection can roll back; until then mode=ro fails. Open
        # read-write but never write: SQLite restores the last committed state itself.
        read_only = False

    def connect():
        if target.path is None:
            con = sqlite3.connect(":memory:", timeout=timeout, check_same_thread=False)
        elif read_only:
            uri = f"file:{quote(str(target.path.resolve()))}?mode=ro"
            con = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
        else:
            con = sqlite3.connect(str(target.path), timeout=timeout, check_same_thread=False)
        con.isolation_level = None  # Ferry emits BEGIN itself (below)
        con.execute("PRAGMA foreign_keys = ON")
        # a booking database Ferry creates gets bigger pages; an existing one keeps its own
        # (SQLite applies this only before the file's first write)
        con.execute(f"PRAGMA page_size = {config.SQLITE_PAGE_SIZE}")
        con.execute(f"PRAGMA cache_size = -{config.SQLITE_CACHE_KB}")
        # temp files only in the folder sqlite_temp_files has set (in the home)
        con.execute("PRAGMA temp_store = FILE" if temp_files else "PRAGMA temp_store = MEMORY")
        if attach is not None:
            # before BEGIN (ATTACH is refused inside a transaction); its tables are found
            # by their plain names, the target's own names never collide with stage_*
            con.execute("ATTACH DATABASE ? AS stage", (str(attach),))
        return con

    engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # IMMEDIATE takes the database's write lock now (waiting up to the busy timeout),
        # which is SQLite's tenant lock: a second migration waits here, then proceeds.
        conn.exec_driver_sql(begin)

    return engine


def _pg_engine(target: Target):
    url = make_url(target.url)
    url = url.set(drivername="postgresql+psycopg")
    args = {"connect_timeout": 10}
    if "application_name" not in url.query:
        args["application_name"] = "ferry"
    return create_engine(url, poolclass=NullPool, connect_args=args)


def make_engine(target: Target, read_only: bool = False, attach: Path | None = None, temp_files: bool = False):
    """`attach`: SQLite only, a scratch stage file attached to every connection as `stage`;
    `temp_files`: SQLite only, temp data in files (see sqlite_temp_files)."""
    if target.dialect == "sqlite":
        return _sqlite_engine(target, read_only, attach, temp_files)
    return _pg_engine(target)


# --------------------------------------------------------------------------- errors


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None)
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    if sqlstate == "55P03" or "lock timeout" in first:
        return f"another Ferry run holds this tenant's lock (waited {lock_timeout():.0f} s); try again when it has finished"
    if "database is locked" in first:
        return f"the SQLite database is locked by another writer (waited {lock_timeout():.0f} s); try again when it has finished"
    if (
        sqlstate in ("57P01", "57P02", "57P03")
        or "terminating connection" in first
        or "server closed the connection" in first
        or "consuming input failed" in first
    ):
        return f"the connection to the target was lost ({first})"
    constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
    if constraint:
        return f"{first} (constraint {constraint})"
    return first


@contextmanager
def target_errors(target: Target, what: str) -> Iterator[None]:
    """Turn any database failure into TargetError('<what> failed on target <url>: reason')."""
    try:
        yield
    except FerryError:
        raise
    except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
        message = redact_url(_reason(exc))
        password = make_url(target.url).password if target.is_pg else None
        if password:
            message = message.replace(str(password), "***")
        raise TargetError(f"{what} failed on target {target.shown}: {message}; nothing was changed") from exc
    except Exception as exc:  # psycopg errors raised outside SQLAlchemy (COPY), ADBC's (SQLite stage)
        if type(exc).__module__.startswith(("psycopg", "adbc_driver")):
            raise TargetError(f"{what} failed on target {target.shown}: {_reason(exc)}; nothing was changed") from exc
        raise


# SQLSTATEs worth one more try: serialization failure, deadlock, lock not available,
# the server shutting down or not yet accepting connections, any connection exception (08…)
TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03"}
TRANSIENT_TEXTS = (
    "connection refused",
    "connection reset",
    "server closed the connection",
    "terminating connection",
    "could not connect",
    "could not serialize",
    "lock timeout",
    "database is locked",
    "the connection to the target was lost",
    "holds this tenant's lock",
    "locked by another writer",
)


def is_transient(exc: BaseException) -> bool:
    """Whether the target may well accept the same load a little later: a refused or reset
    connection, a serialization failure or a lock that timed out. Never a control-totals
    mismatch, a constraint or a run already loaded: those fail the same way again. Safe to
    retry because the load is one transaction (docs/CONTRACT.md §6)."""
    from ferry.errors import ControlTotalsMismatch

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ControlTotalsMismatch) or "already loaded" in str(exc):
            return False
        if isinstance(exc, ConnectionError):  # refused, reset, aborted
            return True
        orig = getattr(exc, "orig", None) or exc
        sqlstate = getattr(orig, "sqlstate", None) or ""
        if sqlstate in TRANSIENT_SQLSTATES or sqlstate.startswith("08"):
            return True
        if any(t in str(orig).lower() for t in TRANSIENT_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# --------------------------------------------------------------------------- transactions


@contextmanager
def transaction(
    target: Target, what: str, *, tenant: str | None = None, schema: bool = False, attach: Path | None = None
) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back on any error.

    With `tenant`, the tenant lock is taken first; with `schema`, the schema is created or
    upgraded inside the same transaction (used for in-memory targets); `attach`: see
    make_engine.
    """
    with sqlite_temp_files(attach and attach.parent) as temp_files:
        engine = make_engine(target, attach=attach, temp_files=temp_files)
        try:
            with target_errors(target, what):
                if target.path is not None:
                    target.path.parent.mkdir(parents=True, exist_ok=True)
                with engine.connect() as conn, conn.begin():
                    if target.is_pg and tenant is not None:
                        lock_tenant(conn, tenant)
                    if schema:
                        create_schema(conn, target)
                    yield conn
        finally:
            engine.dispose()


@contextmanager
def read_transaction(target: Target, what: str, attach: Path | None = None) -> Iterator[Connection | None]:
    """A transaction that never changes the target (SQLite opened mode=ro; always rolled
    back); yields None when the target (file, database or Ferry's schema) does not exist,
    having created nothing. `attach`: see make_engine."""
    if target.dialect == "sqlite" and (target.path is None or not target.path.is_file()):
        yield None
        return
    engine = make_engine(target, read_only=True, attach=attach)
    try:
        with target_errors(target, what):
            try:
                conn = engine.connect()
            except DBAPIError as exc:
                if _missing_database(exc):
                    conn = None
                else:
                    raise
            if conn is None:
                yield None
                return
            with conn:
                trans = conn.begin()
                try:
                    yield conn if schema_version(conn, target) is not None else None
                finally:
                    trans.rollback()  # nothing to keep: temp tables go with it
    finally:
        engine.dispose()


def seal_read_only(conn: Connection, target: Target) -> None:
    """From here on the transaction cannot write the target (temp tables stay writable).
    SQLite read connections are opened mode=ro already."""
    if target.is_pg:
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")


def _missing_database(exc: DBAPIError) -> bool:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "3D000" or ("database" in str(orig) and "does not exist" in str(orig))


def lock_tenant(conn: Connection, tenant: str) -> None:
    """PostgreSQL: a transaction-scoped advisory lock per tenant (released at commit or
    rollback). A second migration of the tenant waits up to FERRY_LOCK_TIMEOUT, then
    fails with a clear message. SQLite's equivalent is BEGIN IMMEDIATE."""
    conn.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": f"{int(lock_timeout() * 1000)}ms"})
    conn.execute(text("SELECT pg_advisory_xact_lock(:ns, hashtext(:tenant))"), {"ns": LOCK_NAMESPACE, "tenant": tenant})
    conn.execute(text("SELECT set_config('lock_timeout', '0', true)"))


# --------------------------------------------------------------------------- schema


def schema_version(conn: Connection, target: Target) -> int | None:
    if target.is_pg:
        present = conn.execute(text("SELECT to_regclass('schema_version') IS NOT NULL")).scalar()
    else:
        present = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
        ).scalar()
    if not present:
        return None
    return conn.execute(text("SELECT max(version) FROM schema_version")).scalar() or 0


def ensure_schema(target: Target) -> None:
    """Create or upgrade the schema in its own short transaction (a global lock on
    PostgreSQL, so two first runs against an empty database do not race)."""
    engine = make_engine(target)
    try:
        with target_errors(target, "creating the schema"):
            if target.path is not None:
                target.path.parent.mkdir(parents=True, exist_ok=True)
            with engine.connect() as conn, conn.begin():
                if target.is_pg:
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": LOCK_NAMESPACE, "key": SCHEMA_LOCK_KEY}
                    )
                create_schema(conn, target)
    finally:
        engine.dispose()


def create_schema(conn: Connection, target: Target) -> None:
    version = schema_version(conn, target)
    if version == SCHEMA_VERSION:
        return
    if version is not None and version > SCHEMA_VERSION:
        raise TargetError(
            f"target {target.shown} has schema version {version}, newer than this Ferry "
            f"understands ({SCHEMA_VERSION}); upgrade Ferry"
        )
    if version is None:
        run_script(conn, target, schema_script(target.dialect))
        version = SCHEMA_VERSION
        conn.execute(text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": SCHEMA_VERSION})
    while version < SCHEMA_VERSION:
        run_script(conn, target, UPGRADES[version](target.dialect))
        version += 1
        conn.execute(text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": version})


def schema_script(dialect: str) -> str:
    name = "schema_postgres.sql" if dialect == "postgresql" else "schema_sqlite.sql"
    return resources.files("ferry.target").joinpath(name).read_text(encoding="utf-8")


def schema_indexes(dialect: str, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of `table`'s secondary indexes in Ferry's schema."""
    pattern = rf"CREATE (?:UNIQUE )?INDEX IF NOT EXISTS (\w+) ON {table} \([^;]*;"
    return [(m.group(1), m.group(0)) for m in re.finditer(pattern, schema_script(dialect))]


def schema_index(dialect: str, name: str) -> str:
    """The CREATE INDEX statement of index `name` in Ferry's schema."""
    return next(ddl for index, ddl in schema_indexes(dialect, r"\w+") if index == name)


def run_script(conn: Connection, target: Target, script: str) -> None:
    """Run a multi-statement DDL script inside the current transaction."""
    raw = conn.connection.driver_connection
    if target.is_pg:
        raw.execute(script)  # no parameters: psycopg sends it as one simple query
        return
    cur = raw.cursor()
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            try:
                cur.execute(statement)
            except sqlite3.OperationalError as exc:
                # SQLite has no ADD COLUMN IF NOT EXISTS: a column already there is skipped
                if "duplicate column name" not in str(exc):
                    raise
            statement = ""
    if statement.strip() and not statement.strip().startswith("--"):
        cur.execute(statement)


# --------------------------------------------------------------------------- SQL dialect bits


@dataclass(frozen=True)
class Dialect:
    """The few SQL fragments that differ; everything else is written once for both."""

    name: str

    @property
    def ne(self) -> str:
        return "IS DISTINCT FROM" if self.name == "postgresql" else "IS NOT"

    @property
    def bigint(self) -> str:
        return "bigint" if self.name == "postgresql" else "INTEGER"

    @property
    def boolean(self) -> str:
        return "boolean" if self.name == "postgresql" else "BOOLEAN"

    @property
    def date(self) -> str:
        return "date" if self.name == "postgresql" else "TEXT"

    @property
    def fill(self) -> str:
        return "WITH (fillfactor = 70)" if self.name == "postgresql" else ""

    @property
    def on_commit(self) -> str:
        return "ON COMMIT DROP" if self.name == "postgresql" else ""

    def row_json(self, table: str, alias: str) -> str:
        """The whole row `alias` of `table` as JSON text (a change-log before-image)."""
        if self.name == "postgresql":
            return f"CAST(row_to_json({alias}) AS text)"
        pairs = ", ".join(f"'{c}', {alias}.{c}" for c in ("id", *COLUMNS[table]))
        return f"json_object({pairs})"

    def image_source(self, table: str, log: str) -> tuple[str, Callable[[str], str]]:
        """(extra FROM item, column -> expression) to read a before-image in `log`.before."""
        if self.name == "postgresql":
            return f", json_populate_record(CAST(NULL AS {table}), CAST({log}.before AS json)) AS img", (
                lambda c: f"img.{c}"
            )
        return "", (lambda c: f"json_extract({log}.before, '$.{c}')")


def dialect_of(target: Target) -> Dialect:
    return Dialect(target.dialect)
