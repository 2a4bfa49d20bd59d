"""Gate: validate the run's marts with Great Expectations and decide pass/block.

The marts are read from DuckDB into pandas and validated there: GX's SQL engine on DuckDB
reports every metric empty, which would block every load for a wrong reason.
An expectation that raised an exception counts as failed, never as passed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ferry import config
from ferry.config import quiet_environment
from ferry.gate.static import share_assets


@dataclass
class GateResult:
    passed: bool
    checks: list[dict] = field(default_factory=list)
    data_docs: Path | None = None


# a text value's code for a uniqueness check on hashes (read_mart); NULL stays NULL
HASH_SQL = 'case when "{column}" is not null then hash("{column}") end'

# the columns each suite checks: reading only these keeps a 1M-client gate fast
GATED_COLUMNS = {
    "run_summary": "*",
    "balance_reconciliation": "kind, cast(source_total as double) as source_total, "
    "cast(loaded_total as double) as loaded_total",
    "clients": "client_key, match_key, full_name, email, phone, lower(login_id) as login_key, "
    "newsletter_consent, case when has_balance then coalesce(email, '') else '-' end as balance_email",
    "balances": "client_key, kind, coalesce(card_template, '') as card_template_key, cast(amount as double) as amount",
}


def read_mart(con, name: str, run_id: str, columns: tuple[str, ...] | None = None, codes: str | None = None):
    """One gated mart of one run as a DataFrame, with the derived columns the suites check
    (`columns`: only those). Read when its validation needs it, so that a big run's gate
    holds one mart's column group in memory, not every mart whole.

    `codes`, for a uniqueness check: each text column as an integer per value, NULL kept.
    pandas hashes 10M integers in a fraction of the memory it needs for 10M strings (about
    1 GB per check). "hashed": DuckDB's 64-bit hash of the value, read as it streams; equal
    values share a hash, so unique hashes prove unique values, but two values may share one
    (see _validate). "exact": one code per distinct value, from a join of the column with
    its distinct values (at 10M rows 5 s a column, against 0.3-0.6 s hashed).

    `balance_email` is the e-mail of a client holding a balance ('' when it has none, so
    the check fails) and '-' for clients without a balance, who need no e-mail.
    """
    rows = f"select {GATED_COLUMNS[name]} from marts.{name} where run_id = $run_id"
    wanted = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    query = f"select {wanted} from ({rows})"
    mapper = None
    if codes:
        types = con.sql(f"{query} limit 0", params={"run_id": run_id}).types
        text = [i for i, t in enumerate(types) if t == "VARCHAR"]
        if text and codes == "hashed":
            picked = ", ".join(
                f'{HASH_SQL.format(column=c)} as "{c}"' if i in text else f'"{c}"' for i, c in enumerate(columns)
            )
            query = f"select {picked} from ({query})"
            import pandas as pd
            import pyarrow as pa

            # unsigned 64-bit codes with NULLs: pandas' nullable integers, not lossy floats
            mapper = {pa.uint64(): pd.UInt64Dtype()}.get
        elif text:
            codes_sql = ", ".join(
                f"""codes_{i} as (select v, row_number() over () as code
                              from (select distinct "{columns[i]}" as v from gated where "{columns[i]}" is not null))"""
                for i in text
            )
            picked = ", ".join(
                f'codes_{i}.code as "{c}"' if i in text else f'gated."{c}"' for i, c in enumerate(columns)
            )
            joins = " ".join(f'left join codes_{i} on gated."{columns[i]}" = codes_{i}.v' for i in text)
            query = f"with gated as not materialized ({query}), {codes_sql} select {picked} from gated {joins}"
    # through Arrow, not .df(): pandas keeps its string columns without a copy
    table = con.sql(query, params={"run_id": run_id}).to_arrow_table()
    if not codes:
        # one chunk per column: GX drops a column's NULLs before each check, and pandas
        # filters one chunk in a copy of it, but many chunks through a second whole copy
        # (10M e-mails: +0.7 GB instead of +1.1 GB at the check, 0.6 s faster)
        table = table.combine_chunks()
    return table.to_pandas(types_mapper=mapper)


def mart_rows(con, name: str, run_id: str) -> int:
    return con.execute(f"select count(*) from marts.{name} where run_id = ?", [run_id]).fetchall()[0][0]


def build_suites(max_reject_rate: float) -> dict:
    from expectations import balance_reconciliation, balances, clients, run_summary

    return {
        "run_summary": run_summary.build_suite(max_reject_rate),
        "balance_reconciliation": balance_reconciliation.build_suite(),
        "clients": clients.build_suite(),
        "balances": balances.build_suite(),
    }


def _columns(expectation) -> tuple[str, ...]:
    column = getattr(expectation, "column", None)
    return (column,) if column else tuple(getattr(expectation, "column_list", None) or ())


def _coded(expectation) -> bool:
    """A uniqueness check: validated on the values' codes in a big mart."""
    return type(expectation).__name__ in ("ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique")


