"""Loyalty cards end to end (GitHub issue 5, docs/CONTRACT.md §5): `--card-template` gives the
balance column its meaning for each of the eight card types, `--card-templates` brings the
business's own templates, balances land in the target's `balances` (kind, card_template,
amount, tier) and the gate reconciles the totals per kind. Real `ferry migrate` runs into
SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from ferry.ingest.card_templates import CARD_TYPES, KIND_BY_TYPE, shipped_templates
from tests.conftest import json_error
from tests.target_fixtures import PG_URL, sql

TENANT = "cafe"


@pytest.fixture
def backend_url(request, tmp_path):
    """For tests parametrized by (case, backend): each case runs once, on one target, and
    the cases alternate between SQLite and PostgreSQL. What differs between the targets
    (amount and tier storage) is the same for every card type, and each target still sees
    whole, decimal, tiered and reward balances; one migrate per case and target would
    double a suite that must stay fast."""

    def _url(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / 'booking.db'}"
        if not PG_URL:
            pytest.skip("FERRY_TEST_PG_URL not set")
        return request.getfixturevalue("pg_schema")[1]

    return _url


# The loyalty CRM's import layout (the `ferry template stamp` headers): one balance column.
NUMERIC = """First name,Last name,email,phone,Balance
Jana,Nováková,jana@example.com,,11
Jana,Nováková,JANA@example.com,,4
Petr,Svoboda,petr@example.com,,0
Eva,Malá,eva@example.com,,
Karel,Novák,karel@example.com,,"2,5"
Ivan,Zlý,ivan@example.com,,abc
Olga,Minusová,olga@example.com,,-5
Tom,Bez,,,3
"""
# rows: 2 Jana 11 | 3 Jana again (merged: 11 + 4) | 4 zero | 5 blank | 6 a fraction |
#       7 not a number | 8 negative | 9 a balance and no e-mail

# the balance each card type takes from NUMERIC: (kind, {email: amount}, {row: error code})
WHOLE_ERRORS = {6: "balance_invalid", 7: "balance_invalid", 8: "balance_negative", 9: "email_required"}
DECIMAL_ERRORS = {7: "balance_invalid", 8: "balance_negative", 9: "email_required"}
NUMERIC_CASES = {
    # stamps and visits are whole: 2,5 stamps is an error
    "stamp": ({"jana@example.com": 15, "petr@example.com": 0, "eva@example.com": 0}, WHOLE_ERRORS),
    "multipass": ({"jana@example.com": 15, "petr@example.com": 0, "eva@example.com": 0}, WHOLE_ERRORS),
    "cashback": (
        {"jana@example.com": 15, "petr@example.com": 0, "eva@example.com": 0, "karel@example.com": 2.5},
        DECIMAL_ERRORS,
    ),
    "gift": (
        {"jana@example.com": 15, "petr@example.com": 0, "eva@example.com": 0, "karel@example.com": 2.5},
        DECIMAL_ERRORS,
    ),
    "reward": (
        {"jana@example.com": 15, "petr@example.com": 0, "eva@example.com": 0, "karel@example.com": 2.5},
        DECIMAL_ERRORS,
    ),
}

# membership and coupon take no balance from the file: a given one is ignored with a warning
NO_BALANCE = """First name,Last name,email,Balance
Mia,Muster,mia@example.com,
Max,Muster,max@example.com,250
Cora,Kunde,cora@example.com,
Cora,KUNDE,CORA@example.com,
Nina,Negativ,nina@example.com,-5
Nora,Ohne,,
"""
# rows: 2 | 3 a balance given | 4 Cora | 5 Cora again (merged) | 6 negative | 7 no e-mail

DISCOUNT = """Jméno,Příjmení,e-mail,Zůstatek
Adam,Pod,below@example.com,999
Bára,Přesně,exact@example.com,1000
Cyril,Skoro,almost@example.com,"2999,99"
Dana,Součet,sum@example.com,1000
Dana,Součet,sum@example.com,2000
Emil,Nahoře,top@example.com,5000
Filip,Daleko,way@example.com,7.500
Gita,Nic,none@example.com,
Hana,Euro,euro@example.com,"€ 3 200,50"
"""
# the client's total spend, and the shipped discount tier: highest threshold <= spend
DISCOUNT_SHIPPED = {
    "below@example.com": (999, "0%"),
    "exact@example.com": (1000, "5%"),
    "almost@example.com": (2999.99, "5%"),
    "sum@example.com": (3000, "10%"),
    "top@example.com": (5000, "15%"),
    "way@example.com": (7500, "15%"),
    "none@example.com": (0, "0%"),
    "euro@example.com": (3200.5, "10%"),
}


def balances(url: str, tenant: str = TENANT) -> dict[str, tuple]:
    """email -> (kind, card_template, amount, tier) of the tenant's balances."""
    rows = sql(
        url,
        """SELECT c.email, b.kind, b.card_template, b.amount, b.tier
                         FROM balances b JOIN clients c ON c.id = b.client_id
                        WHERE b.tenant = :t ORDER BY c.email""",
        t=tenant,
    )
    assert len({r["email"] for r in rows}) == len(rows), "one balance row per client, kind and template"
    return {r["email"]: (r["kind"], r["card_template"], float(r["amount"]), r["tier"]) for r in rows}


