"""E.164 normalisation of phone cells with libphonenumber."""

import random
import re

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from ferry import config
from ferry.ingest import phones
from ferry.ingest.phones import is_known_region, normalize_phone, normalize_phones


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("+420 601 123 456", "+420601123456"),
        ("00420 601 123 456", "+420601123456"),  # 00 means international too
        ("601 123 456", "+420601123456"),  # no prefix: the default country
        ("(+49) 30 1234 5678", "+493012345678"),
        ("0049-30-12345678", "+493012345678"),
        ("+49 (0)151 12345678", "+4915112345678"),  # a national prefix after the country code
        ("+39 06 1234 5678", "+390612345678"),  # Italian numbers keep their leading zero
        ("+1 (212) 234-5678", "+12122345678"),
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
    monkeypatch.setattr(config, "PHONES_PARALLEL_THRESHOLD", 10)
    values = [f"+420 601 {n:06d}" for n in range(100_000, 100_050)] + ["junk", "601\n123456"]
    result = normalize_phones(values, "CZ")
    assert len(result) == 52 and result["junk"] is None and result["601\n123456"] is None
    assert result["+420 601 100007"] == "+420601100007"
    assert phones.normalize_list(["junk", "601 123 456"] * 6, "cz") == [None, "+420601123456"] * 6


def test_known_regions():
    assert is_known_region("cz") and is_known_region("DE") and not is_known_region("XX")


def test_arrow_trims_what_python_strips():
    """ferry.ingest.land.phone_table takes Arrow's trimmed unique cells as normalize_phones' keys."""
    chars = [chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000]  # str.isspace() ends at U+3000
    cells = [f"{c}1{c}" for c in chars] + [f"1{c}1" for c in chars]
    assert pc.utf8_trim_whitespace(pa.array(cells)).to_pylist() == [c.strip() for c in cells]


def test_type_patterns_can_be_joined():
    """ferry.ingest.phones joins a region's type patterns with `|`: a full match of the join is a
    full match of one of them for patterns without lookarounds, backreferences or anchors."""
    metadata = [phonenumbers.PhoneMetadata.metadata_for_region(r) for r in phonenumbers.SUPPORTED_REGIONS]
    metadata += [
        phonenumbers.PhoneMetadata.metadata_for_nongeo_region(cc)
        for cc in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
    ]
    descs = [
        getattr(md, name)
        for md in metadata
        for name in (
            "general_desc",
            "fixed_line",
            "mobile",
            "premium_rate",
            "toll_free",
            "shared_cost",
            "voip",
            "personal_number",
            "pager",
            "uan",
            "voicemail",
        )
    ]
    patterns = {d.national_number_pattern for d in descs if d is not None and d.national_number_pattern}
    assert len(patterns) > 1000
    assert [p for p in patterns if not re.fullmatch(r"(?:[0-9\[\]\-(){},|?]|\(\?:|\\d)*", p)] == []


# The short path must answer exactly what libphonenumber's parse + is_valid_number did.
# The oracle is normalize_phone as it was before the short path, verbatim.

_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")


def reference_normalize_phone(value: str, country: str) -> str | None:
    """E.164 for one trimmed value, None unless libphonenumber calls it a valid number.
    `00` and `+` both mean an international prefix; `country` covers numbers without one."""
    text = value.strip()
    if not text or _SCIENTIFIC.fullmatch(text):
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


COUNTRIES = ("CZ", "DE", "AT", "GB", "US", "IT", "PL", "FR")
TRICKY = [
    "+",
    "00",
    "12",
    "1 2",
    "+12",
    "+123",
    "000",
    "0000000",
    "+0420601123456",
    "0 0420601123456",
    "++420601123456",
    "+ 420 601 123 456",
    "00 420 601 123 456",
    "(00420) 601 123 456",
    "-+420601123456",
    "+420 601 123 456-",
    "601.123.456",
    "601/123/456",
    "(601) 123 456",
    "+44 (0) 20 7946 0958",
    "+7 8 912 345 67 89",
    "+1 1 212 234 5678",
    "+54 9 11 1234 5678",
    "+52 1 55 1234 5678",
    "0 21 11 2345 6789",
    "+39 3123456789",
    "+39 0612345678",
    "+3906",
    "+4930" + "1" * 16,
    "1" * 251,
    "4.20601E+11",
    "+4.20601E+11",
    "4,2E5",
    "１２３ ４５６ ７８９",
    "+420\u00a0601\u00a0123\u00a0456",
    "+800 1234 5678",
    "+882 3456 7890",
    "+979 1234 5678",
    "+290 8 1234",
    "+247 1234",
    "+1 684 733 1234",
    "+44 1624 456789",
    "+44 7781 123456",
    "+358 18 1234567",
    "+262 269 61 1234",
    "+599 7 123 4567",
    "601+123456",
    "420+601123456",
    "+420+601123456",
    "+420 601 123 456+",
    "(+) 601 123 456",
    "+(0)601123456",
]