def batches(name: str, suite, rows: int) -> list[tuple[str, object, tuple[str, ...] | None, bool]]:
    """(validation name, suite, columns to read, coded) to validate mart `name` with: the
    suite whole (columns None: all), or, for a big mart, one suite per distinct set of
    columns its expectations read, named `<mart>.<columns>`, each with a batch of only
    those; a uniqueness check has a part of its own, its column read as codes
    (`<mart>.<column>.unique`, see read_mart)."""
    groups: dict[tuple[tuple[str, ...], bool], list] = {}
    for expectation in suite.expectations:
        groups.setdefault((_columns(expectation), _coded(expectation)), []).append(expectation)
    if rows <= config.GATE_SPLIT_ROWS or len(groups) < 2 or any(not columns for columns, _ in groups):
        return [(name, suite, None, False)]
    import great_expectations as gx

    out = []
    for (columns, coded), expectations in groups.items():
        part = f"{name}.{'+'.join(columns)}" + (".unique" if coded else "")
        # expectations belong to one suite: the part gets copies of its own
        copies = [type(e)(**e.dict(exclude={"id"})) for e in expectations]
        out.append((part, gx.ExpectationSuite(name=part, expectations=copies), columns, coded))
    return out


def _validate(context, source, con, run_id: str, max_reject_rate: float, checks: list[dict]) -> None:
    """Each gated mart (or each column group of a big one) validated in turn; its checks
    appended to `checks`. A one-column uniqueness part is validated on its values' hashes;
    only if that fails (duplicates, or two values sharing a hash) is it validated again on
    exact codes, and that verdict and count stand alone."""
    import great_expectations as gx

    for name, whole in build_suites(max_reject_rate).items():
        for part, suite, columns, coded in batches(name, whole, mart_rows(con, name, run_id)):
            suite = context.suites.add_or_update(suite)
            batch = source.add_dataframe_asset(part).add_batch_definition_whole_dataframe(run_id)
            definition = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=part, data=batch, suite=suite)
            )
            # a compound key's text parts (kind, card template) repeat: coding them
            # exactly is cheap, and pandas groups plain integer codes fastest
            codes = None if not coded else "hashed" if len(columns) == 1 else "exact"
            validation = _run(definition, source, con, name, run_id, columns, codes)
            if codes == "hashed" and not validation.success:
                _forget_result(context, validation)
                validation = _run(definition, source, con, name, run_id, columns, "exact")
            checks.extend(_check(name, r) for r in validation.results)


def _run(definition, source, con, name: str, run_id: str, columns, codes: str | None):
    frame = read_mart(con, name, run_id, columns, codes)
    try:
        return definition.run(batch_parameters={"dataframe": frame})
    finally:
        del frame  # the next part's columns take their place
        _forget_batches(source)


def _forget_result(context, validation) -> None:
    """Take a validation result out of the run's GX project, so that Data Docs never show it."""
    store = context.validation_results_store
    run = validation.meta["run_id"]
    suite = validation.suite_name
    for key in store.list_keys():
        if key.run_id == run and key.expectation_suite_identifier.name == suite:
            store.remove_key(key)


