"""Header understanding beyond the alias list (issue 14): the real export layouts of shops,
mailing tools, CRMs, address books, payments, website builders, scheduling, fitness and
loyalty apps map with --source auto, and no column maps to a field it does not hold.

The header rows in tests/fixtures/exports/ are the real ones (values are made up):
Shopify's customer export in three generations, WooCommerce's customers report, Mailchimp's
audience export, Constant Contact's contacts export, HubSpot's contacts export, Google
Contacts (the old and the current format), Outlook's CSV (cp1252, every header quoted),
Stripe's customers export, Wix's contacts export, Calendly's and Acuity's booking exports
(one row per booking), TeamUp's and Glofox's client lists, LoyLap's customers export (as
its help page lists the columns), Yotpo's and Smile.io's loyalty exports.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import pytest

from ferry.config import RunOptions
from ferry.errors import InputError
from ferry.ingest.headers import decide_header, default_dictionary, header_tokens, load_mapping, map_headers
from ferry.ingest.inspect import inspect_file, mapping_yaml
from ferry.ingest.values import profile, untick
from ferry.ingest.vocabulary import vocabulary
from tests.conftest import run_cli

EXPORTS = Path(__file__).parents[1] / "fixtures" / "exports"
D = default_dictionary()

NAMES = {"First Name": "first_name", "Last Name": "last_name"}
# header -> field for every column that maps; every other column maps to nothing
EXPECTED = {
    "shopify_2017": {
        **NAMES,
        "Email": "email",
        "Zip": "postal_code",
        "Phone": "phone",
        "Accepts Marketing": "consent",
        "Tags": "tags",
    },
    "shopify_2022": {
        "Customer ID": "external_id",
        **NAMES,
        "Email": "email",
        "Accepts Email Marketing": "consent",
        "Zip": "postal_code",
        "Phone": "phone",
        "Tags": "tags",
    },
    "shopify_2024": {
        "Customer ID": "external_id",
        **NAMES,
        "Email": "email",
        "Accepts Email Marketing": "consent",
        "Default Address Zip": "postal_code",
        "Phone": "phone",  # not the default address's phone, which comes first
        "Tags": "tags",
    },
    "woocommerce_customers": {"Name": "full_name", "Email": "email", "Postal code": "postal_code"},
    "mailchimp_audience": {
        "Email Address": "email",
        **NAMES,
        "Phone Number": "phone",
        "Birthday": "birth_date",
        "TAGS": "tags",
    },
    "constant_contact": {
        "Email address": "email",
        "First name": "first_name",
        "Last name": "last_name",
        "Phone - mobile": "phone",
        "Zip/Postal code - Home": "postal_code",
        "Birthday": "birth_date",
        "Tags": "tags",
    },
    "hubspot_contacts": {
        "Record ID": "external_id",
        **NAMES,
        "Email": "email",
        "Phone Number": "phone",
        "Postal Code": "postal_code",
    },
    "google_contacts_legacy": {
        "Name": "full_name",
        "Given Name": "first_name",
        "Family Name": "last_name",
        "Name Prefix": "salutation",
        "Birthday": "birth_date",
        "E-mail 1 - Value": "email",
        "Phone 1 - Value": "phone",
        "Address 1 - Postal Code": "postal_code",
    },
    "google_contacts": {
        **NAMES,
        "Name Prefix": "salutation",
        "Birthday": "birth_date",
        "Labels": "tags",
        "E-mail 1 - Value": "email",
        "Phone 1 - Value": "phone",
        "Address 1 - Postal Code": "postal_code",
    },
    "outlook_contacts": {
        **NAMES,
        "Title": "salutation",
        "E-mail Address": "email",
        "Mobile Phone": "phone",
        "Home Postal Code": "postal_code",
        "Birthday": "birth_date",
    },
    "stripe_customers": {"id": "external_id", "Email": "email", "Name": "full_name"},
    "wix_contacts": {
        **NAMES,
        "Email 1": "email",
        "Phone 1": "phone",
        "Address 1 - Zip": "postal_code",
        "Labels": "tags",
        "Email subscriber status": "consent",
        "Birthdate": "birth_date",
    },
    "calendly_events": {
        "Invitee Name": "full_name",
        "Invitee First Name": "first_name",
        "Invitee Last Name": "last_name",
        "Invitee Email": "email",
        "Invitee accepted marketing emails": "consent",
        "Text Reminder Number": "phone",  # by its values: phone numbers
    },
    "acuity_appointments": {**NAMES, "Phone": "phone", "Email": "email"},
    "teamup_customers": {
        "ID": "external_id",
        **NAMES,
        "Email": "email",
        "Phone": "phone",
        "Date of Birth": "birth_date",
        "Tags": "tags",
    },
    "glofox_members": {**NAMES, "Email": "email", "Phone": "phone", "Receive Marketing": "consent"},
    "loylap_customers": {
        "ID": "external_id",
        "Name": "full_name",
        **NAMES,
        "Email": "email",
        "Phone_Number": "phone",
        "Date_Birth": "birth_date",
        "Cash_Balance": "card_balance",  # without a card template: the first balance column
    },
    "yotpo_loyalty": {
        "Email": "email",
        **NAMES,
        "Points Balance": "card_balance",
        "Birthday": "birth_date",
        "Opted In": "consent",
    },
    "smile_customers": {
        "Id": "external_id",
        "First name": "first_name",
        "Last name": "last_name",
        "Email": "email",
        "Points balance": "card_balance",
        "Date of birth": "birth_date",
    },
}


@functools.cache
def _inspect(name: str, options: tuple) -> str:
    return json.dumps(
        inspect_file(RunOptions.from_json(file=str(EXPORTS / f"{name}.csv"), tenant="t", **dict(options)))
    )


def inspect(name: str, **options) -> dict:
    """What `ferry inspect` reports for a fixture (read once per test session)."""
    return json.loads(_inspect(name, tuple(sorted(options.items()))))


def test_every_real_layout_has_a_fixture():
    assert {p.stem for p in EXPORTS.glob("*.csv")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_export_maps_every_column_to_what_it_holds_and_nothing_else(name):
    report = inspect(name)
    mapped = {c["header"]: c["field"] for c in report["columns"] if c["field"]}
    assert mapped == EXPECTED[name]
    assert all(c["reason"] and c["confidence"] is not None for c in report["columns"])
    assert not [w for w in report["warnings"] if "the header says" in w]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_export_rows_parse_with_a_name_and_a_valid_email(name):
    report = inspect(name)
    for row in report["preview"]:
        assert "name_missing" not in row["issues"] and "email_invalid" not in row["issues"]
        assert row["fields"]["email"]


def test_outlook_is_cp1252_with_quoted_headers():
    report = inspect("outlook_contacts")
    assert (report["encoding"], report["delimiter"]) == ("cp1252", ",")
    assert report["preview"][0]["fields"]["first_name"] == "Jürgen"


def test_scheduling_export_host_columns_belong_to_someone_else():
    columns = {c["header"]: c for c in inspect("calendly_events")["columns"]}
    for header in ("User Name", "User Email"):
        assert columns[header]["field"] is None and "someone else" in columns[header]["reason"]
    # without client columns, `User Name` is still a username, never a login without a password
    alone = map_headers(["User Name", "Email"], None, D)
    assert alone[0].field is None and "password" in alone[0].reason
    # beside a password column, a user name is the client's login
    logins = map_headers(["Customer number", "User name", "Password", "Email"], None, D)
    assert [c.field for c in logins] == ["external_id", "login_id", "password", "email"]


def test_a_shop_username_is_never_a_login_but_beside_a_password_it_is():
    assert map_headers(["Name", "Username", "Email"], None, D)[1].field is None
    with_password = map_headers(["Name", "Username", "Password", "Email"], None, D)
    assert [c.field for c in with_password] == ["full_name", "login_id", "password", "email"]


@pytest.mark.parametrize(
    "header",
    [
        "Total Spent",
        "Total Orders",
        "Total spend",
        "AOV",
        "Orders",
        "Appointment Price",
        "Paid?",
        "Attendances",
        "Points Spent",
        "Points Earned",
    ],
)
def test_money_the_client_spent_is_never_a_balance(header):
    d = decide_header(header, D, vocabulary(), beside_client=False)
    assert d.field is None and d.confidence > 0


@pytest.mark.parametrize(
    "header, why",
    [
        ("Contact owner", "someone else"),
        ("Emergency Contact Phone", "someone else"),
        ("Emergency Contact Name", "someone else"),
        ("Referral URL", "someone else"),
        ("Manager's Name", "someone else"),
        ("Assistant's Phone", "someone else"),
        ("Spouse", "someone else"),
        ("Company Main Phone", "someone else"),
        ("Organization 1 - Title", "someone else"),
        ("E-mail 1 - Label", "label"),
        ("E-mail 1 - Type", "type"),
        ("Phone 1 - Label", "label"),
    ],
)
def test_columns_of_someone_else_and_group_labels_map_to_nothing(header, why):
    d = decide_header(header, D, vocabulary(), beside_client=True)
    assert d.field is None and why in d.reason


@pytest.mark.parametrize(
    "header, field",
    [
        ("Default Address Zip", "postal_code"),
        ("Home Postal Code", "postal_code"),
        ("Address 1 - Zip", "postal_code"),
        ("Phone - home", "phone"),
        ("Mobile Phone", "phone"),
        ("E-mail 1 - Value", "email"),
        ("Email 1", "email"),
        ("Phone 1", "phone"),
        ("Record ID", "external_id"),
        ("Internal ID", "external_id"),
        ("Invitee Email", "email"),
        ("Invitee First Name", "first_name"),
        ("Patient Phone", "phone"),
        ("Guest Name", "full_name"),
        ("Date_Birth", "birth_date"),
        ("Stamp_Balance", "card_balance"),
        ("Tussenvoegsel", "surname_prefix"),
    ],
)
def test_numbered_labelled_and_qualified_columns_are_understood(header, field):
    assert decide_header(header, D, vocabulary(), beside_client=False).field == field


def test_tokens_split_letters_from_numbers():
    assert header_tokens("Address1") == ["address", "1"]
    assert header_tokens("E-mail 2 Address") == ["e", "mail", "2", "address"]


def test_the_best_ranked_column_wins_not_the_leftmost():
    columns = map_headers(["Home Phone", "Business Phone", "Mobile Phone", "Email 2", "Email 1"], None, D)
    assert [(c.field, c.is_duplicate) for c in columns] == [
        ("phone", True),
        ("phone", True),
        ("phone", False),
        ("email", True),
        ("email", False),
    ]
    assert "column 3 holds phone better" in columns[0].reason


def test_an_empty_column_yields_to_a_filled_one():
    samples = [["", ""], ["+420 603 123 456", "+420 777 111 222"], ["a@example.com", "b@example.com"]]
    columns = map_headers(["Phone", "Default Address Phone", "Email"], None, D, samples)
    assert [c.is_duplicate for c in columns] == [True, False, False]


def test_a_billing_part_yields_to_a_main_column_and_stands_in_without_one():
    woo = ["customer_id", "first_name", "last_name", "email", "billing_email", "billing_phone", "shipping_postcode"]
    fields = [c.field for c in map_headers(woo, None, D)]
    assert fields == ["external_id", "first_name", "last_name", "email", None, "phone", "postal_code"]


def test_the_card_templates_kind_chooses_the_balance_column():
    headers = ["Email", "Cash_Balance", "Stamp_Balance", "Points"]
    primary = {
        kind: next(
            c.header
            for c in map_headers(headers, None, D, balance_kind=kind)
            if c.field == "card_balance" and not c.is_duplicate
        )
        for kind in ("stamps", "cashback", "reward", None)
    }
    assert primary == {"stamps": "Stamp_Balance", "cashback": "Cash_Balance", "reward": "Points", None: "Points"}
    report = inspect("loylap_customers", card_template="stamp")
    assert {c["header"]: c["field"] for c in report["columns"]}["Stamp_Balance"] == "card_balance"
    assert [r["fields"]["card_balance"] for r in report["preview"]] == [7, 3]


def test_values_decide_a_header_the_dictionary_cannot_read():
    headers = ["Jméno a příjmení", "Kontakt", "Spalte 3", "Info", "Delinquent"]
    samples = [
        ["Jana Nová", "Petr Malý", "Eva Veselá"],
        ["+420 603 123 456", "603 222 333", "+420 777 111 222"],
        ["jana@example.cz", "petr@example.cz", "eva@example.cz"],
        ["ano", "ne", "ano"],
        ["true", "false", "true"],  # yes/no words decide only a header that says nothing
    ]
    columns = map_headers(headers, None, D, samples)
    assert [(c.field, c.mapped_by) for c in columns] == [
        ("full_name", "dictionary"),
        ("phone", "values"),
        ("email", "values"),
        ("consent", "values"),
        (None, None),
    ]
    assert columns[1].reason.startswith("values: 100% of 3 sampled values are phone numbers")
    assert 0 < columns[1].confidence < 1


def test_a_confident_header_is_never_overridden_but_contradicting_values_warn():
    samples = [["Jana"], ["jana@example.cz", "petr@example.cz", "eva@example.cz"], ["x@example.cz"] * 3]
    columns = map_headers(["Name", "Phone", "Email"], None, D, samples)
    assert [c.field for c in columns] == ["full_name", "phone", "email"]
    assert "e-mail addresses" in columns[1].warning and columns[2].warning is None


def test_values_never_give_a_field_a_header_already_holds():
    samples = [["a@example.com"] * 3, ["b@example.com"] * 3]
    columns = map_headers(["Email", "Guest Email(s)"], None, D, samples)
    assert [(c.field, c.is_duplicate) for c in columns] == [("email", False), (None, False)]


def test_value_profiles():
    p = profile(["jana@example.cz", "+420 603 123 456", "1980-05-01", "ano", "12,50 €", ""])
    assert (p.filled, p.email, p.phone, p.date, p.yes_no, p.amount) == (5, 0.2, 0.2, 0.2, 0.2, 0.2)
    assert profile(["123456", "99887766"]).phone == 0  # bare digits are ids or amounts as often
    assert untick("'0612345678") == "0612345678" and untick("O'Brien") == "O'Brien"


def test_mapping_a_wide_file_stays_well_under_a_second():
    headers = [f"Column {i}" for i in range(60)] + ["Email", "Phone 1", "Name"]
    samples = [[f"value {j}" for j in range(2000)]] * 60 + [
        [f"c{j}@example.com" for j in range(2000)],
        [f"+420 603 {j:06d}" for j in range(2000)],
        [f"Name {j}" for j in range(2000)],
    ]
    start = time.perf_counter()
    columns = map_headers(headers, None, D, samples)
    assert time.perf_counter() - start < 1.0
    assert [c.field for c in columns[-3:]] == ["email", "phone", "full_name"]


def test_written_mapping_is_a_mapping_file_that_maps_the_same(tmp_path):
    report = inspect("calendly_events")
    path = tmp_path / "m.yml"
    path.write_text(mapping_yaml(report["columns"]), encoding="utf-8")
    mapping = load_mapping(path)
    again = inspect_file(RunOptions.from_json(file=str(EXPORTS / "calendly_events.csv"), tenant="t", mapping=str(path)))
    assert {c["header"]: c["field"] for c in again["columns"]} == {c["header"]: c["field"] for c in report["columns"]}
    assert mapping.columns["user name"] is None


def test_inspect_cli_json_writes_nothing_and_unusable_input_is_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mapping = tmp_path / "mapping.yml"
    code, out, _ = run_cli("inspect", EXPORTS / "shopify_2024.csv", "--json", "--write-mapping", mapping)
    assert code == 0
    report = json.loads(out)
    assert {
        "format",
        "encoding",
        "delimiter",
        "sheet",
        "header_row",
        "system",
        "columns",
        "preview",
        "warnings",
    } <= set(report)
    assert set(report["columns"][0]) >= {"index", "header", "field", "confidence", "reason"}
    assert report["preview"][0]["fields"]["external_id"] == "7001234567890"  # the ' text marker is gone
    assert report["preview"][0]["fields"]["postal_code"] == "80331"
    assert mapping.is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["mapping.yml"]
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    code, out, err = run_cli("inspect", empty, "--json")
    assert code == 2 and out == "" and "empty" in err
    code, _, err = run_cli("inspect", tmp_path / "missing.csv")
    assert code == 2


def test_inspect_never_shows_a_password(tmp_path):
    path = tmp_path / "logins.csv"
    path.write_text("Name,Email,Login ID,Password\nJana,jana@example.cz,jana,S3cret-pass!\n", encoding="utf-8")
    report = inspect_file(RunOptions.from_json(file=str(path), tenant="t"))
    assert "S3cret" not in json.dumps(report)


def test_a_bad_mapping_file_is_an_input_error(tmp_path):
    path = tmp_path / "m.yml"
    path.write_text("columns:\n  Email: telephone\n", encoding="utf-8")
    with pytest.raises(InputError):
        inspect_file(RunOptions.from_json(file=str(EXPORTS / "stripe_customers.csv"), tenant="t", mapping=str(path)))
