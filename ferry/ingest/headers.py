"""Which column holds which client field: header normalisation, the alias dictionary
(seeds/column_aliases.csv), the header vocabulary (ferry/ingest/vocabulary.csv), value
evidence (ferry/ingest/values.py), mapping files, and where the header row is.

The mapping is decided once, here, so dbt can join on raw.columns instead of guessing;
every decision carries a confidence and a reason, so the run can say why.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from ferry.config import PROJECT_DIR
from ferry.errors import InputError
from ferry.ingest.values import Profile, profile
from ferry.ingest.vocabulary import Vocabulary, vocabulary
from ferry.rules import BALANCE_FIELDS, CANONICAL_FIELDS, EMAIL_PATTERN

ALIASES_PATH = PROJECT_DIR / "seeds" / "column_aliases.csv"

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
        # the same words in any order ("Date_Birth" = "Birth date"), where that is unambiguous
        by_words: dict[tuple[str, ...], set[str]] = {}
        for key, alias in aliases.items():
            by_words.setdefault(tuple(sorted(key.split())), set()).add(alias.field)
        self.unordered = {words: fields.pop() for words, fields in by_words.items() if len(fields) == 1}
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
        # words that only say whose field it is ("personEmail", "Customer Phone", "Kunden-E-Mail")
        head, _, rest = key.partition(" ")
        return self.aliases.get(rest) if head in vocabulary().owner and rest else None

    def field_of(self, words: list[str]) -> str | None:
        """The field a phrase names, its words in the dictionary's order or any order."""
        if not words:
            return None
        alias = self.aliases.get(" ".join(words))
        return alias.field if alias else self.unordered.get(tuple(sorted(words)))

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
        # headers every system writes (`First Name`, `Email`) name none: the top system needs
        # a header of its own, or all of its headers
        own = any(self.aliases[k].systems == {top} for k in {header_key(h) for h in headers} if k in self.aliases)
        if not own and hits[top] < self.system_sizes[top]:
            return "generic"
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
    mapped_by: str | None  # dictionary | values | mapping | columns | None
    is_duplicate: bool = False
    confidence: float | None = None  # 0-1: how sure the decision is (1 for an exact alias or the user's)
    reason: str | None = None  # why, in words an auditor reads
    warning: str | None = None  # the column's values contradict its header (a Phone column of e-mails)

    @property
    def header_key(self) -> str | None:
        return None if self.header is None else header_key(self.header)

    @property
    def label(self) -> str:
        return self.header if self.header else f"column_{self.index}"

    def as_record(self) -> dict:
        """The decision as the summary, the report and `ferry inspect` show it."""
        return {
            "index": self.index,
            "header": self.header,
            "field": None if self.is_duplicate else self.field,
            "confidence": None if self.confidence is None else round(self.confidence, 2),
            "reason": self.reason,
            **({"warning": self.warning} if self.warning else {}),
        }


_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")


def header_tokens(header: str) -> list[str]:
    """The words of a header, numbers apart (`Address1` -> address, 1)."""
    return _LETTER_DIGIT.sub(" ", header_key(header)).split()


@dataclass(frozen=True)
class Decision:
    """What a header alone says about its column."""

    field: str | None
    confidence: float
    reason: str
    score: float = 0.0  # rank among the columns for one field (qualifiers, group numbers)
    secondary: bool = False  # a billing/shipping part: yields to a main column
    kinds: frozenset[str] = frozenset()  # balance kinds the header names (stamps, cashback …)
    open: bool = False  # the header names no field: its values may decide
    says_nothing: bool = False  # blank, `Spalte 3`, `Info`: any value evidence may decide


def _rank(tokens: list[str], vocab: Vocabulary) -> float:
    """Qualifiers and group numbers: a mobile or primary phone before a home one, before a
    work one; group 1 before group 2."""
    adjust = sum(vocab.qualifier.get(t, 0.0) for t in tokens)
    numbers = [int(t) for t in tokens if t.isdigit()] + [vocab.ordinal[t] for t in tokens if t in vocab.ordinal]
    if numbers and min(numbers) > 1:
        adjust -= 0.04 + 0.01 * min(min(numbers) - 1, 5)
    return adjust