def reconciliation(run) -> dict[str, tuple[float, float]]:
    con = duckdb.connect(run.summary["paths"]["warehouse"], read_only=True)
    try:
        rows = con.execute(
            "select kind, source_total, loaded_total from marts.balance_reconciliation where run_id = ?",
            [run.summary["run_id"]],
        ).fetchall()
    finally:
        con.close()
    return {kind: (float(s), float(t)) for kind, s, t in rows}


def gate(run) -> dict[str, bool]:
    return {c["name"]: c["passed"] for c in run.summary["gate"]["checks"]}


def errors_by_row(run) -> dict[int, str]:
    return {int(r["row"]): r["code"] for r in run.rejects() if r["severity"] == "error"}


def test_shipped_templates_are_the_contract_examples():
    rows = shipped_templates()
    by_name = {}
    for r in rows:
        by_name.setdefault(r.template, []).append(r)
    # one example per type, named after it
    assert {name: {r.type for r in rs} for name, rs in by_name.items()} == {t: {t} for t in CARD_TYPES}
    tiers = lambda name: [(r.tier, r.min_spend) for r in sorted(by_name[name], key=lambda r: r.position)]  # noqa: E731
    assert tiers("discount") == [("0%", 0), ("5%", 1000), ("10%", 3000), ("15%", 5000)]
    assert [t for t, _ in tiers("membership")] == ["Basic", "Premium"]
    assert by_name["coupon"][0].first_visit_reward == 10
    assert KIND_BY_TYPE == {
        "stamp": "stamps",
        "cashback": "cashback",
        "gift": "gift",
        "reward": "reward",
        "discount": "discount_spend",
        "membership": "membership",
        "coupon": "coupon",
        "multipass": "visits",
    }


@pytest.mark.parametrize(
    "card, backend",
    [
        ("stamp", "sqlite"),
        ("multipass", "postgresql"),
        ("cashback", "postgresql"),
        ("gift", "sqlite"),
        ("reward", "postgresql"),
    ],
)
def test_a_card_balance_loads_as_its_kind(card, backend, migrate, write_csv, backend_url):
    target_url = backend_url(backend)
    expected, errors = NUMERIC_CASES[card]
    kind = KIND_BY_TYPE[card]
    run = migrate(
        write_csv(NUMERIC), "--target", target_url, "--card-template", card, "--max-reject-rate", "0.5", tenant=TENANT
    )
    assert run.exit_code == 0, run.stderr
    s = run.summary
    assert s["status"] == "loaded"
    assert s["rows"]["read"] == 8 and s["rows"]["merged"] == 1
    assert s["rows"]["rejected"] == len(errors) and s["rows"]["valid"] == 7 - len(errors)
    assert errors_by_row(run) == errors
    assert s["balances"][kind] == sum(expected.values())
    assert gate(run)["balances_reconcile"] is True
    assert reconciliation(run)[kind] == (sum(expected.values()), sum(expected.values()))
    # every client gets the card, the merged client the sum of both rows
    assert balances(target_url) == {email: (kind, card, amount, None) for email, amount in expected.items()}


