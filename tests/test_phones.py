"""E.164 normalisation of phone cells with libphonenumber."""

import pytest

from flows import phones
from flows.phones import is_known_region, normalize_phone, normalize_phones


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("+420 601 123 456", "+420601123456"),
        ("00420 601 123 456", "+420601123456"),  # 00 means international too
        ("601 123 456", "+420601123456"),  # no prefix: the default country
        ("(+49) 30 1234 5678", "+493012345678"),
        ("0049-30-12345678", "+493012345678"),
        ("4.20601E+11", None),  # Excel's scientific notation lost the digits: never expanded
        ("123", None),
        ("not a number", None),
        ("+999 123 456 789", None),
    ],
)
def test_normalize_phone(raw, e164):
    assert normalize_phone(raw, "CZ") == e164


def test_country_decides_numbers_without_prefix():
    assert normalize_phone("030 12345678", "DE") == "+493012345678"
    assert normalize_phone("030 12345678", "cz") is None


def test_each_distinct_trimmed_value_once_and_blanks_dropped():
    result = normalize_phones(["+420601123456", " +420601123456 ", "", "   ", "601123456", "x"], "CZ")
    assert result == {"+420601123456": "+420601123456", "601123456": "+420601123456", "x": None}


def test_many_distinct_values_are_split_across_processes(monkeypatch):
    monkeypatch.setattr(phones, "PARALLEL_THRESHOLD", 10)
    values = [f"+420 601 {n:06d}" for n in range(100_000, 100_050)] + ["junk"]
    result = normalize_phones(values, "CZ")
    assert len(result) == 51 and result["junk"] is None
    assert result["+420 601 100007"] == "+420601100007"


def test_known_regions():
    assert is_known_region("cz") and is_known_region("DE") and not is_known_region("XX")