def _forget_batches(source) -> None:
    """Let a validated part's data go. The data source's execution engine lives as long as
    the source and keeps every batch's DataFrame and every metric computed on it (whole
    columns of booleans among them): over a big run's parts that is several copies of the
    marts. The results are already in the validation's own objects."""
    engine = source.get_execution_engine()
    engine.batch_manager.batch_data_cache.clear()
    engine.batch_manager.reset_batch_cache()
    cache = getattr(engine, "_metric_cache", None)
    if isinstance(cache, dict):
        cache.clear()
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def warm_up() -> None:
    """Import what gate() needs (slow, most of it Great Expectations)."""
    quiet_environment()
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations  # noqa: F401
    from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: F401

    from expectations import balance_reconciliation, balances, clients, run_summary  # noqa: F401

    _keep_compiled_templates()


def _keep_compiled_templates() -> None:
    """GX renders Data Docs through a new Jinja environment per page, compiling its
    templates again each time: most of a small run's Data Docs. One in-memory bytecode
    cache for the process keeps them compiled across pages and runs (Jinja's own
    mechanism; the pages are unchanged)."""
    from jinja2 import BytecodeCache

    try:
        from great_expectations.render.view.view import DefaultJinjaView
    except ImportError:  # another GX layout: only a speed-up lost
        return
    if getattr(DefaultJinjaView, "_ferry_cache", None) is not None:
        return

    class _InMemory(BytecodeCache):
        def __init__(self) -> None:
            self.compiled: dict[str, bytes] = {}

        def load_bytecode(self, bucket) -> None:
            if bucket.key in self.compiled:
                bucket.bytecode_from_string(self.compiled[bucket.key])

        def dump_bytecode(self, bucket) -> None:
            self.compiled[bucket.key] = bucket.bytecode_to_string()

    cache = _InMemory()
    original = DefaultJinjaView.__init__

    def __init__(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        self.env.bytecode_cache = cache

    DefaultJinjaView.__init__ = __init__
    DefaultJinjaView._ferry_cache = cache


def gate(warehouse: Path, run_id: str, run_dir: Path, max_reject_rate: float, assets: Path | None = None) -> GateResult:
    """Validate the run's marts; write the GX Data Docs and gate.json into the run folder.
    `assets`: the home's folder of static assets the Data Docs share (ferry/gate/static.py);
    None: the run's Data Docs keep GX's copy."""
    warm_up()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints each pandas batch under this many bytes by hashing every value, only
    # to label its results, which Ferry never reads back: skip it
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="file", project_root_dir=str(run_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_or_update_pandas("ferry_marts")
    checks: list[dict] = []
    # read-only: the load's stage reads the warehouse meanwhile
    con = duckdb.connect(str(warehouse), read_only=True, config={"memory_limit": config.GATE_MEMORY})
    try:
        _validate(context, source, con, run_id, max_reject_rate, checks)
    finally:
        con.close()
    # the results are stored in the run folder's GX project; render them once
    context.build_data_docs()
    site = run_dir / "gx" / "uncommitted" / "data_docs" / "local_site"
    if assets is not None:
        share_assets(site, assets / f"gx-{gx.__version__}")
    docs = site / "index.html"
    result = GateResult(
        passed=all(c["passed"] for c in checks), checks=checks, data_docs=docs if docs.exists() else None
    )
    (run_dir / "gate.json").write_text(json.dumps({"passed": result.passed, "checks": checks}, indent=2, default=str))
    return result


def _check(table: str, result) -> dict:
    config = result.expectation_config
    info = result.exception_info or {}
    raised = bool(info.get("raised_exception")) if isinstance(info, dict) else False
    observed = result.result or {}
    return {
        "name": (config.meta or {}).get("check") or f"{table}.{config.type}",
        "passed": bool(result.success) and not raised,
        "table": table,
        "expectation": config.type,
        "unexpected_count": observed.get("unexpected_count"),
        "observed_value": observed.get("observed_value"),
        "error": info.get("exception_message") if raised else None,
    }
