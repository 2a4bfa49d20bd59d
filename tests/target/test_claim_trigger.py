"""The claim trigger (docs/CONTRACT.md §6): the database itself registers clients when a person's
account appears, so the booking app needs no code for it. Same test bodies on both DBs."""

from __future__ import annotations

from ferry.target.db import ensure_schema, parse_target
from tests.target_fixtures import client, load, scalar, sql


def clients_by_tenant(url: str, email: str) -> dict[str, tuple]:
    rows = sql(url, "SELECT tenant, registration_status, account_id FROM clients WHERE lower(email) = :e", e=email)
    return {r["tenant"]: (r["registration_status"], r["account_id"]) for r in rows}


def test_an_app_registration_claims_unregistered_clients_in_every_tenant(target_url, warehouse):
    for tenant in ("a", "b"):
        load(
            warehouse,
            target_url,
            [client("Anna Nova", "anna@example.cz", balances={"credits": 5}), client("Bob Li", "bob@example.cz")],
            tenant=tenant,
        )
    sql(target_url, "INSERT INTO accounts (email) VALUES ('Anna@Example.CZ')")
    account = scalar(target_url, "SELECT id FROM accounts")
    assert clients_by_tenant(target_url, "anna@example.cz") == {
        "a": ("registered", account),
        "b": ("registered", account),
    }
    assert clients_by_tenant(target_url, "bob@example.cz") == {"a": ("unregistered", None), "b": ("unregistered", None)}
    owners = sql(
        target_url,
        """SELECT b.account_id FROM balances b JOIN clients c ON c.id = b.client_id
                                 WHERE c.email = 'anna@example.cz'""",
    )
    assert [r["account_id"] for r in owners] == [account, account]


def test_an_import_account_claims_only_its_own_tenant(target_url, warehouse):
    load(warehouse, target_url, [client("Anna Nova", "anna@example.cz", balances={"credits": 5})], tenant="a")
    load(
        warehouse, target_url, [client("Anna Nova", "anna@example.cz", login_id="anna", password_hash="h")], tenant="b"
    )
    statuses = clients_by_tenant(target_url, "anna@example.cz")
    assert statuses["a"] == ("unregistered", None)
    assert statuses["b"][0] == "registered"
    assert scalar(target_url, "SELECT created_by_tenant FROM accounts") == "b"
    assert scalar(target_url, "SELECT account_id FROM balances WHERE tenant = 'a'") is None


def test_an_already_registered_client_is_not_claimed_again(target_url):
    ensure_schema(parse_target(target_url))
    sql(target_url, "INSERT INTO accounts (email) VALUES ('anna@example.cz')")
    first = scalar(target_url, "SELECT id FROM accounts")
    sql(
        target_url,
        "INSERT INTO clients (tenant, email, registration_status, account_id) "
        "VALUES ('a', 'anna@example.cz', 'registered', :id)",
        id=first,
    )
    sql(target_url, "INSERT INTO accounts (email) VALUES ('anna@example.cz')")
    assert clients_by_tenant(target_url, "anna@example.cz") == {"a": ("registered", first)}


def test_a_tenant_account_claims_a_hand_added_client_of_that_tenant(target_url):
    ensure_schema(parse_target(target_url))
    sql(target_url, "INSERT INTO clients (tenant, email) VALUES ('a', 'ANNA@example.cz'), ('b', 'anna@example.cz')")
    sql(target_url, "INSERT INTO accounts (email, created_by_tenant) VALUES ('anna@example.cz', 'a')")
    statuses = clients_by_tenant(target_url, "anna@example.cz")
    assert statuses["a"][0] == "registered" and statuses["b"] == ("unregistered", None)
