"""Load: one run's marts into the target booking database, in one transaction (docs/CONTRACT.md §6).

    stage (bulk copy: PostgreSQL temp tables; SQLite a scratch file attached to the load)
    -> the gate's verdict (it validated meanwhile in its own process; no: nothing written)
    -> plan (match, compare, decide; reads only)
    -> write (before-images to change_log, then set-based INSERT/UPDATE; a load that at
       least doubles the clients builds their indexes once, after the inserts)
    -> control totals re-read from the target -> commit

A dry run stages and plans exactly the same way in a transaction that cannot write the
target (or against an empty in-memory schema when the target does not exist yet), so its
counts are the load's. Matching, password and tag rules: see ferry/target/plan.py and
ferry/target/__init__.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import text

from ferry.config import RunOptions
from ferry.errors import TargetError
from ferry.target.db import (
    Target,
    dialect_of,
    ensure_schema,
    memory_target,
    parse_target,
    read_transaction,
    seal_read_only,
    target_errors,
    transaction,
)
from ferry.target.plan import PlanCounts, create_plan_tables, make_plan
from ferry.target.stage import ScratchStage, never, scratch_stage, stage_run
from ferry.target.write import (
    apply_plan,
    bulk_indexes,
    control_totals,
    last_balance_id,
    record_run,
    remove_tenant_clients,
)


@dataclass
class LoadResult:
    clients_new: int
    clients_updated: int
    clients_unchanged: int
    invites_queued: int
    balance_without_invite: int
    control_totals: dict[str, dict[str, float]]  # kind -> {"source": …, "target": …}
    accounts_created: int = 0
    accounts_linked: int = 0


def load_run(
    warehouse: Path,
    run_id: str,
    opts: RunOptions,
    dry_run: bool = False,
    verdict: Callable[[], bool] = lambda: True,
    alone: Callable[[], bool] = never,
) -> LoadResult | None:
    """Write (or, dry_run, only plan) run `run_id` of the warehouse into opts.target_url
    for opts.tenant. Any target failure: rolled back, TargetError (URL password hidden).

    `verdict()` is asked once the run is staged and before the target is created or
    changed (the gate runs meanwhile, see ferry/run.py): False leaves the target as
    it was and returns None. A dry run never asks. `alone()`, asked while staging
    without waiting, says whether the gate has answered (see build_sqlite_stage)."""
    target = parse_target(opts.target_url)
    warehouse = Path(warehouse)
    d = dialect_of(target)
    with _stage_outside(target, warehouse, run_id, alone) as scratch:
        if dry_run:
            return _dry_run(target, warehouse, run_id, opts, scratch)
        if scratch is not None:  # SQLite: staged, nothing opened yet
            if not verdict():
                return None
            ensure_schema(target)
            with transaction(target, "the load", tenant=opts.tenant, attach=scratch.path) as conn:
                return _write(conn, d, run_id, opts, scratch.totals)
        try:  # PostgreSQL: staged in the load's own session, under the tenant lock
            with transaction(target, "the load", tenant=opts.tenant) as conn:
                source = stage_run(conn, d, warehouse, run_id)
                if not verdict():
                    raise _Blocked  # rolls the temp tables back
                ensure_schema(target)  # its own short transaction, as before
                return _write(conn, d, run_id, opts, source)
        except _Blocked:
            return None


class _Blocked(Exception):
    """The gate said no after staging: roll back."""


def _write(conn, d, run_id: str, opts: RunOptions, source: dict) -> LoadResult:
    _refuse_loaded_run(conn, run_id)
    if opts.replace_existing:
        remove_tenant_clients(conn, d, opts.tenant, run_id)
    create_plan_tables(conn, d)
    plan = make_plan(conn, d, opts.tenant, opts.invites, assign_ids=True)
    since = last_balance_id(conn)
    apply_plan(conn, d, opts.tenant, run_id, bulk=bulk_indexes(conn, d, plan))
    totals = control_totals(conn, opts.tenant, run_id, source, since)
    record_run(conn, opts.tenant, run_id, opts.replace_existing, asdict(plan))
    return _result(plan, totals)


@contextmanager
def _stage_outside(
    target: Target, warehouse: Path, run_id: str, alone: Callable[[], bool] = never
) -> Iterator[ScratchStage | None]:
    """SQLite: the stage, built in a scratch file before any transaction opens (see
    ferry/target/stage.py). PostgreSQL stages inside its transaction: None."""
    if target.is_pg:
        yield None
        return
    with ExitStack() as stack:
        with target_errors(target, "staging the run"):
            scratch = stack.enter_context(scratch_stage(warehouse, run_id, alone))
        yield scratch


def _dry_run(target, warehouse: Path, run_id: str, opts: RunOptions, scratch) -> LoadResult:
    with read_transaction(target, "the dry run", attach=scratch and scratch.path) as conn:
        if conn is not None:
            return _plan_only(conn, target, warehouse, run_id, opts, scratch)
    # no target yet: plan against an empty schema in memory (everything is new)
    memory = memory_target()
    with ExitStack() as stack:
        if scratch is None:  # a PostgreSQL target that does not exist: SQLite stages in memory's stead
            scratch = stack.enter_context(_stage_outside(memory, warehouse, run_id))
        with transaction(memory, "the dry run", schema=True, attach=scratch.path) as conn:
            return _plan_only(conn, memory, warehouse, run_id, opts, scratch)


def _plan_only(conn, target, warehouse: Path, run_id: str, opts: RunOptions, scratch) -> LoadResult:
    d = dialect_of(target)
    source = scratch.totals if scratch else stage_run(conn, d, warehouse, run_id)
    create_plan_tables(conn, d)
    seal_read_only(conn, target)
    plan = make_plan(conn, d, opts.tenant, opts.invites, assume_empty=opts.replace_existing)
    totals = {kind: {"source": float(v), "target": float(v)} for kind, v in sorted(source.items())}
    return _result(plan, totals)


def _refuse_loaded_run(conn, run_id: str) -> None:
    done = conn.execute(text("SELECT status FROM ferry_runs WHERE run_id = :run"), {"run": run_id}).scalar()
    if done is not None:
        raise TargetError(f"run {run_id} was already loaded into this target (status {done}); start a new run")


def _result(plan: PlanCounts, totals: dict) -> LoadResult:
    return LoadResult(
        clients_new=plan.new,
        clients_updated=plan.updated,
        clients_unchanged=plan.unchanged,
        invites_queued=plan.invites,
        balance_without_invite=plan.balance_without_invite,
        control_totals=totals,
        accounts_created=plan.accounts_created,
        accounts_linked=plan.accounts_linked,
    )
