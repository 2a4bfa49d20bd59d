"""`ferry undo RUN_ID` (docs/CONTRACT.md §8): exact reversal in one transaction, or a refusal that
names what stands in the way. Same test bodies on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ferry.target.undo import UndoRefused, UnknownRun, undo_run
from tests.target_fixtures import client, dump, load, scalar, sql

ANNA = dict(full_name="Anna Nova", email="anna@example.cz")


def test_undo_of_a_first_load_leaves_only_withdrawn_invitations(target_url, warehouse):
    load(warehouse, target_url, [client("Zed", "zed@example.cz")], tenant="other")
    other = dump(target_url)
    run = load(
        warehouse,
        target_url,
        [
            client(**ANNA, balances={"credits": 5}),
            client("Bob Li", None),
            client("Cy", "cy@example.cz", login_id="cy", password_hash="h"),
        ],
    ).run_id
    result = undo_run(target_url, run)
    assert (
        result["clients_removed"],
        result["balances_removed"],
        result["invites_withdrawn"],
        result["accounts_removed"],
    ) == (3, 1, 1, 1)
    after = dump(target_url)
    assert after["clients"] == other["clients"] and after["balances"] == other["balances"]
    assert after["accounts"] == []
    mine = [r for r in after["invite_queue"] if r["tenant"] == "studio-a"]
    assert [(r["status"], r["client_id"]) for r in mine] == [("withdrawn", None)]
    assert scalar(target_url, "SELECT status FROM ferry_runs WHERE run_id = :r", r=run) == "undone"


def test_undo_of_a_corrected_file_restores_fields_and_balances_exactly(target_url, warehouse):
    load(
        warehouse,
        target_url,
        [
            client(**ANNA, phone="+420601000001", tag_list=["a"], balances={"credits": 10}),
            client("Bob Li", "bob@example.cz", balances={"credits": 1}),
        ],
    )
    before = dump(target_url)
    run = load(
        warehouse,
        target_url,
        [
            client(**ANNA, phone="+420601999999", tag_list=["b"], balances={"credits": 12, "entries": 3}),
            client("Bob Li", "bob@example.cz", balances={"credits": 1}),
            client("Cy New", "cy@example.cz", login_id="cy", password_hash="h"),
        ],
    ).run_id
    result = undo_run(target_url, run)
    assert (result["clients_restored"], result["balances_restored"], result["clients_removed"]) == (1, 1, 1)
    assert dump(target_url) == before


def test_undo_of_a_replace_brings_back_clients_and_relinks_appointments(target_url, warehouse):
    load(warehouse, target_url, [client(**ANNA, balances={"credits": 10}), client("Bob Li", "bob@example.cz")])
    anna = scalar(target_url, "SELECT id FROM clients WHERE email = 'anna@example.cz'")
    sql(
        target_url,
        "INSERT INTO appointments (tenant, client_id, client_name, starts_at) "
        "VALUES ('studio-a', :a, 'Anna Nova', '2026-01-05 10:00:00')",
        a=anna,
    )
    sql(target_url, "UPDATE invite_queue SET status = 'sent' WHERE email = 'bob@example.cz'")
    before = dump(target_url)
    run = load(warehouse, target_url, [client("Cy New", "cy@example.cz")], replace_existing=True).run_id
    assert scalar(target_url, "SELECT client_id FROM appointments") is None
    result = undo_run(target_url, run)
    assert result["clients_reinstated"] == 2
    after = dump(target_url)
    assert after["clients"] == before["clients"] and after["balances"] == before["balances"]
    assert after["appointments"] == before["appointments"]
    assert [r for r in after["invite_queue"] if r["status"] != "withdrawn"] == before["invite_queue"]


def test_undo_refuses_when_a_client_registered_since(target_url, warehouse):
    run = load(
        warehouse,
        target_url,
        [
            client(**ANNA, balances={"credits": 5}),
            client("Bob Li", "bob@example.cz"),
            client("Cy", "cy@example.cz", login_id="cy", password_hash="h"),
        ],
    ).run_id
    sql(target_url, "INSERT INTO accounts (email) VALUES ('anna@example.cz')")  # Anna registers in the app
    before = dump(target_url)
    with pytest.raises(UndoRefused, match=r"1 of its clients registered since: Anna Nova <anna@example.cz>"):
        undo_run(target_url, run)
    assert dump(target_url) == before


def test_undo_refuses_unknown_undone_and_buried_runs(target_url, warehouse, tmp_path):
    with pytest.raises(UnknownRun, match="no run 'nope'"):
        undo_run(target_url, "nope")
    with pytest.raises(UnknownRun):
        undo_run(f"sqlite:///{tmp_path / 'missing.db'}", "nope")
    assert not (tmp_path / "missing.db").exists()
    first = load(warehouse, target_url, [client(**ANNA, balances={"credits": 5})]).run_id
    second = load(warehouse, target_url, [client(**ANNA, balances={"credits": 6})]).run_id
    with pytest.raises(UndoRefused, match=f"undo them first, newest first: {second}"):
        undo_run(target_url, first)
    undo_run(target_url, second)
    with pytest.raises(UndoRefused, match="already undone"):
        undo_run(target_url, second)
    undo_run(target_url, first)
    assert scalar(target_url, "SELECT count(*) FROM clients") == 0
