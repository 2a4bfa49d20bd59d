"""Phone numbers to E.164 with libphonenumber, each distinct value once.

`phonenumbers.parse` spends most of its time on generic work a clean cell such as
`+420 603 123 456` doesn't need (finding the number in free text, letters, extensions,
RFC 3966), and `is_valid_number` tries up to eleven number types one regex at a time. A
cell made only of digits, the separators ` ()-./` and at most one `+` before the digits
takes a short path (`_Region.e164`) through the same library functions and metadata: it
skips that generic work and tests all the types at once, with one pattern per length; every
other cell, and every branch of parse() the short path leaves out, goes through `parse` +
`is_valid_number` as before. tests/unit/test_phones.py holds the two to the same answers on
every region's example numbers in many notations (bench/phones.py --check also on a 1M-row
export's phones).
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache

import phonenumbers
import pyarrow as pa
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, SUPPORTED_REGIONS, PhoneMetadata
from phonenumbers import phonenumberutil as pnu

from ferry import config

# What Excel shows for a long number it turned into a float ("4.20601E+11"): its digits are
# gone, so it must fail validation rather than be expanded into a wrong number.
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")

# parse() skips anything before the first `+` or digit and drops these separators (part of
# its _VALID_PUNCTUATION); with no letters, `#`, `,` or `;` there is no extension to find,
# so such a text means exactly its digits, after a `+` if it has one.
_CLEAN = re.compile(r"[ ()./-]*\+?[0-9 ()./-]*")
_SEPARATORS = str.maketrans("", "", " ()./-+")
_KEEP_UNSTRIPPED = (
    pnu.ValidationResult.TOO_SHORT,
    pnu.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    pnu.ValidationResult.INVALID_LENGTH,
)
_UNSEEN = object()
_pattern = cache(re.compile)  # phonenumbers' re_compile, without re's own cache lookup


def normalize_phone(value: str, country: str) -> str | None:
    """E.164 for one trimmed value, None unless libphonenumber calls it a valid number.
    `00` and `+` both mean an international prefix; `country` covers numbers without one."""
    return _Region.of(country.upper()).e164(value)


def normalize_phones(values: Iterable[str], country: str) -> dict[str, str | None]:
    """Map each distinct trimmed, non-empty value to its E.164 form (None when invalid)."""
    distinct = list({v.strip() for v in values} - {""})
    return dict(zip(distinct, normalize_list(distinct, country)))


def normalize_list(values: list[str], country: str) -> list[str | None]:
    """normalize_phone of each value, in order (a long list as normalize_array does it)."""
    if len(values) <= config.PHONES_PARALLEL_THRESHOLD or config.PHONE_PROCESSES < 2:
        return _Region.of(country.upper()).e164_list(values)
    return normalize_array(pa.array(values, pa.string()), country).to_pylist()


def normalize_array(values: pa.Array, country: str) -> pa.Array:
    """normalize_phone of each string of an Arrow array, in order. A long array is shared
    with config.PHONE_PROCESSES - 1 spawned processes, this one doing the first part of
    each chunk meanwhile, config.PHONE_CHUNK values at a time through one pool: a file of
    millions of distinct numbers never has them all as Python strings at once."""
    region = _Region.of(country.upper())
    if len(values) <= config.PHONES_PARALLEL_THRESHOLD or config.PHONE_PROCESSES < 2:
        return pa.array(region.e164_list(values.to_pylist()), pa.string())
    step = config.PHONE_CHUNK
    chunks = range(0, len(values), step)
    # spawn: the caller may hold threads (Prefect, DuckDB) that a fork would copy half-way.
    # each chunk's results become Arrow at once: as Python strings, 10M numbers held ~1.5 GB
    try:
        with ProcessPoolExecutor(config.PHONE_PROCESSES - 1, mp_context=multiprocessing.get_context("spawn")) as pool:
            out = [_arrow(_shared(pool, region, values.slice(at, step).to_pylist(), country)) for at in chunks]
    except BrokenProcessPool:  # the helper could not start (no importable __main__) or died
        out = [_arrow(region.e164_list(values.slice(at, step).to_pylist())) for at in chunks]
    return pa.concat_arrays(out)


def _arrow(e164: list[str | None]) -> pa.Array:
    return pa.array(e164, pa.string())


def _shared(pool: ProcessPoolExecutor, region: _Region, values: list[str], country: str) -> list[str | None]:
    """The values' E.164 forms: the pool's processes take all parts but the first, which
    this process does meanwhile."""
    step = -(-len(values) // config.PHONE_PROCESSES)
    # One string per part pickles faster than a list: one object, not one per value (unless a
    # value holds a newline).
    futures = [
        pool.submit(_normalize_part, _joined(values[i : i + step]), country) for i in range(step, len(values), step)
    ]
    e164 = region.e164_list(values[:step])
    return e164 + [e or None for future in futures for e in future.result().split("\n")]


def _joined(values: list[str]) -> str | list[str]:
    text = "\n".join(values)
    return text if text.count("\n") == len(values) - 1 else values


def _normalize_part(values: str | list[str], country: str) -> str:
    """In a worker: E.164 forms joined by newlines, '' for None (E.164 has neither)."""
    values = values.split("\n") if isinstance(values, str) else values
    return "\n".join(e164 or "" for e164 in _Region.of(country.upper()).e164_list(values))


def is_known_region(country: str) -> bool:
    return country.upper() in phonenumbers.SUPPORTED_REGIONS


class _Region:
    """Parsing with one default region (upper case); what it needs is looked up once."""

    @staticmethod
    @cache
    def of(code: str) -> _Region:
        return _Region(code)

    def __init__(self, code: str):
        self.code = code
        self.by_prefix: dict[str, _Plan | None] = {}  # first 3 digits after `+` -> country code
        # Without `+`, parse() takes the region's own country code and metadata, and
        # refuses an unknown region; it has more to decide for digits that start with
        # the region's international prefix or country code.
        md = PhoneMetadata.metadata_for_region(code, None) if code in SUPPORTED_REGIONS else None
        self.national = _Plan(md.country_code, 0, md) if md is not None else None
        self.idd = _pattern(md.international_prefix) if md is not None and md.international_prefix is not None else None
        self.own_code = str(md.country_code) if md is not None else ""

    def e164_list(self, values: list[str]) -> list[str | None]:
        e164 = self.e164
        return [e164(v) for v in values]

    def e164(self, value: str) -> str | None:
        text = value.strip()
        if not text:
            return None
        clean = text if not text.startswith("00") else "+" + text[2:]
        # A clean text has no `e`, so it is never Excel's scientific notation.
        if len(clean) <= 250 and _CLEAN.fullmatch(clean):
            digits = clean.translate(_SEPARATORS)
            if len(digits) >= 3:  # parse() takes 2 digits only without separators
                if "+" in clean:
                    plan = self.by_prefix.get(digits[:3], _UNSEEN)
                    if plan is _UNSEEN:
                        plan = self.by_prefix[digits[:3]] = self._country_code(digits[:3])
                elif self.idd is None or not self.idd.match(digits):
                    plan = self.national if not digits.startswith(self.own_code) else None
                else:
                    plan = None
                if plan is not None:  # else a branch of parse() not written out here
                    return plan.e164(digits[plan.skip :])
        elif _SCIENTIFIC.fullmatch(text):
            return None
        return self.slow(clean)

    def slow(self, text: str) -> str | None:
        """The library's full path."""
        try:
            number = phonenumbers.parse(text, self.code)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def _country_code(self, first3: str) -> _Plan | None:
        """_extract_country_code, and the metadata parse() then takes for the number.
        None when there is no known country code (parse() retries without the `+`)."""
        if first3[0] == "0":
            return None
        for n in (1, 2, 3):
            cc = int(first3[:n])
            if cc in COUNTRY_CODE_TO_REGION_CODE:
                main = COUNTRY_CODE_TO_REGION_CODE[cc][0]
                md = (
                    PhoneMetadata.metadata_for_region(main, None)
                    if main == self.code
                    else PhoneMetadata.metadata_for_region_or_calling_code(cc, main)
                )
                return _Plan(cc, n, md)
        return None