def example_numbers() -> list[phonenumbers.PhoneNumber]:
    """One example per region and number type (and per non-geographic calling code)."""
    types = sorted(getattr(PhoneNumberType, name) for name in dir(PhoneNumberType) if name.isupper())
    found = [phonenumbers.example_number_for_type(r, t) for r in sorted(phonenumbers.SUPPORTED_REGIONS) for t in types]
    non_geo = sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
    found += [phonenumbers.example_number_for_non_geo_entity(cc) for cc in non_geo]
    unique = {phonenumbers.format_number(n, PhoneNumberFormat.E164): n for n in found if n is not None}
    return list(unique.values())


def notations(number: phonenumbers.PhoneNumber, rng: random.Random, mutations: int) -> list[str]:
    """A number as people and old systems write it, right and wrong."""
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    intl = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    cc, nsn, digits = str(number.country_code), phonenumbers.national_significant_number(number), e164[1:]
    out = [
        e164,
        intl,
        national,
        phonenumbers.format_number(number, PhoneNumberFormat.RFC3966),
        digits,
        nsn,
        "00" + digits,
        "00" + intl[1:],
        "00 " + intl[1:],
        "011" + digits,
        "0" + nsn,
        "00" + nsn,
        f"+{cc} (0){nsn}",
        f"+{cc} (0) {nsn}",
        f"+{cc}0{nsn}",
        f"+{cc} 00{nsn}",
        f"+{cc} 1 {nsn}",
        f"+{cc} 8 {nsn}",
        f"({cc}) {nsn}",
        f"(+{cc}) {national}",
        f"+({cc}) {nsn}",
        intl + " ext. 12",
        e164 + " x12",
        national + " #12",
        national + ";ext=5",
        e164 + ",,12",
        intl + " - 503#",
        "Tel. " + intl,
        intl + " (mobile)",
        "'" + e164,
        e164 + ".",
        "(" + national + ")",
        "*" + e164,
        e164 + " / " + national,
        "ABC" + national,
        national + "x",
        "tel" + nsn,
        nsn + "a",
        e164[:-1],
        e164[:-2],
        e164 + "1",
        e164 + "12",
        national[:-1],
        national + "9",
        nsn[:3],
        "+" + digits[:4],
        intl.replace(" ", "-"),
        intl.replace(" ", "."),
        intl.replace(" ", "/"),
        intl.replace(" ", "\u00a0"),
        national.replace(" ", "-"),
        " ".join(e164),
        "+" + " ".join(digits),
        intl.replace(" ", "  "),
        f"{float(digits):.5E}",
        f"+{float(digits):.5E}",
        f"{float(nsn):.3e}",
        f"{float(digits):.5E}".replace(".", ","),
        e164.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ]
    for _ in range(mutations):  # nearby numbers, mostly invalid: the type patterns decide
        i = rng.randrange(1, len(e164))
        out.append(e164[:i] + str(rng.randrange(10)) + e164[i + 1 :])
        i = rng.randrange(len(nsn))
        out.append(nsn[:i] + str(rng.randrange(10)) + nsn[i + 1 :])
    return out


def generated_phones(mutations: int) -> list[str]:
    rng = random.Random(20240501)
    values = {v for n in example_numbers() for v in notations(n, rng, mutations)}
    return sorted(values | set(TRICKY))


def test_short_path_answers_what_libphonenumber_answers():
    """40,000 of every region's example numbers in ~65 notations, each against one of the
    default countries (bench/phones.py --check runs them all, and the 1M-row file's phones)."""
    rng = random.Random(7)
    values = sorted(rng.sample(generated_phones(mutations=1), 40_000))  # sorted: re's cache holds
    differ = []
    for value in values:
        country = rng.choice(COUNTRIES)
        if normalize_phone(value, country) != reference_normalize_phone(value, country):
            differ.append((value, country, normalize_phone(value, country), reference_normalize_phone(value, country)))
    for value in TRICKY:
        for country in COUNTRIES + ("001", "XX", "us"):
            if normalize_phone(value, country) != reference_normalize_phone(value, country):
                differ.append((value, country, normalize_phone(value, country)))
    assert differ == [], differ[:10]


def test_an_arrow_array_is_normalised_in_chunks_through_one_pool(monkeypatch):
    # a file of millions of distinct numbers goes through in chunks: the same answers, in order
    monkeypatch.setattr(config, "PHONE_CHUNK", 5)
    monkeypatch.setattr(config, "PHONES_PARALLEL_THRESHOLD", 2)
    values = ["junk", "601 123 456", "+49 151 23456789", "", "00420 777 123 456", "1", "+420601123456"] * 3
    got = phones.normalize_array(pa.array(values, pa.string()), "cz")
    assert got.type == pa.string()
    assert got.to_pylist() == [phones.normalize_phone(v, "cz") for v in values]
    assert got.to_pylist()[:3] == [None, "+420601123456", "+4915123456789"]