def decide_header(header: str, dictionary: Dictionary, vocab: Vocabulary, *, beside_client: bool) -> Decision:
    """Read one header: the alias dictionary for the whole header, else its tokens: owner
    words (`Invitee Email`) and qualifiers (`Phone - home`) fall away, a group's label or
    type and someone else's columns (`User Email` in a booking export with client columns,
    `Contact owner`, `Emergency Contact Phone`) map to nothing, money the client spent is
    never a balance; what is left must be a phrase of the dictionary."""
    tokens = header_tokens(header)
    if not tokens:
        return Decision(None, 0.0, "blank header", open=True, says_nothing=True)
    foreign = [t for t in tokens if t in vocab.foreign_always or (beside_client and t in vocab.foreign_beside_client)]
    if foreign:
        return Decision(None, 0.9, f"belongs to someone else ('{foreign[0]}'), not the client")
    kinds = frozenset(k for t in tokens for k in vocab.kind.get(t, ()))
    rank = _rank(tokens, vocab)
    key = header_key(header)
    if key in dictionary.aliases:
        return Decision(dictionary.aliases[key].field, 1.0, f"dictionary: '{key}'", 1.0 + rank, kinds=kinds)
    if vocab.part.get(tokens[-1]) == "label":
        return Decision(None, 0.9, f"the {tokens[-1]} of a group, not its value")
    money = [t for t in tokens if t in vocab.money]
    if money:
        return Decision(None, 0.9, f"what the client spent, paid or earned ('{money[0]}'), not what they hold")
    if all(t in vocab.generic or t in vocab.owner or t.isdigit() for t in tokens):
        return Decision(None, 0.0, "the header names no field", open=True, says_nothing=True)
    # whose it is, and where in a group, first; then qualifiers too (`First Name` is a
    # field, `First Phone` a phone qualified)
    whose = vocab.owner | vocab.neutral | frozenset(vocab.part)
    qualified = whose | vocab.secondary | frozenset(vocab.qualifier) | frozenset(vocab.ordinal) | frozenset(vocab.kind)
    field, core = None, []
    for skipped in (whose, qualified):
        core = [t for t in tokens if not (t in skipped or t.isdigit())]
        if (field := dictionary.field_of(core)) is not None:
            break
    secondary = any(t in vocab.secondary for t in tokens)
    if field is None:
        return Decision(None, 0.0, "no field word Ferry knows", open=True)
    dropped = [t for t in tokens if t not in core]
    reason = f"'{' '.join(core)}'" + (f" ({' '.join(dropped)})" if dropped else "")
    return Decision(
        field, 0.9 if not secondary else 0.7, reason, 0.9 + rank - (0.3 if secondary else 0.0), secondary, kinds
    )


# value evidence: the share of a column's filled sample that must look alike
EVIDENCE_SHARE = 0.8
# dates and yes/no words decide only from this many filled cells: `1` alone says little
COMMON_EVIDENCE_CELLS = 3
# fields distinctive values may give any column the dictionary cannot read; dates and
# yes/no words are common in other columns too (`Created`, `Canceled`), so they decide
# only a header that says nothing (blank, `Spalte 3`, `Info`)
DISTINCT_EVIDENCE = {"email": "email", "phone": "phone"}
COMMON_EVIDENCE = {"birth_date": "birth_date", "yes_no": "consent"}
# what a field's values should look like, for the contradiction check
EXPECTED = {"email": ("email",), "phone": ("phone",), "birth_date": ("date",)}
CONTRADICTIONS = ("email", "phone", "date")
EVIDENCE_NAMES = {
    "email": "e-mail addresses",
    "phone": "phone numbers",
    "date": "dates",
    "birth_date": "birth dates",
    "yes_no": "yes/no words",
}


def contradiction(field: str, values: Profile) -> str | None:
    """A warning when a column's values are mostly another kind than its field holds."""
    if values.filled < 3 or (field not in EXPECTED and field not in BALANCE_FIELDS):
        return None
    expected = EXPECTED.get(field, ())
    if any(getattr(values, k) >= 0.5 for k in expected):
        return None
    for kind in CONTRADICTIONS:
        if kind not in expected and getattr(values, kind) >= 0.5:
            return f"the header says {field}, but {values.describe(kind)} are {EVIDENCE_NAMES[kind]}"
    return None


def evidence(decision: Decision, values: Profile) -> tuple[str, float, str] | None:
    """(field, confidence, reason) from a column's values, for a header that names no field."""
    options = dict(DISTINCT_EVIDENCE)
    if decision.says_nothing and values.filled >= COMMON_EVIDENCE_CELLS:
        options.update(COMMON_EVIDENCE)
    best = max(options, key=lambda k: getattr(values, k), default=None)
    if best is None or values.filled == 0 or getattr(values, best) < EVIDENCE_SHARE:
        return None
    share = getattr(values, best)
    return options[best], round(0.4 + 0.45 * share, 2), f"values: {values.describe(best)} are {EVIDENCE_NAMES[best]}"


