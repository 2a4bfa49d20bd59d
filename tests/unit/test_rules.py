"""The rules written once in the dbt project (dbt_project.yml's vars, seeds/card_types.csv)
and read by Python: the e-mail pattern means the same in every engine that runs it, and the
checks dbt and the gate share carry one name."""

import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
import yaml

import expectations
from ferry import rules
from ferry.config import PROJECT_DIR
from ferry.ingest.headers import looks_like_email

EMAILS = {
    "jana@example.com": True,
    "jana.novakova+news@mail.example.cz": True,
    "j@b.co": True,
    "jana@example": False,  # no top-level domain
    "jana@example.c": False,  # one letter is not a top-level domain
    "jana@example.c0m": False,  # nor one with a digit
    "jana@10.0.0.1": False,  # digits are not a top-level domain
    "jana@@example.com": False,
    "jana @example.com": False,
    "jana@exa mple.com": False,
    "jana\t@example.com": False,
    "jana@example..com": False,
    "jana@.example.com": False,
    "@example.com": False,
    "jana@example.com\n": False,
    "jana.example.com": False,
}


def _as_the_gate_reads(values: list[str]) -> pd.Series:
    return pa.table({"email": values}).to_pandas()["email"]


def test_duckdb_python_and_arrow_agree_on_the_email_pattern():
    pattern = rules.EMAIL_PATTERN
    con = duckdb.connect()
    emails = list(EMAILS)
    in_duckdb = [con.execute("select regexp_full_match(?, ?)", [e, pattern]).fetchone()[0] for e in emails]
    in_python = [re.fullmatch(pattern, e) is not None for e in emails]
    # the gate reads the marts through Arrow (ferry/gate/validate.py); GX searches with the
    # anchored pattern. A value with a newline goes to Python's re, whose $ also matches
    # before a final newline: no e-mail in the marts has one (the models' rule rejects it).
    one_line = [e for e in emails if "\n" not in e]
    in_arrow = _as_the_gate_reads(one_line).str.contains(rules.anchored_email_pattern()).tolist()
    expected = list(EMAILS.values())
    assert in_duckdb == expected
    assert in_python == expected
    assert in_arrow == [EMAILS[e] for e in one_line]


def test_the_email_pattern_stays_in_arrow():
    """pandas runs a pattern with \\s (or any class RE2 reads differently) in Python's re,
    one value at a time; the shared pattern must not have one."""
    strings = _as_the_gate_reads(["a@b.cz"]).array
    needs_python = getattr(strings, "_needs_python_regex", None)
    if needs_python is None:
        pytest.skip("this pandas has no Python-regex fallback")
    assert not needs_python(rules.anchored_email_pattern())


def test_the_models_macro_uses_the_shared_email_pattern():
    macro = (PROJECT_DIR / "macros" / "create_ferry_functions.sql").read_text(encoding="utf-8")
    assert "regexp_full_match(x, '{{ var(\"email_pattern\") }}')" in macro
    assert "'" not in rules.EMAIL_PATTERN  # it sits in a SQL string literal


def test_a_header_row_is_data_when_a_cell_is_an_email_by_the_same_rule():
    assert looks_like_email(" Jana@Example.com ")
    assert not looks_like_email("jana@example")
    assert not looks_like_email("E-Mail")


def test_card_types_come_from_the_seed_in_its_order():
    assert list(rules.CARD_TYPES) == [
        "stamp",
        "cashback",
        "gift",
        "reward",
        "discount",
        "membership",
        "coupon",
        "multipass",
    ]
    whole = {t for t, c in rules.CARD_TYPES.items() if c.whole_number}
    ignored = {t for t, c in rules.CARD_TYPES.items() if not c.takes_balance}
    assert whole == {"stamp", "multipass"} and ignored == {"membership", "coupon"}
    assert rules.BALANCE_KINDS == (
        "entries",
        "credits",
        "stamps",
        "cashback",
        "gift",
        "reward",
        "discount_spend",
        "membership",
        "coupon",
        "visits",
    )


def _dbt_test_names() -> set[str]:
    """The `name:` of every generic test in the models' YAML, and every singular test."""
    names = {p.stem for p in (PROJECT_DIR / "data-tests").glob("*.sql")}

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("data_tests", "tests") and isinstance(value, list):
                    for test in value:
                        if isinstance(test, dict):
                            for config in test.values():
                                if isinstance(config, dict) and "name" in config:
                                    names.add(config["name"])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in Path(PROJECT_DIR, "models").rglob("*.yml"):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return names


def test_shared_checks_carry_one_name_in_dbt_and_in_the_gate():
    # the suites name them through rules.shared_check(), which refuses an unlisted name
    suites = "".join(p.read_text(encoding="utf-8") for p in Path(expectations.__file__).parent.glob("*.py"))
    gate_names = set(re.findall(r'shared_check\("([^"]+)"\)', suites))
    assert gate_names == set(rules.SHARED_CHECKS)
    assert set(rules.SHARED_CHECKS) <= _dbt_test_names()


def test_shared_check_refuses_a_name_dbt_does_not_know():
    assert rules.shared_check("balances.not_negative") == "balances.not_negative"
    with pytest.raises(ValueError, match="shared_checks"):
        rules.shared_check("balances.no_such_check")
