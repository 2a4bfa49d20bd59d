"""Which column holds which client field: header normalisation, the alias dictionary
(seeds/column_aliases.csv), mapping files, and where the header row is.

The mapping is decided once, here, so dbt can join on raw.columns instead of guessing.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from ferry.config import PROJECT_DIR
from ferry.errors import InputError
from ferry.rules import CANONICAL_FIELDS, EMAIL_PATTERN

ALIASES_PATH = PROJECT_DIR / "seeds" / "column_aliases.csv"

# Words that only say whose field it is ("personEmail", "Customer Phone", "Kunden-E-Mail"):
# tried after an exact match fails, so prefixed exports need no alias of their own.
OWNER_PREFIXES = ("person", "customer", "client", "contact", "member", "patient", "kunde", "kunden")

# Written in --columns / a mapping for a column to ignore.
SKIP_MARKERS = ("", "-", "skip")

HEADER_SEARCH_ROWS = 10

# the e-mail rule the models apply (dbt_project.yml's email_pattern): a cell it accepts is data
_EMAIL = re.compile(EMAIL_PATTERN)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[\W_]+")
# Letters NFKD does not take apart.
_FOLD = str.maketrans(
    {"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE"}
)


def header_key(text: str) -> str:
    """Normalise a header so spelling variants meet: case, accents, punctuation and
    camelCase are ignored (`personEmail` -> "person email", `Prénom` -> "prenom")."""
    text = _CAMEL.sub(" ", text.translate(_FOLD))
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", text.casefold()).strip()


def looks_like_email(cell: str) -> bool:
    return _EMAIL.fullmatch(cell.strip()) is not None


@dataclass(frozen=True)
class Alias:
    field: str
    systems: frozenset[str]


class Dictionary:
    """The alias seed indexed by header_key; every key names exactly one field."""

    def __init__(self, aliases: dict[str, Alias]):
        self.aliases = aliases
        self.system_sizes = Counter(s for a in aliases.values() for s in a.systems if s != "any")

    @classmethod
    def load(cls, path: Path = ALIASES_PATH) -> Dictionary:
        fields: dict[str, str] = {}
        systems: dict[str, set[str]] = {}
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                key, field = header_key(row["alias"]), row["field"]
                if field not in CANONICAL_FIELDS:
                    raise ValueError(f"{path}: alias {row['alias']!r} maps to unknown field {field!r}")
                if fields.setdefault(key, field) != field:
                    raise ValueError(f"{path}: alias {row['alias']!r} maps to both {fields[key]} and {field}")
                systems.setdefault(key, set()).add(row["system"])
        return cls({k: Alias(fields[k], frozenset(systems[k])) for k in fields})

    def lookup(self, header: str) -> Alias | None:
        key = header_key(header)
        if key in self.aliases:
            return self.aliases[key]
        head, _, rest = key.partition(" ")
        return self.aliases.get(rest) if head in OWNER_PREFIXES and rest else None

    def best_system(self, headers: list[str]) -> str:
        """The system whose own aliases match most headers; ties go to the system whose
        alias list is covered best (a small template matched whole beats a big one)."""
        hits: Counter[str] = Counter()
        for h in set(headers):
            alias = self.aliases.get(header_key(h))
            for s in alias.systems if alias else ():
                if s != "any":
                    hits[s] += 1
        if not hits:
            return "generic"
        ranked = sorted(hits, key=lambda s: (hits[s], hits[s] / self.system_sizes[s]), reverse=True)
        top = ranked[0]
        if len(ranked) > 1 and (hits[ranked[1]], hits[ranked[1]] / self.system_sizes[ranked[1]]) == (
            hits[top],
            hits[top] / self.system_sizes[top],
        ):
            return "generic"
        return top


@functools.cache
def default_dictionary() -> Dictionary:
    return Dictionary.load()


@dataclass(frozen=True)
class Mapping:
    """What the user fixed: header -> field overrides, or one field per column in order."""

    columns: dict[str, str | None] | None = None  # header_key -> field (None = ignore)
    order: tuple[str | None, ...] | None = None


def parse_field(name: str, where: str) -> str | None:
    """A field name from --columns or a mapping file; None for a column to ignore."""
    value = (name or "").strip()
    if value.lower() in SKIP_MARKERS:
        return None
    if value not in CANONICAL_FIELDS:
        raise InputError(
            f"{where}: {value!r} is not a field Ferry knows; use one of {', '.join(CANONICAL_FIELDS)}, "
            "or '-' to skip a column."
        )
    return value


def load_mapping(path: Path) -> Mapping:
    """Read a mapping file: `{columns: {"Source header": field}}` or `{order: [field, ...]}`."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: mapping file not found.") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise InputError(f"{path}: mapping file is not readable YAML ({type(e).__name__}).") from None
    if isinstance(doc, dict) and isinstance(doc.get("order"), list):
        return Mapping(order=tuple(parse_field(str(v or ""), str(path)) for v in doc["order"]))
    if isinstance(doc, dict) and isinstance(doc.get("columns"), dict):
        return Mapping(
            columns={header_key(str(k)): parse_field(str(v or ""), str(path)) for k, v in doc["columns"].items()}
        )
    raise InputError(f"{path}: a mapping file needs `columns:` (header -> field) or `order:` (a list of fields).")


