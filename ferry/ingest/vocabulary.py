"""The words Ferry reads a header's tokens with (ferry/ingest/vocabulary.csv), written once.

The alias seed (seeds/column_aliases.csv) names fields; this file says what the other words
of a header do to it: whose field it is (owner words: `Invitee Email`; foreign words:
`Contact owner`, `Emergency contact phone`), which of several columns is the client's
main one (qualifiers: `Mobile Phone` before `Home Phone`, `E-mail 1` before `E-mail 2`),
which part of a group holds the value (`E-mail 1 - Value`, not its `Label`), money the
client spent (`Total Spent`, never a balance), the balance kind a column holds
(`Stamp_Balance`), a username that is no login, and headers that say nothing (`Spalte 3`).
"""

from __future__ import annotations

import csv
import functools
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

VOCABULARY_PATH = Path(__file__).with_name("vocabulary.csv")
ROLES = (
    "owner",
    "foreign",
    "secondary",
    "qualifier",
    "ordinal",
    "part",
    "neutral",
    "money",
    "generic",
    "kind",
    "weak_login",
)


@dataclass(frozen=True)
class Vocabulary:
    owner: frozenset[str]
    foreign_always: frozenset[str]
    foreign_beside_client: frozenset[str]  # someone else only when the file also has client columns
    secondary: frozenset[str]  # billing, shipping: a part that yields to a main column
    qualifier: dict[str, float]  # word -> score adjustment when several columns hold one field
    ordinal: dict[str, int]
    part: dict[str, str]  # word -> "value" | "label"
    neutral: frozenset[str]
    money: frozenset[str]
    generic: frozenset[str]
    kind: dict[str, frozenset[str]]  # word -> the balance kinds it names
    weak_login: frozenset[str]  # header keys of a username that is only a login beside a password


def load_vocabulary(path: Path = VOCABULARY_PATH) -> Vocabulary:
    """Read the word list; an unknown role is a mistake in the file, so it fails loudly."""
    words: dict[str, dict[str, str]] = defaultdict(dict)
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["role"] not in ROLES:
                raise ValueError(f"{path}: {row['word']!r} has unknown role {row['role']!r}")
            words[row["role"]][row["word"]] = row["value"]
    foreign = words["foreign"]
    return Vocabulary(
        owner=frozenset(words["owner"]),
        foreign_always=frozenset(w for w, v in foreign.items() if v == "always"),
        foreign_beside_client=frozenset(w for w, v in foreign.items() if v == "beside_client"),
        secondary=frozenset(words["secondary"]),
        qualifier={w: float(v) for w, v in words["qualifier"].items()},
        ordinal={w: int(v) for w, v in words["ordinal"].items()},
        part=dict(words["part"]),
        neutral=frozenset(words["neutral"]),
        money=frozenset(words["money"]),
        generic=frozenset(words["generic"]),
        kind={w: frozenset(v.split()) for w, v in words["kind"].items()},
        weak_login=frozenset(words["weak_login"]),
    )


@functools.cache
def vocabulary() -> Vocabulary:
    return load_vocabulary()