class _Plan:
    """The rest of parse() once the country code is known (national prefix, lengths),
    then is_valid_number and E.164 formatting."""

    def __init__(self, cc: int, skip: int, md):
        self.skip = skip  # digits of the country code
        self.plus_cc = f"+{cc}"
        self.metadata = md  # may be None: parse() then strips no national prefix
        prefix = md.national_prefix_for_parsing if md is not None else None
        self.prefix = _pattern(prefix) if prefix else None
        self.validity = _Validity.of(cc)
        self.types = self.validity.single  # the common case, one call less

    def e164(self, nsn: str) -> str | None:
        if len(nsn) < 2:
            return None
        if self.prefix is not None and self.prefix.match(nsn):
            _, stripped, _ = pnu._maybe_strip_national_prefix_carrier_code(nsn, self.metadata)
            if pnu._test_number_length(stripped, self.metadata) not in _KEEP_UNSTRIPPED:
                nsn = stripped
        if not 2 <= len(nsn) <= 17:
            return None
        # nsn keeps its leading zeros, as national_significant_number() rebuilds them
        valid = self.types.any_type(nsn) if self.types is not None else self.validity.is_valid(nsn)
        return self.plus_cc + nsn if valid else None


class _Validity:
    """is_valid_number for one calling code: region_code_for_number, then
    is_valid_number_for_region."""

    @staticmethod
    @cache
    def of(cc: int) -> _Validity:
        return _Validity(cc)

    def __init__(self, cc: int):
        self.cc = cc
        regions = COUNTRY_CODE_TO_REGION_CODE.get(cc, ())
        self.single = self.for_region(regions[0]) if len(regions) == 1 else None
        # _region_code_for_number_from_list: a region's leading digits, else its types
        self.candidates = []
        for r in regions if len(regions) > 1 else ():
            md = PhoneMetadata.metadata_for_region(r.upper(), None)
            if md is not None:
                lead = _pattern(md.leading_digits) if md.leading_digits is not None else None
                self.candidates.append((r, _Types.of(md), lead, self.for_region(r)))

    def for_region(self, region: str) -> _Types | None:
        """The types is_valid_number_for_region checks, None where it returns False early."""
        md = PhoneMetadata.metadata_for_region_or_calling_code(self.cc, region.upper())
        if md is None or (region != pnu.REGION_CODE_FOR_NON_GEO_ENTITY and self.cc != md.country_code):
            return None
        return _Types.of(md)

    def is_valid(self, nsn: str) -> bool:
        if self.single is not None:
            return self.single.any_type(nsn)
        for _region, types, lead, region_types in self.candidates:
            if lead.match(nsn) if lead is not None else types.any_type(nsn):
                return region_types is not None and region_types.any_type(nsn)
        return False


