"""Bulk staging: one run's marts.clients / marts.balances into stage tables the load joins.

The stage tables are written once and never updated (on PostgreSQL every UPDATE rewrites
each row it touches); all the matching and writing afterwards is set-based SQL between
them, the plan tables and the target's tables, so the only per-row work is the copy.

A run's few (kind, card_template) pairs ride along in the clients' rows (amount_<n>,
tier_<n>), and stage_balances is a view that unfolds them into rows: one staged row per
client instead of three (a staged row costs far more than a few more values on a row that
is staged anyway). More than config.STAGE_MAX_PAIRS pairs, or marts that are not one row per
client and pair, are staged as rows in a stage_balances table, as they come.

- PostgreSQL: DuckDB writes CSV, psycopg streams it with COPY (the rows never become
  Python objects). DuckDB writes part n+1 on a worker thread (it releases the GIL) while the
  server copies part n.
- SQLite: the stage is a scratch SQLite file of its own, filled before the load's
  transaction opens and ATTACHed to it as `stage`. ADBC's SQLite driver binds DuckDB's
  Arrow batches in C: no Python object per value (as sqlite3's executemany needs) and the
  GIL is free meanwhile. It never opens the target: two SQLite libraries in one process
  must not hold one file at once (their POSIX locks would cancel each other), and the
  scratch file is only attached once ADBC has closed it.
The warehouse is opened read-only and closed before any target table is touched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
from sqlalchemy import Connection, text

from ferry import config
from ferry.errors import FerryError
from ferry.target.db import Dialect

# (stage column, DuckDB expression over the marts, kind). Kinds: "int"; "bool" (never
# NULL); "text" (as it is: a NULL still fails the stage's NOT NULL); "null" (text or NULL).
CLIENT_SPEC = (
    ("client_key", "c.client_key", "int"),
    ("match_key", "match_key", "null"),
    ("full_name", "full_name", "null"),
    ("first_name", "first_name", "null"),
    ("last_name", "last_name", "null"),
    ("salutation", "salutation", "null"),
    ("email", "lower(email)", "null"),
    ("phone", "phone", "null"),
    ("phone_raw", "phone_raw", "null"),
    ("postal_code", "postal_code", "null"),
    ("birth_date", "cast(birth_date as varchar)", "null"),
    ("newsletter_consent", "coalesce(newsletter_consent, false)", "bool"),
    ("login_id", "login_id", "null"),
    ("password_hash", "password_hash", "null"),
    ("must_change_password", "coalesce(must_change_password, false)", "bool"),
    ("tags", "coalesce(tags, '[]')", "text"),
    ("extra", "coalesce(extra, '{}')", "text"),
    ("external_id", "external_id", "null"),
    ("has_balance", "coalesce(has_balance, false)", "bool"),
    ("has_login", "login_id is not null and email is not null", "bool"),
)
BALANCE_SPEC = (
    ("client_key", "client_key", "int"),
    ("kind", "kind", "text"),
    ("card_template", "card_template", "null"),
    ("amount", "cast(amount as varchar)", "text"),
    ("tier", "tier", "null"),
)
BALANCES_FROM = "from marts.balances where run_id = $1"
TOTALS_QUERY = "select kind, sum(amount) from marts.balances where run_id = ? group by kind order by kind"


def stage_statements(d: Dialect, pairs: list[tuple] | None, temp: bool = True) -> list[str]:
    """DDL of the stage. With `pairs`: stage_clients carries amount_<n>, tier_<n> per pair
    and stage_balances is a view over it and stage_pairs; without, stage_balances is a
    table of rows. `temp`: temp tables of the load's session (PostgreSQL); else tables of
    the scratch file (SQLite)."""
    b, flag = d.bigint, d.boolean
    temp_kw, end = ("TEMP ", f" {d.on_commit}") if temp else ("", "")
    slots = range(1, len(pairs or ()) + 1)
    pivoted = "".join(f", amount_{n} numeric, tier_{n} text" for n in slots)
    statements = [
        f"""
        CREATE {temp_kw}TABLE stage_clients (
            client_key {b} PRIMARY KEY, match_key text, full_name text, first_name text,
            last_name text, salutation text, email text, phone text, phone_raw text,
            postal_code text, birth_date {d.date}, newsletter_consent {flag} NOT NULL,
            login_id text, password_hash text, must_change_password {flag} NOT NULL,
            tags text NOT NULL, extra text NOT NULL, external_id text,
            has_balance {flag} NOT NULL, has_login {flag} NOT NULL{pivoted}
        ){end}"""
    ]
    if not pairs:
        return statements + [
            f"""
            CREATE {temp_kw}TABLE stage_balances (
                client_key {b} NOT NULL, kind text NOT NULL, card_template text,
                amount numeric NOT NULL, tier text
            ){end}"""
        ]
    amount = "CASE p.slot " + " ".join(f"WHEN {n} THEN s.amount_{n}" for n in slots) + " END"
    tier = "CASE p.slot " + " ".join(f"WHEN {n} THEN s.tier_{n}" for n in slots) + " END"
    return statements + [
        f"CREATE {temp_kw}TABLE stage_pairs (slot integer PRIMARY KEY, kind text NOT NULL, card_template text){end}",
        f"""CREATE {temp_kw}VIEW stage_balances (client_key, kind, card_template, amount, tier) AS
            SELECT s.client_key, p.kind, p.card_template, {amount}, {tier}
              FROM stage_clients s CROSS JOIN stage_pairs p
             WHERE {amount} IS NOT NULL""",
    ]


def create_stage_tables(conn: Connection, d: Dialect, pairs: list[tuple] | None = None) -> None:
    """The stage as temp tables of the load's PostgreSQL session."""
    # temp tables live in temp_buffers (8 MB by default): a 1M-row stage would spill to
    # disk on every pass. Allowed only before the session's first temp table, and each
    # load has a session of its own. Limits, not allocations. JIT compiles each big
    # one-shot statement and never wins the compile time back here.
    conn.exec_driver_sql(
        "SELECT set_config('temp_buffers', '1GB', true), set_config('work_mem', '256MB', true), "
        "set_config('jit', 'off', true)"
    )
    for statement in stage_statements(d, pairs):
        conn.exec_driver_sql(statement)
    for n, (kind, template) in enumerate(pairs or (), start=1):
        conn.execute(
            text("INSERT INTO stage_pairs (slot, kind, card_template) VALUES (:n, :kind, :template)"),
            {"n": n, "kind": kind, "template": template},
        )


