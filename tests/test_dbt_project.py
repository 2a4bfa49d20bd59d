"""dbt's own tests (data-tests/, generic tests and unit tests in the models' YAML) run on a
warehouse a real migration built, so a model change that breaks a rule fails `make test`."""

from __future__ import annotations

from pathlib import Path

from flows.transform import dbt_args, run_dbt

FILE = ("name and surname,email,entries,credits,phone,consent\n"
        "John Doe,john@example.com,2,\"1 000,50\",+420603123456,ano\n"
        "John Doe,JOHN@example.com,1,100,,\n"
        "Jana Malá,jana@example.com,,150,,x\n")


def test_dbt_data_and_unit_tests_pass_on_a_migrated_warehouse(migrate, write_csv, home):
    run = migrate(write_csv(FILE))
    assert run.exit_code == 0, run.stderr
    result = run_dbt(dbt_args("test", home),
                     Path(home) / "warehouse.duckdb")
    outcomes = {n.node.name: str(n.status) for n in result.result.results}
    failed = {name: status for name, status in outcomes.items() if status not in ("pass", "success")}
    assert result.success and not failed, failed
    assert any("merged_rows_add_their_balances" in name for name in outcomes)  # unit tests ran
    assert any("lookalikes_are_numbered" in name for name in outcomes)
    assert "row_accounting_adds_up" in outcomes and "number_macro_reads_every_notation" in outcomes
