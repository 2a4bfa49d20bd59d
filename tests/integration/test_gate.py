"""The gate (ferry/gate/validate.py) on marts broken behind dbt's back: Great Expectations must catch
what the SQL rules would never produce, whether a mart is validated whole or, big, one
column group at a time."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

import ferry.gate.validate as gate_module
from ferry import config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "studio_clients.csv"


@pytest.mark.parametrize("split", [False, True], ids=["whole", "split"])
def test_the_gate_fails_on_broken_marts_and_names_each_broken_check(migrate, home, tmp_path, monkeypatch, split):
    run = migrate(EXAMPLE, "--dry-run", "--max-reject-rate", "1")
    assert run.exit_code == 0 and run.summary["gate"]["passed"] is True
    run_id = run.summary["run_id"]
    warehouse = home / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        keys = [
            k
            for (k,) in con.execute(
                "select client_key from marts.clients where run_id = ? order by client_key", [run_id]
            ).fetchall()
        ]
        con.execute(
            "update marts.clients set email = 'not an e-mail' where run_id = ? and client_key = ?", [run_id, keys[0]]
        )
        con.execute(
            "update marts.clients set client_key = ? where run_id = ? and client_key = ?", [keys[1], run_id, keys[2]]
        )
        # two clients with one e-mail: caught on the values whole, and on their codes split
        con.execute(
            """update marts.clients set email = (select email from marts.clients where run_id = $1 and client_key = $2)
                where run_id = $1 and client_key = $3""",
            [run_id, keys[3], keys[4]],
        )
        con.execute(
            """update marts.balances set amount = -1
                        where run_id = ? and client_key = (select min(client_key) from marts.balances where run_id = ?)
                          and kind = 'credits'""",
            [run_id, run_id],
        )
    finally:
        con.close()
    monkeypatch.setattr(config, "GATE_SPLIT_ROWS", 0 if split else 10**9)
    result = gate_module.gate(warehouse, run_id, tmp_path / "gate", 1.0)
    failed = {c["name"]: c["unexpected_count"] for c in result.checks if not c["passed"]}
    assert result.passed is False
    assert failed == {
        "clients.email_format": 1,
        "clients.key_unique": 2,
        "clients.email_unique": 2,
        "balances.not_negative": 1,
    }
    assert {c["table"] for c in result.checks} == {"run_summary", "balance_reconciliation", "clients", "balances"}
    assert len(result.checks) == len(run.summary["gate"]["checks"])  # every check ran, split or not
    assert result.data_docs is not None and result.data_docs.exists()
    # the Data Docs hold one result per check, with the gate's verdict and count: a
    # uniqueness check that failed on hashes shows its exact validation only
    assert _stored_checks(tmp_path / "gate") == {c["name"]: (c["passed"], c["unexpected_count"]) for c in result.checks}


def _stored_checks(run_dir: Path) -> dict[str, tuple[bool, int | None]]:
    """Every check of every validation result stored in the run's GX project (what the
    Data Docs render): name -> (passed, unexpected count); a check stored twice fails."""
    stored: dict[str, tuple[bool, int | None]] = {}
    for path in (run_dir / "gx" / "uncommitted" / "validations").rglob("*.json"):
        for result in json.loads(path.read_text())["results"]:
            name = result["expectation_config"]["meta"]["check"]
            assert name not in stored, f"{name} is stored twice"
            stored[name] = (result["success"], (result.get("result") or {}).get("unexpected_count"))
    return stored


def test_two_values_sharing_a_hash_are_no_duplicates(migrate, home, tmp_path, monkeypatch):
    """A big mart's uniqueness checks read each value's 64-bit hash; two different values
    may share one. Here every value of a text column checked alone shares one of two
    hashes: those checks fail on the hashes, are validated again on exact codes, and pass."""
    run = migrate(EXAMPLE, "--dry-run", "--max-reject-rate", "1")
    assert run.exit_code == 0 and run.summary["gate"]["passed"] is True
    monkeypatch.setattr(config, "GATE_SPLIT_ROWS", 0)
    monkeypatch.setattr(gate_module, "HASH_SQL", 'case when "{column}" is not null then hash("{column}") % 2 end')
    result = gate_module.gate(home / "warehouse.duckdb", run.summary["run_id"], tmp_path / "gate", 1.0)
    unique = {c["name"]: c["unexpected_count"] for c in result.checks if c["expectation"].endswith("_to_be_unique")}
    assert unique == {
        "clients.key_unique": 0,
        "clients.match_key_unique": 0,
        "clients.email_unique": 0,
        "clients.login_unique": 0,
        "balances.one_per_client_kind": 0,
    }
    assert result.passed is True
    assert all(passed for passed, _ in _stored_checks(tmp_path / "gate").values())