def stage_run(conn: Connection, d: Dialect, warehouse: Path, run_id: str) -> dict[str, Decimal]:
    """PostgreSQL: fill the session's stage tables with the run's marts; returns the source
    sum per balance kind."""
    duck = _open_warehouse(warehouse)
    try:
        totals, pairs, _, jobs = _jobs(duck, run_id, warehouse, min_parts=config.PG_COPY_PARTS)
        create_stage_tables(conn, d, pairs)
        _stage_pg(conn, duck, warehouse, jobs)
    finally:
        duck.close()
    if not pairs:
        conn.exec_driver_sql("CREATE INDEX stage_balances_client ON stage_balances (client_key)")
    conn.exec_driver_sql("ANALYZE stage_clients")  # temp tables get no autovacuum stats
    conn.exec_driver_sql("ANALYZE stage_pairs" if pairs else "ANALYZE stage_balances")
    return totals


@dataclass(frozen=True)
class ScratchStage:
    """A SQLite stage built outside the load's transaction: ATTACH it as `stage`."""

    path: Path
    totals: dict[str, Decimal]


SCRATCH_PREFIX = ".ferry-stage-"


def never() -> bool:
    """The default `alone`: nothing says the gate has answered, the stage keeps one thread."""
    return False


@contextmanager
def scratch_stage(warehouse: Path, run_id: str, alone: Callable[[], bool] = never) -> Iterator[ScratchStage]:
    """SQLite: the run's stage in a scratch folder next to the warehouse, deleted
    afterwards (`alone`: see build_sqlite_stage). Next to the warehouse, not in /tmp: that
    can be RAM-backed, and a big run's stage would then hold memory through the whole load.
    A folder a killed run left behind goes with the next run's."""
    folder = Path(warehouse).resolve().parent
    _remove_abandoned(folder)
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=folder) as tmp:
        path = Path(tmp) / "stage.db"
        yield ScratchStage(path, build_sqlite_stage(path, warehouse, run_id, alone))