class _Types:
    """_number_type_helper(nsn, md) != UNKNOWN: the general pattern and any type's."""

    @staticmethod
    def of(md) -> _Types:
        # metadata objects aren't hashable, and live as long as the library
        types = _types_by_metadata.get(id(md))
        if types is None:
            types = _types_by_metadata[id(md)] = _Types(md)
        return types

    def __init__(self, md):
        self.general = md.general_desc
        # mobile counts only where its pattern differs from fixed line's
        self.descs = (
            [md.fixed_line]
            + ([] if md.same_mobile_and_fixed_line_pattern else [md.mobile])
            + [
                md.premium_rate,
                md.toll_free,
                md.shared_cost,
                md.voip,
                md.personal_number,
                md.pager,
                md.uan,
                md.voicemail,
            ]
        )
        self.by_length: dict[int, tuple] = {}

    def any_type(self, nsn: str) -> bool:
        plan = self.by_length.get(len(nsn))
        if plan is None:
            plan = self.by_length[len(nsn)] = self._plan(len(nsn))
        general, any_type = plan
        return (
            general is not None
            and any_type is not None
            and general.fullmatch(nsn) is not None
            and (any_type.fullmatch(nsn) is not None)
        )

    def _plan(self, length: int) -> tuple:
        """For one length: the general pattern and one pattern matching what any type's
        does, of the types whose possible lengths allow it (_is_number_matching_desc).
        The patterns use only digits, classes, groups, counted repeats and `|` (a test
        checks), so a full match of `(?:a)|(?:b)` is a full match of a or of b."""

        def usable(desc):
            return (
                desc is not None
                and (not desc.possible_length or length in desc.possible_length)
                and bool(desc.national_number_pattern)
            )

        general = _pattern(self.general.national_number_pattern) if usable(self.general) else None
        types = dict.fromkeys(d.national_number_pattern for d in self.descs if usable(d))
        return general, (_pattern("|".join(f"(?:{p})" for p in types)) if types else None)


_types_by_metadata: dict[int, _Types] = {}
