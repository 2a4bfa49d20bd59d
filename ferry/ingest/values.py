"""What a column's cells look like: the evidence Ferry decides a column by when its header
cannot (`Kontakt`, `Spalte 3`, a language the dictionary lacks), and the check that a
column's values do not contradict its header (a `Phone` column of e-mail addresses).

Only a sample is read (config.MAPPING_SAMPLE_CELLS cells from the top), so the decision
costs the same for a 100-row and a 1M-row file.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from datetime import date

from ferry.config import PROJECT_DIR
from ferry.rules import EMAIL_PATTERN

_EMAIL = re.compile(EMAIL_PATTERN)
# a phone number as people write one: digits with spaces, dots, dashes, slashes or
# brackets, at least 7 digits. Bare digits count only with a leading + or 0 (or 00):
# otherwise they are as likely an id or an amount.
_PHONE = re.compile(r"\+?[0-9][0-9 ()./\-]{5,22}[0-9]")
_PHONE_SEPARATED = re.compile(r"^(\+|0)|[ ()./\-]")
# dates the field rules read (docs/CONTRACT.md §3): ISO, day or month first, year first
_DATE = re.compile(
    r"(?P<y1>\d{4})[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T].*)?|\d{1,2}[./-]\s?\d{1,2}[./-]\s?(?P<y2>\d{4}|\d{2})"
)
# an amount: digits with group and decimal marks, a sign, a currency symbol or code
_AMOUNT = re.compile(r"[-−+]?[^\d\s]{0,3}\s?\d[\d .,'’]*\s?[^\d\s]{0,3}")


@functools.cache
def consent_words() -> frozenset[str]:
    """The yes/no words of seeds/consent_values.csv (the same list the models read)."""
    with open(PROJECT_DIR / "seeds" / "consent_values.csv", encoding="utf-8", newline="") as f:
        return frozenset(row["value"].casefold() for row in csv.DictReader(f))


def untick(cell: str) -> str:
    """A cell without the leading `'` spreadsheets and shops write to keep a value text
    (`'0612345678`, `'7001`); the models strip it the same way (macro ferry_untick)."""
    cell = cell.strip()
    return cell[1:].strip() if cell.startswith("'") else cell


def is_email(cell: str) -> bool:
    return _EMAIL.fullmatch(cell) is not None


def is_phone(cell: str) -> bool:
    cell = untick(cell)
    if _PHONE.fullmatch(cell) is None or _PHONE_SEPARATED.search(cell) is None:
        return False
    return 7 <= sum(c.isdigit() for c in cell) <= 15


def date_year(cell: str) -> int | None:
    """The year of a cell written as a date, else None."""
    m = _DATE.fullmatch(cell)
    if m is None:
        return None
    year = int(m.group("y1") or m.group("y2"))
    return year + (1900 if year > date.today().year % 100 else 2000) if year < 100 else year


def is_amount(cell: str) -> bool:
    return _AMOUNT.fullmatch(untick(cell)) is not None


@dataclass(frozen=True)
class Profile:
    """Shares of a column's filled sample cells that look like each kind of value."""

    cells: int  # sampled cells
    filled: int  # of them not blank
    email: float = 0.0
    phone: float = 0.0
    date: float = 0.0
    birth_date: float = 0.0  # dates whose year makes a plausible birth date
    yes_no: float = 0.0
    amount: float = 0.0

    @property
    def empty(self) -> bool:
        return self.filled == 0

    def describe(self, kind: str) -> str:
        return f"{round(getattr(self, kind) * 100)}% of {self.filled} sampled values"


def profile(cells: list[str]) -> Profile:
    """Count what the sample's filled cells look like (each cell once, the first match)."""
    filled = [c.strip() for c in cells if c and c.strip()]
    if not filled:
        return Profile(len(cells), 0)
    words = consent_words()
    this_year = date.today().year
    n = {"email": 0, "phone": 0, "date": 0, "birth_date": 0, "yes_no": 0, "amount": 0}
    for cell in filled:
        if "@" in cell:
            n["email"] += is_email(cell)
        elif cell.casefold() in words:
            n["yes_no"] += 1
        elif (year := date_year(cell)) is not None:
            n["date"] += 1
            n["birth_date"] += 1900 <= year <= this_year - 5
        elif is_phone(cell):
            n["phone"] += 1
        elif is_amount(cell):
            n["amount"] += 1
    total = len(filled)
    return Profile(len(cells), total, **{k: v / total for k, v in n.items()})
