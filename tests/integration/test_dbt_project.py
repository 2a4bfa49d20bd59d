"""dbt's own tests (data-tests/, generic tests and unit tests in the models' YAML) run on a
warehouse a real migration built, so a model change that breaks a rule fails `make test`."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from ferry.rules import SHARED_CHECKS
from ferry.transform.dbt import dbt_args, run_dbt, transform
from tests.conftest import run_cli

FILE = (
    "name and surname,email,entries,credits,phone,consent\n"
    'John Doe,john@example.com,2,"1 000,50",+420603123456,ano\n'
    "John Doe,JOHN@example.com,1,100,,\n"
    "Jana Malá,jana@example.com,,150,,x\n"
)


def test_dbt_data_and_unit_tests_pass_on_a_migrated_warehouse(migrate, write_csv, home):
    run = migrate(write_csv(FILE))
    assert run.exit_code == 0, run.stderr
    result = run_dbt(dbt_args("test", home), Path(home) / "warehouse.duckdb")
    outcomes = {n.node.name: str(n.status) for n in result.result.results}
    failed = {name: status for name, status in outcomes.items() if status not in ("pass", "success")}
    assert result.success and not failed, failed
    assert any("merged_rows_add_their_balances" in name for name in outcomes)  # unit tests ran
    assert any("lookalikes_are_numbered" in name for name in outcomes)
    assert (
        "rows_accounted" in outcomes
        and "transform_memory_is_the_runs" in outcomes
        and "number_macro_reads_every_notation" in outcomes
    )
    # a check the gate runs too carries the gate's name (dbt_project.yml's shared_checks)
    assert set(SHARED_CHECKS) <= set(outcomes)

    # the unit tests alone, as `dbt test --select test_type:unit` runs them
    units = run_dbt(dbt_args("test", home, "--select", "test_type:unit"), Path(home) / "warehouse.duckdb")
    tests = [n for n in units.result.results if n.node.resource_type == "unit_test"]
    failed = {n.node.name: str(n.status) for n in tests if str(n.status) != "pass"}
    assert units.success and not failed, failed
    models = {n.node.tested_node_unique_id.rsplit(".", 1)[-1] for n in tests}
    assert len(tests) >= 9 and {"int_client_rows__resolved", "int_client_rows__field_issues"} <= models


def test_a_new_home_starts_from_the_parse_an_earlier_home_left(migrate, write_csv, tmp_path, monkeypatch):
    """dbt's parse of the project does not depend on the home (the profile names the
    warehouse relative to its folder), so a new home reuses the user's cached parse
    instead of parsing the project again."""
    monkeypatch.delenv("FERRY_DBT_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cwd = Path.cwd()
    first = migrate(write_csv(FILE), "--home", str(tmp_path / "first"))
    assert first.exit_code == 0, first.stderr
    assert list((tmp_path / "cache" / "ferry" / "dbt-parse").glob("*.msgpack"))
    second = migrate(write_csv(FILE), "--home", str(tmp_path / "second"))
    assert second.exit_code == 0, second.stderr
    assert Path.cwd() == cwd  # dbt ran in the warehouse's folder, and gave the cwd back
    # each run's dbt.log is in its run folder
    (log,) = (p.read_text(encoding="utf-8") for p in (tmp_path / "second" / "runs").glob("*/dbt.log"))
    assert "Partial parsing enabled" in log and "Starting full parse" not in log
    # the first home's first run built the empty warehouse for this project version (the
    # full parse happened there); the second home copies it instead of building its own
    assert list((tmp_path / "cache" / "ferry" / "warehouse").glob("*.duckdb"))
    assert not (tmp_path / "second" / "work").exists() or not list((tmp_path / "second" / "work").glob("*.duckdb"))


def test_a_home_named_relative_to_another_folder_keeps_dbt_s_files_and_log(write_csv, tmp_path, monkeypatch):
    """`--home work-home` from a folder that is not Ferry's: dbt's log and the gate's Data
    Docs are in the run's folder and nothing of the run lands in Ferry's installation (dbt
    reads a relative target path from the project's folder; a warm gate worker keeps the
    working folder it started in)."""
    from ferry.config import PROJECT_DIR
    from ferry.gate.process import start_gate_worker

    file = write_csv(FILE)
    start_gate_worker()  # a warm gate worker, started in another working folder
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("migrate", file, "--tenant", "studio", "--home", "work-home", "--json")
    assert code == 0, err
    (log,) = (tmp_path / "work-home" / "runs").glob("*/dbt.log")
    assert "Command `cli build` succeeded" in log.read_text(encoding="utf-8")
    assert list((tmp_path / "work-home" / "runs").glob("*/gx/uncommitted/validations/*"))
    assert not (PROJECT_DIR / "work-home").exists()
    assert Path(json.loads(out)["paths"]["report"]).is_relative_to(tmp_path / "work-home")


def test_marts_keep_every_run_once_and_gain_a_column_a_newer_ferry_adds(migrate, write_csv, home, monkeypatch):
    """The marts keep each run's rows and replace only the run being built; a mart an
    older Ferry built without a column gets it when the warehouse is brought up to date,
    so the next run's rows carry it and the earlier runs' rows keep theirs (NULL there)."""
    first = migrate(write_csv(FILE))
    assert first.exit_code == 0, first.stderr
    warehouse = Path(home) / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        # as an older Ferry left it: no has_balance in the clients mart, another project version
        con.execute("alter table marts.clients drop column has_balance")
        con.execute("update raw.dbt_state set fingerprint = 'an-older-ferry'")
    finally:
        con.close()

    second = migrate(write_csv(FILE))  # a small file: works in its own copy, then merges
    assert second.exit_code == 0, second.stderr
    another = migrate(write_csv(FILE), tenant="another")
    assert another.exit_code == 0, another.stderr
    monkeypatch.setenv("FERRY_WORK_FILE_BELOW", "1")  # this one works in the home's warehouse
    third = migrate(write_csv(FILE), tenant="third")
    assert third.exit_code == 0, third.stderr

    # the last run worked in the warehouse: building it again (a retried transform)
    # replaces its rows instead of adding them twice
    transform(warehouse, Path(home))

    runs = [run.summary["run_id"] for run in (first, second, another, third)]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        per_run = dict(con.execute("select run_id, count(*) from marts.clients group by run_id").fetchall())
        has_balance = dict(
            con.execute("select run_id, bool_or(has_balance) from marts.clients group by run_id").fetchall()
        )
        rows = dict(con.execute("select run_id, count(*) from marts.client_rows group by run_id").fetchall())
    finally:
        con.close()
    assert per_run == {run: 2 for run in runs}  # two clients a run (John's rows merge), none twice
    assert rows == {run: 3 for run in runs}
    assert has_balance == {runs[0]: None, runs[1]: True, runs[2]: True, runs[3]: True}