def _remove_abandoned(folder: Path) -> None:
    """Delete scratch folders whose process is gone (the pid is in the name)."""
    for scratch in folder.glob(f"{SCRATCH_PREFIX}*-*"):
        try:
            pid = int(scratch.name[len(SCRATCH_PREFIX) :].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(scratch, ignore_errors=True)
        except (ValueError, OSError):
            continue  # not ours, or a live process of another user


def build_sqlite_stage(
    path: Path, warehouse: Path, run_id: str, alone: Callable[[], bool] = never
) -> dict[str, Decimal]:
    """Write the stage tables into a new SQLite file with ADBC; returns the source sum
    per balance kind. A value that breaks the stage's constraints (a NULL amount) raises
    the driver's IntegrityError, as the insert into the target would have.

    `alone()`, asked before each part, says whether the work beside the load (the gate's
    process) is over: from then on DuckDB sorts the parts on config.STAGE_THREADS_ALONE
    threads (see _open_warehouse). A 10M-client stage alone: 34.9 s on one thread, 26.6 s
    on two."""
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    d = Dialect("sqlite")
    duck = _open_warehouse(warehouse)
    try:
        totals, pairs, _, jobs = _jobs(duck, run_id, warehouse)
        with adbc.connect(str(path), autocommit=True) as stage, stage.cursor() as cur:
            # a scratch file, read back by this process and deleted: nothing to roll back
            # to and no crash to survive, so no journal and no fsync (no waiting on the disk);
            # each statement commits on its own (synchronous cannot change inside one)
            cur.execute("PRAGMA journal_mode = OFF")
            cur.execute("PRAGMA synchronous = OFF")
            cur.execute(f"PRAGMA page_size = {config.SQLITE_PAGE_SIZE}")
            for statement in stage_statements(d, pairs, temp=False):
                cur.execute(statement)
            if pairs:
                cur.adbc_ingest(
                    "stage_pairs",
                    pa.table(
                        {
                            "slot": pa.array(range(1, len(pairs) + 1), pa.int64()),
                            "kind": [kind for kind, _ in pairs],
                            "card_template": pa.array([template for _, template in pairs], pa.string()),
                        }
                    ),
                    mode="append",
                )
            widened = False
            for table, spec, where, order, params in jobs:
                if not widened and alone():
                    duck.execute(f"SET threads = {config.STAGE_THREADS_ALONE}")
                    widened = True
                columns = ", ".join(f"{_typed(expr, kind)} as {column}" for column, expr, kind in spec)
                try:
                    batches = duck.sql(f"select {columns} {where} order by {order}", params=params)
                    cur.adbc_ingest(table, batches.to_arrow_reader(100_000), mode="append")
                except duckdb.Error as exc:
                    raise _unreadable(run_id, warehouse, exc) from exc
            if not pairs:
                cur.execute("CREATE INDEX stage_balances_client ON stage_balances (client_key)")
    finally:
        duck.close()
    return totals


def _typed(expr: str, kind: str) -> str:
    return f"cast({expr} as integer)" if kind == "bool" else expr


def _jobs(duck, run_id: str, warehouse: Path, min_parts: int = 1) -> tuple:
    """(totals per kind, pairs, absent columns, stage jobs) of a run. The jobs come in parts
    of at most config.STAGE_PART_CLIENTS clients (at least `min_parts`), by client_key
    range, in client_key order: each part's sort fits DuckDB's memory (_open_warehouse),
    where one sort of a 10M-client run spilled 3 GB to disk and took half again as long."""
    absent, clients, low, high = _scan_clients(duck, run_id, warehouse)
    totals = {kind: amount for kind, amount in _read(duck, TOTALS_QUERY, [run_id], warehouse)}
    pairs, tierless = _pivot_pairs(duck, run_id, warehouse)
    absent |= tierless
    ranges = _key_ranges(low, high, max(min_parts, -(-clients // config.STAGE_PART_CLIENTS)))
    jobs = [_clients(pairs, run_id, absent, keys) for keys in ranges]
    if not pairs:
        jobs += [_balances(run_id, keys) for keys in ranges]
    return totals, pairs, absent, jobs


def _key_ranges(low: int | None, high: int | None, parts: int) -> list[tuple[int, int] | None]:
    """`parts` ranges [from, to) of the client keys low..high, of equal width (the keys are
    row numbers: about as many clients in each); [None] (everything) for one part."""
    if parts <= 1 or low is None:
        return [None]
    step = (high - low) // parts + 1
    return [(lo, lo + step) for lo in range(low, high + 1, step)]


def _balances(run_id: str, keys: tuple[int, int] | None) -> tuple:
    """The stage_balances rows job (a run whose balances are staged as rows), for the
    clients with low <= client_key < high (`keys`), or all."""
    params = [run_id] if keys is None else [run_id, *keys]
    return (
        "stage_balances",
        BALANCE_SPEC,
        BALANCES_FROM + _in_range("", keys),
        "client_key, kind, card_template",
        params,
    )


def _in_range(alias: str, keys: tuple[int, int] | None) -> str:
    """The condition `alias`.client_key in [$2, $3) of a part's query ('' for all keys)."""
    column = f"{alias}.client_key" if alias else "client_key"
    return "" if keys is None else f" and {column} >= $2 and {column} < $3"


def _pivot_pairs(duck, run_id: str, warehouse: Path) -> tuple[list[tuple] | None, set[str]]:
    """The run's (kind, card_template) pairs, in order, when its balances can ride in the
    clients' rows: 1..MAX_PAIRS pairs, one row per client and pair, no NULL amount. Else
    None: rows are staged as they are (and anything malformed fails as it always did).
    Also the tier_<n> columns no balance of the run fills."""
    pairs = _read(
        duck,
        """
        select kind, card_template, count(*) = count(amount) and count(*) = count(distinct client_key),
               count(tier) = 0
          from marts.balances where run_id = ? group by kind, card_template order by kind, card_template""",
        [run_id],
        warehouse,
    )
    if not 1 <= len(pairs) <= config.STAGE_MAX_PAIRS or not all(clean for _, _, clean, _ in pairs):
        return None, set()
    return [(kind, template) for kind, template, _, _ in pairs], {
        f"tier_{n}" for n, (_, _, _, tierless) in enumerate(pairs, start=1) if tierless
    }


def _scan_clients(duck, run_id: str, warehouse: Path) -> tuple[set[str], int, int | None, int | None]:
    """One scan of the run's clients: the client columns that are NULL for every client
    (not fetched at all: the stage column stays NULL, e.g. logins and salutations in most
    files), how many clients there are, and their lowest and highest client_key."""
    nullable = [(column, expr) for column, expr, kind in CLIENT_SPEC if kind == "null"]
    clients, low, high, *counts = _read(
        duck,
        f"select count(*), min(c.client_key), max(c.client_key), {', '.join(f'count({expr})' for _, expr in nullable)} "
        "from marts.clients as c where c.run_id = ?",
        [run_id],
        warehouse,
    )[0]
    return {column for (column, _), n in zip(nullable, counts) if n == 0}, clients, low, high


def _clients(pairs: list[tuple] | None, run_id: str, absent: set[str], keys: tuple[int, int] | None = None) -> tuple:
    """(table, spec, FROM … WHERE, ORDER BY, parameters) of the stage_clients rows: the
    clients (with low <= client_key < high for `keys`), with amount_<n>, tier_<n> per pair
    (a join per pair: cheaper in DuckDB than one grouped pivot; the pairs are unique per
    client), without the `absent` columns."""
    spec, params = list(CLIENT_SPEC), [run_id]
    if keys is not None:
        params += list(keys)
    joins = []
    for n, (kind, template) in enumerate(pairs or (), start=1):
        params += [kind, template]
        joins.append(f"""left join marts.balances as b{n}
                           on b{n}.run_id = $1 and b{n}.client_key = c.client_key{_in_range(f"b{n}", keys)}
                          and b{n}.kind = cast(${len(params) - 1} as varchar)
                          and b{n}.card_template is not distinct from cast(${len(params)} as varchar)""")
        spec += [(f"amount_{n}", f"cast(b{n}.amount as varchar)", "null"), (f"tier_{n}", f"b{n}.tier", "null")]
    where = f"from marts.clients as c {' '.join(joins)} where c.run_id = $1{_in_range('c', keys)}"
    return "stage_clients", tuple(col for col in spec if col[0] not in absent), where, "c.client_key", params


# --------------------------------------------------------------------------- PostgreSQL


def _stage_pg(conn: Connection, duck, warehouse: Path, jobs: list) -> None:
    """DuckDB writes each part's CSV (by client_key, _jobs) on a worker thread; the
    server copies each part as soon as it is written, so the export and the COPY overlap
    instead of following each other."""
    # the clients' details stay in the home (never a shared /tmp), in a scratch folder that
    # the next run removes if this one is killed, as for SQLite's stage
    folder = Path(warehouse).resolve().parent
    _remove_abandoned(folder)
    scratch = tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=folder)
    with scratch as tmp, ThreadPoolExecutor(1) as pool:
        exports = []
        for n, (table, spec, where, order, params) in enumerate(jobs):
            path = Path(tmp) / f"{n}.csv"
            quoted = str(path).replace("'", "''")
            query = (
                f"copy (select {', '.join(expr for _, expr, _ in spec)} {where} order by {order}) "
                f"to '{quoted}' (header false)"
            )
            exports.append((table, spec, path, pool.submit(_read, duck.cursor(), query, params, warehouse)))
        for table, spec, path, export in exports:
            export.result()
            _copy_csv(conn, table, tuple(c for c, _, _ in spec), path)


def _copy_csv(conn: Connection, table: str, columns: tuple[str, ...], path: Path) -> None:
    """COPY a DuckDB CSV (NULL = empty field, '' = quoted empty) into a temp table."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                copy.write(chunk)


# --------------------------------------------------------------------------- DuckDB


def _open_warehouse(warehouse: Path):
    """Read-only, within config.STAGE_MEMORY_MB whatever the run's size (the stage works in
    parts of config.STAGE_PART_CLIENTS clients, see _jobs), on one thread: the gate's
    process validates meanwhile, and the two together must stay within the machine's
    budget and two cores. Alone, two threads stage faster than one; beside the gate, one
    thread leaves it a core of its own, and both the gate and the whole run finish sooner
    (the SQLite stage takes the second once the gate has answered, build_sqlite_stage)."""
    try:
        return duckdb.connect(
            str(warehouse), read_only=True, config={"memory_limit": f"{config.STAGE_MEMORY_MB}MB", "threads": 1}
        )
    except duckdb.Error as exc:
        raise FerryError(f"cannot read the warehouse {warehouse}: {exc}") from exc


def _read(duck, query: str, params: list, warehouse: Path) -> list:
    try:
        return duck.execute(query, params).fetchall()
    except duckdb.Error as exc:
        raise _unreadable(params[0], warehouse, exc) from exc


def _unreadable(run_id: str, warehouse: Path, exc: Exception) -> FerryError:
    return FerryError(f"cannot read run {run_id} from the marts in {warehouse}: {exc}")
