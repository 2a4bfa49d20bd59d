"""`ferry export-contacts` (docs/CONTRACT.md §8): the tenant's contacts, formula-safe UTF-8 CSV."""

from __future__ import annotations

import csv

import pytest

from ferry.errors import TargetError
from ferry.target.contacts import export_contacts
from tests.target_fixtures import client, load


def read(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_export_is_formula_safe_utf8_and_tenant_only(target_url, warehouse, tmp_path):
    load(
        warehouse,
        target_url,
        [
            client(
                "Žofie Dvořáková",
                "zofie@example.cz",
                first_name="Žofie",
                last_name="Dvořáková",
                phone="+420601123456",
                tag_list=["vip", "yoga"],
                newsletter_consent=True,
            ),
            client("=cmd|' /C calc'!A0", "evil@example.cz", first_name="=cmd|' /C calc'!A0", last_name="@SUM(1)"),
            client("No Mail", None),
        ],
    )
    load(warehouse, target_url, [client("Other Tenant", "other@example.cz")], tenant="b")
    out = tmp_path / "contacts.csv"
    assert export_contacts(target_url, "studio-a", out) == 2
    rows = read(out)
    assert list(rows[0]) == ["email", "first_name", "last_name", "phone", "tags", "consent"]
    assert rows[0] == {
        "email": "zofie@example.cz",
        "first_name": "Žofie",
        "last_name": "Dvořáková",
        "phone": "'+420601123456",
        "tags": "vip, yoga",
        "consent": "true",
    }
    assert (rows[1]["first_name"], rows[1]["last_name"], rows[1]["consent"]) == (
        "'=cmd|' /C calc'!A0",
        "'@SUM(1)",
        "false",
    )


def test_export_consented_only(target_url, warehouse, tmp_path):
    load(
        warehouse,
        target_url,
        [client("Anna Nova", "anna@example.cz", newsletter_consent=True), client("Bob Li", "bob@example.cz")],
    )
    out = tmp_path / "c.csv"
    assert export_contacts(target_url, "studio-a", out, consented_only=True) == 1
    assert [r["email"] for r in read(out)] == ["anna@example.cz"]


def test_export_from_a_missing_target_is_a_clear_error_and_creates_nothing(tmp_path):
    db = tmp_path / "missing.db"
    with pytest.raises(TargetError, match="does not exist"):
        export_contacts(f"sqlite:///{db}", "t", tmp_path / "c.csv")
    assert not db.exists()