NO_BALANCE_CLIENTS = ["cora@example.com", "max@example.com", "mia@example.com", "nina@example.com"]
OWN_TEMPLATES = (
    "template,type,first_visit_reward,tier,min_spend\n"
    "Willkommen,coupon,25,,\n"
    "Club,membership,,Member,0\n"
    "Club,membership,,Gold member,500\n"
)


@pytest.mark.parametrize(
    "card, own, backend, kind, reward, tier",
    [
        ("membership", False, "postgresql", "membership", 0, "Basic"),  # shipped: first tier Basic
        ("coupon", False, "sqlite", "coupon", 10, None),  # shipped: first-visit reward 10
        ("Club", True, "sqlite", "membership", 0, "Member"),  # --card-templates: their first tier
        ("Willkommen", True, "postgresql", "coupon", 25, None),  # --card-templates: their reward
    ],
)
def test_membership_and_coupon_ignore_the_balance_column(
    card, own, backend, kind, reward, tier, migrate, write_csv, tmp_path, backend_url
):
    target_url = backend_url(backend)
    args = ["--target", target_url, "--card-template", card, "--max-reject-rate", "0.2"]
    if own:
        (tmp_path / "my_cards.csv").write_text(OWN_TEMPLATES, encoding="utf-8")
        args += ["--card-templates", tmp_path / "my_cards.csv"]
    run = migrate(write_csv(NO_BALANCE), *args, tenant=TENANT)
    assert run.exit_code == 0, run.stderr
    s = run.summary
    assert s["rows"]["read"] == 6 and s["rows"]["merged"] == 1
    # a balance given in the file is not read, not even a negative one: warnings, no errors
    ignored = {int(r["row"]): r for r in run.rejects() if r["code"] == "balance_ignored"}
    assert set(ignored) == {3, 6}
    assert {r["severity"] for r in ignored.values()} == {"warning"} and ignored[3]["value"] == "250"
    assert "first" in ignored[3]["message"]
    if kind == "coupon":
        # the reward is a balance: Nora (row 7, no e-mail) could never claim it
        assert run.codes() == {"balance_ignored": 2, "email_required": 1}
        assert {int(r["row"]) for r in run.rejects() if r["code"] == "email_required"} == {7}
        loaded = NO_BALANCE_CLIENTS
    else:
        # a membership card holds nothing: Nora loads without an e-mail
        assert run.codes() == {"balance_ignored": 2}
        loaded = NO_BALANCE_CLIENTS + ["Nora Ohne"]
    assert s["rows"]["valid"] == len(loaded)
    # every client starts with the reward (once, however many rows) / in the first tier
    got = sql(
        target_url,
        """SELECT coalesce(c.email, c.full_name) AS who, b.kind, b.card_template, b.amount, b.tier
                               FROM balances b JOIN clients c ON c.id = b.client_id WHERE b.tenant = :t""",
        t=TENANT,
    )
    assert sorted((r["who"], r["kind"], r["card_template"], float(r["amount"]), r["tier"]) for r in got) == sorted(
        (who, kind, card, reward, tier) for who in loaded
    )
    assert s["balances"][kind] == reward * len(loaded)
    assert reconciliation(run)[kind] == (reward * len(loaded), reward * len(loaded))
    assert gate(run)["balances_reconcile"] is True


