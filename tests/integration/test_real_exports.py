"""Real exports of the other places businesses keep clients (tests/fixtures/exports/), run
end to end with --source auto: what issue 14 found broken loads right, and the run keeps
which header became which field, and why (summary `mapping`, report.html)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import sqlite_rows

EXPORTS = Path(__file__).parents[1] / "fixtures" / "exports"


def test_a_booking_export_with_host_columns_loads_its_invitees_once_each(migrate, home):
    run = migrate(EXPORTS / "calendly_events.csv", "--country", "SE")
    assert run.exit_code == 0, run.stderr
    s = run.summary
    # the same client booked twice: identical in every field, so the second row adds nothing
    assert s["rows"] == {"read": 3, "valid": 2, "rejected": 0, "merged": 0, "duplicate": 1, "loaded": 2}
    assert sqlite_rows(home, "select full_name, email, login_id, registration_status from clients order by 1") == [
        ("Sara Lind", "sara.lind@example.se", None, "unregistered"),
        ("Tom Berg", "tom.berg@example.se", None, "unregistered"),
    ]
    mapping = {c["header"]: c for c in s["mapping"]}
    assert mapping["User Name"]["field"] is None and "someone else" in mapping["User Name"]["reason"]
    assert mapping["Invitee Email"]["field"] == "email" and mapping["Invitee Email"]["confidence"] == 0.9
    html = Path(s["paths"]["report"]).read_text(encoding="utf-8")
    assert "Column mapping" in html and "Invitee Email" in html


def test_a_shop_export_invites_its_customers_and_keeps_no_text_markers(migrate, home):
    run = migrate(EXPORTS / "shopify_2024.csv", "--country", "DE")
    assert run.exit_code == 0, run.stderr
    assert run.summary["invites_queued"] == 2
    assert sqlite_rows(home, "select external_id, postal_code, phone, login_id from clients order by 1") == [
        ("7001234567890", "80331", "+491712345678", None),
        ("7001234567891", "11000", "+420602987654", None),
    ]
    woo = migrate(EXPORTS / "woocommerce_customers.csv", "--tenant", "shop")
    assert woo.exit_code == 0, woo.stderr
    assert woo.summary["invites_queued"] == 2 and woo.summary["balances"] == {"entries": 0, "credits": 0}


def test_the_stamp_template_loads_the_stamp_column_of_a_loyalty_export(migrate, home):
    run = migrate(EXPORTS / "loylap_customers.csv", "--country", "IE", "--card-template", "stamp")
    assert run.exit_code == 0, run.stderr
    assert run.summary["balances"]["stamps"] == 10
    cash = migrate(EXPORTS / "loylap_customers.csv", "--country", "IE", "--card-template", "cashback", tenant="cafe")
    assert cash.exit_code == 0, cash.stderr
    assert cash.summary["balances"]["cashback"] == 12.5


def test_a_surname_prefix_column_joins_the_last_and_full_name(migrate, write_csv, home):
    path = write_csv(
        "Voornaam;Tussenvoegsel;Achternaam;E-mailadres;Telefoonnummer\n"
        "Jan;van der;Berg;jan@example.nl;'0612345678\n"
        "Eva;;Jansen;eva@example.nl;\n",
    )
    run = migrate(path, "--country", "NL")
    assert run.exit_code == 0, run.stderr
    assert sqlite_rows(home, "select full_name, first_name, last_name, phone from clients order by email") == [
        ("Eva Jansen", "Eva", "Jansen", None),
        ("Jan van der Berg", "Jan", "van der Berg", "+31612345678"),
    ]