def map_headers(
    headers: list[str],
    mapping: Mapping | None,
    dictionary: Dictionary,
    samples: list[list[str]] | None = None,
    balance_kind: str | None = None,
) -> list[Column]:
    """Map a header row: the mapping file first, then what each header says (dictionary
    and vocabulary), then the values of columns no header decides. When several columns
    could hold one field the best-ranked wins (a mobile before a home phone, a group's
    first value, the column of the card template's balance kind; a leftmost one on a tie);
    the others are duplicates (they land in `extra`). `samples` holds each column's first
    cells (config.MAPPING_SAMPLE_CELLS at most)."""
    vocab = vocabulary()
    overrides = (mapping.columns if mapping else None) or {}
    # a booking export's user (its host) is someone else beside client columns; beside a
    # password column a user name is the client's login
    has_password = any((a := dictionary.lookup(h)) is not None and a.field == "password" for h in headers)
    beside_client = not has_password and any(t in vocab.owner for h in headers for t in header_tokens(h))
    profiles = [profile(samples[i]) if samples and i < len(samples) else None for i in range(len(headers))]
    decisions: list[Decision] = []
    for h in headers:
        if header_key(h) in overrides:
            field = overrides[header_key(h)]
            decisions.append(Decision(field, 1.0, "the mapping file", 2.0))
        else:
            decisions.append(decide_header(h, dictionary, vocab, beside_client=beside_client))
    decisions = [_settle(d, profiles[i], balance_kind) for i, d in enumerate(decisions)]
    decisions = _context(headers, decisions, overrides, vocab)
    decisions = _from_values(decisions, profiles)
    primary = _best_per_field(decisions)
    columns = []
    for i, (h, d) in enumerate(zip(headers, decisions, strict=True)):
        by = _mapped_by(h, d, overrides)
        warning = contradiction(d.field, profiles[i]) if d.field and profiles[i] and by != "mapping" else None
        dup = d.field is not None and primary[d.field] != i
        reason = d.reason if not dup else f"{d.reason}; column {primary[d.field] + 1} holds {d.field} better"
        columns.append(Column(i + 1, h if h.strip() else None, d.field, by, dup, d.confidence, reason, warning))
    return columns


def _mapped_by(header: str, d: Decision, overrides: dict) -> str | None:
    if header_key(header) in overrides:
        return "mapping"
    if d.field is None:
        return None
    return "values" if d.reason.startswith("values:") else "dictionary"


def _settle(d: Decision, values: Profile | None, balance_kind: str | None) -> Decision:
    """Rank adjustments from evidence beyond the header: an empty column yields to a filled
    one, and the card template's kind chooses among balance columns."""
    score = d.score
    if values is not None and values.empty and d.field is not None:
        score -= 0.5
    if balance_kind and d.field == "card_balance" and d.kinds:
        # a column of this kind only, before one that also names others (points: reward or
        # cashback), before one of another kind
        score += (0.3 if d.kinds == {balance_kind} else 0.15) if balance_kind in d.kinds else -0.2
    return replace(d, score=score)


def _context(headers: list[str], decisions: list[Decision], overrides: dict, vocab: Vocabulary) -> list[Decision]:
    """Decisions that need the whole header row: a billing or shipping part yields to a
    main column of its field; a username is a login only beside a password column."""
    mains = {d.field for d in decisions if d.field and not d.secondary}
    has_password = any(d.field == "password" for d in decisions)
    out = []
    for h, d in zip(headers, decisions, strict=True):
        if d.secondary and d.field in mains:
            d = Decision(None, 0.9, f"a billing/shipping part; another column holds the client's {d.field}")
        elif (
            d.field == "login_id"
            and header_key(h) in vocab.weak_login
            and header_key(h) not in overrides
            and not has_password
        ):
            d = Decision(None, 0.8, "a username without a password column is the old system's name, not a login")
        out.append(d)
    return out


def _from_values(decisions: list[Decision], profiles: list[Profile | None]) -> list[Decision]:
    """Columns no header decides take a field from their values, for fields no header holds."""
    held = {d.field for d in decisions if d.field}
    found: dict[str, tuple[float, int]] = {}
    guesses: dict[int, tuple[str, float, str]] = {}
    for i, (d, values) in enumerate(zip(decisions, profiles, strict=True)):
        if not d.open or values is None:
            continue
        guess = evidence(d, values)
        if guess is None or guess[0] in held:
            continue
        guesses[i] = guess
        if guess[0] not in found or guess[1] > found[guess[0]][0]:
            found[guess[0]] = (guess[1], i)
    out = list(decisions)
    for i, (field, confidence, reason) in guesses.items():
        if found[field][1] == i:
            out[i] = Decision(field, confidence, reason, confidence)
        else:
            out[i] = replace(out[i], reason=f"{reason}, but column {found[field][1] + 1} holds them more surely")
    return out


def _best_per_field(decisions: list[Decision]) -> dict[str, int]:
    """The column index each field takes: the highest score, the leftmost on a tie."""
    best: dict[str, int] = {}
    for i, d in enumerate(decisions):
        if d.field is not None and (d.field not in best or d.score > decisions[best[d.field]].score):
            best[d.field] = i
    return best


def map_order(fields: tuple[str | None, ...], by: str) -> list[Column]:
    """Columns of a header-less file, one field (or None) per column in order."""
    return mark_duplicates(
        [Column(i, None, f, by, confidence=1.0, reason=f"--{by}") for i, f in enumerate(fields, start=1)]
    )


def mark_duplicates(columns: list[Column]) -> list[Column]:
    seen: set[str | None] = {None}
    out = []
    for c in columns:
        out.append(replace(c, is_duplicate=c.field in seen and c.field is not None))
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
