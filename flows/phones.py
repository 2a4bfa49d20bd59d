"""Phone numbers to E.164 with libphonenumber, each distinct value once.

Parsing costs ~15 µs a number, so a big file's distinct values are split across two
processes; the SQL side only joins on the result (raw.phone_numbers).
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor

import phonenumbers

PARALLEL_THRESHOLD = 20_000
WORKERS = 2

# What Excel shows for a long number it turned into a float ("4.20601E+11"): its digits are
# gone, so it must fail validation rather than be expanded into a wrong number.
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")


def normalize_phone(value: str, country: str) -> str | None:
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


def _normalize_chunk(values: list[str], country: str) -> list[str | None]:
    return [normalize_phone(v, country) for v in values]


def normalize_phones(values: Iterable[str], country: str) -> dict[str, str | None]:
    """Map each distinct trimmed, non-empty value to its E.164 form (None when invalid)."""
    distinct = list({v.strip() for v in values} - {""})
    if len(distinct) <= PARALLEL_THRESHOLD:
        return dict(zip(distinct, _normalize_chunk(distinct, country)))
    step = -(-len(distinct) // WORKERS)
    chunks = [distinct[i : i + step] for i in range(0, len(distinct), step)]
    # spawn: the caller may hold threads (Prefect, DuckDB) that a fork would copy half-way.
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = pool.map(_normalize_chunk, chunks, [country] * len(chunks))
        return dict(zip(distinct, (e164 for part in results for e164 in part)))


def is_known_region(country: str) -> bool:
    return country.upper() in phonenumbers.SUPPORTED_REGIONS