def test_discount_tiers_follow_the_spend_and_the_templates_in_force(migrate, write_csv, tmp_path, target_url):
    path = write_csv(DISCOUNT, name="sleva.csv")
    run = migrate(path, "--target", target_url, "--card-template", "discount", tenant=TENANT)
    assert run.exit_code == 0, run.stderr
    s = run.summary
    assert s["rows"] == {"read": 9, "valid": 8, "rejected": 0, "merged": 1, "duplicate": 0, "loaded": 8}
    assert s["unmapped_columns"] == [] and not run.codes()
    total = sum(a for a, _ in DISCOUNT_SHIPPED.values())
    assert s["balances"]["discount_spend"] == pytest.approx(total)
    assert reconciliation(run)["discount_spend"] == (pytest.approx(total), pytest.approx(total))
    assert balances(target_url) == {
        e: ("discount_spend", "discount", pytest.approx(a), tier) for e, (a, tier) in DISCOUNT_SHIPPED.items()
    }

    # the business's own templates: same name, other thresholds. The spend is unchanged,
    # the tiers move, and only clients whose tier moved are updated.
    own = tmp_path / "my_cards.csv"
    own.write_text(
        "template,type,first_visit_reward,tier,min_spend\n"
        "discount,discount,,Bronze,0\n"
        'discount,discount,,Silver,"2000,00"\n'
        "discount,discount,,Gold,4000\n"
        "Welcome,coupon,25,,\n",
        encoding="utf-8",
    )
    again = migrate(path, "--target", target_url, "--card-template", "discount", "--card-templates", own, tenant=TENANT)
    assert again.exit_code == 0, again.stderr
    tiers = {
        "below@example.com": "Bronze",
        "exact@example.com": "Bronze",
        "almost@example.com": "Silver",
        "sum@example.com": "Silver",
        "top@example.com": "Gold",
        "way@example.com": "Gold",
        "none@example.com": "Bronze",
        "euro@example.com": "Silver",
    }
    assert balances(target_url) == {
        e: ("discount_spend", "discount", pytest.approx(a), tiers[e]) for e, (a, _) in DISCOUNT_SHIPPED.items()
    }
    assert again.summary["clients"] == {"new": 0, "updated": 8, "unchanged": 0}
    assert again.summary["balances"]["discount_spend"] == pytest.approx(total)


def test_naming_a_shipped_template_with_own_templates_is_exit_2(migrate, write_csv, tmp_path, home):
    own = tmp_path / "my_cards.csv"
    own.write_text(OWN_TEMPLATES, encoding="utf-8")
    run = migrate(write_csv(NO_BALANCE), "--card-templates", own, "--card-template", "coupon")
    assert run.exit_code == 2 and json_error(run.stdout, 2)
    assert "'coupon'" in run.stderr and "Club" in run.stderr and "Willkommen" in run.stderr
    assert not (home / "booking.db").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        ("template,type,first_visit_reward,tier,min_spend\nX,punchcard,,,\n", "row 2, column type: 'punchcard'"),
        ("template,type,first_visit_reward,tier,min_spend\nX,discount,,Gold,lots\n", "row 2, column min_spend: 'lots'"),
        ("template,kind\nX,stamp\n", "missing type"),
        ("template,type,first_visit_reward,tier,min_spend\n", "no card templates"),
    ],
)
def test_a_bad_templates_file_is_exit_2_naming_the_problem(content, message, migrate, write_csv, tmp_path, home):
    own = tmp_path / "bad_cards.csv"
    own.write_text(content, encoding="utf-8")
    run = migrate(write_csv(NO_BALANCE), "--card-templates", own, "--card-template", "X")
    assert run.exit_code == 2 and json_error(run.stdout, 2)
    assert "bad_cards.csv" in run.stderr and message in run.stderr
    assert "Traceback" not in run.stderr
    assert not (home / "booking.db").exists()


def test_a_balance_column_without_card_template_is_exit_2(migrate, write_csv, home):
    run = migrate(write_csv(NUMERIC))
    assert run.exit_code == 2 and json_error(run.stdout, 2)
    assert "--card-template" in run.stderr and "clients.csv" in run.stderr
    assert not (home / "booking.db").exists()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_card_balances_go_with_entries_and_credits(backend, migrate, write_csv, backend_url):
    """A file can carry a zenamu pass and a card at once: each kind its own balance row.
    (SQLite holds stamps, entries and credits in the other tests already.)"""
    target_url = backend_url(backend)
    text = 'name and surname,email,entries,credits,Stamps\nJana Nováková,jana@example.com,3,"150,5",7\n'
    run = migrate(write_csv(text), "--target", target_url, "--card-template", "stamp", tenant=TENANT)
    assert run.exit_code == 0, run.stderr
    assert {k: v for k, v in run.summary["balances"].items() if v} == {"entries": 3, "credits": 150.5, "stamps": 7}
    rows = sql(target_url, "SELECT kind, card_template, amount FROM balances WHERE tenant = :t ORDER BY kind", t=TENANT)
    assert [(r["kind"], r["card_template"], Decimal(str(r["amount"]))) for r in rows] == [
        ("credits", None, Decimal("150.5")),
        ("entries", None, Decimal("3")),
        ("stamps", "stamp", Decimal("7")),
    ]