@dataclass(frozen=True)
class Column:
    """One landed column, as raw.columns records it."""

    index: int  # 1-based
    header: str | None  # as written; None for a blank header cell, a header-less file, surplus cells
    field: str | None
    mapped_by: str | None
    is_duplicate: bool = False

    @property
    def header_key(self) -> str | None:
        return None if self.header is None else header_key(self.header)

    @property
    def label(self) -> str:
        return self.header if self.header else f"column_{self.index}"


def map_headers(headers: list[str], mapping: Mapping | None, dictionary: Dictionary) -> list[Column]:
    """Map a header row: the mapping file first, then the dictionary; later columns for a
    field already taken are duplicates (they land in `extra`)."""
    overrides = (mapping.columns if mapping else None) or {}
    columns = []
    for i, h in enumerate(headers, start=1):
        key = header_key(h)
        if key in overrides:
            field, by = overrides[key], "mapping"
        elif (alias := dictionary.lookup(h)) is not None:
            field, by = alias.field, "dictionary"
        else:
            field, by = None, None
        columns.append(Column(i, h if h.strip() else None, field, by))
    return mark_duplicates(columns)


def map_order(fields: tuple[str | None, ...], by: str) -> list[Column]:
    """Columns of a header-less file, one field (or None) per column in order."""
    return mark_duplicates([Column(i, None, f, by) for i, f in enumerate(fields, start=1)])


def mark_duplicates(columns: list[Column]) -> list[Column]:
    seen: set[str | None] = {None}
    out = []
    for c in columns:
        out.append(Column(c.index, c.header, c.field, c.mapped_by, c.field in seen and c.field is not None))
        seen.add(c.field)
    return out


def recognised(cells: list[str], mapping: Mapping | None, dictionary: Dictionary) -> int:
    """How many cells of a row are known headers (mapping file or dictionary)."""
    overrides = (mapping.columns if mapping else None) or {}
    return sum(1 for c in cells if c.strip() and (header_key(c) in overrides or dictionary.lookup(c)))


def find_header_row(
    rows: list[list[str]], mapping: Mapping | None, dictionary: Dictionary, *, allow_title_rows: bool
) -> int | None:
    """Index (into rows, the file's first non-blank rows) of the header row, or None when
    the first row looks like data: it holds an email address or no known header.

    Spreadsheets may put title rows above the header: there the first of the first ten
    rows with at least two known headers wins.
    """
    if not rows:
        return None
    if allow_title_rows:
        for i, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
            if not any(looks_like_email(c) for c in cells) and recognised(cells, mapping, dictionary) >= 2:
                return i
    first = rows[0]
    if any(looks_like_email(c) for c in first) or recognised(first, mapping, dictionary) == 0:
        return None
    return 0
