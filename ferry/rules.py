"""The rules Python shares with the dbt models, read from where they are written once: the
`vars` of dbt_project.yml (canonical fields, e-mail syntax, shared check names) and
seeds/card_types.csv (what each loyalty card type does with the balance column).

The models read the same values through `var()` and `ref('card_types')`, so a rule changes
in one place for SQL, the ingest and the gate alike (docs/CONTRACT.md §3, §5).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import yaml

from ferry.config import PROJECT_DIR

CARD_TYPES_PATH = PROJECT_DIR / "seeds" / "card_types.csv"


def _project_vars() -> dict:
    with open(PROJECT_DIR / "dbt_project.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)["vars"]


@dataclass(frozen=True)
class CardType:
    """One row of seeds/card_types.csv (its YAML documents the values)."""

    type: str
    kind: str  # the balance kind the card's balance is stored under
    balance_source: str  # file | zero | first_visit_reward
    whole_number: bool  # stamps and visits are counted, so whole
    tier_rule: str | None  # first | highest_reached | None

    @property
    def takes_balance(self) -> bool:
        """Whether the file's balance column is read at all (membership and coupon: no)."""
        return self.balance_source == "file"


def _card_types() -> dict[str, CardType]:
    with open(CARD_TYPES_PATH, encoding="utf-8", newline="") as f:
        return {
            row["type"]: CardType(
                type=row["type"],
                kind=row["kind"],
                balance_source=row["balance_source"],
                whole_number=row["whole_number"] == "true",
                tier_rule=row["tier_rule"] or None,
            )
            for row in csv.DictReader(f)
        }


_VARS = _project_vars()

CANONICAL_FIELDS: tuple[str, ...] = tuple(_VARS["canonical_fields"])
BALANCE_FIELDS: tuple[str, ...] = tuple(_VARS["balance_fields"])

# the card types in the seed's order (that order is the one users see in messages)
CARD_TYPES: dict[str, CardType] = _card_types()

# every balance kind the target can hold: entries and credits, then one per card type
FIELD_BALANCE_KINDS: tuple[str, ...] = tuple(_VARS["field_balance_kinds"])  # entries, credits
BALANCE_KINDS: tuple[str, ...] = FIELD_BALANCE_KINDS + tuple(t.kind for t in CARD_TYPES.values())

# matched against the whole value (re.fullmatch, regexp_full_match); anchored_email_pattern()
# for engines that search
EMAIL_PATTERN: str = _VARS["email_pattern"]

SHARED_CHECKS: tuple[str, ...] = tuple(_VARS["shared_checks"])


def project_var(name: str):
    """One of dbt_project.yml's `vars`, for Python that renders the project's macros."""
    return _VARS[name]


def anchored_email_pattern() -> str:
    """EMAIL_PATTERN for a regex search (pandas' str.contains, which GX uses)."""
    return f"^{EMAIL_PATTERN}$"


def shared_check(name: str) -> str:
    """A check name that a dbt test carries too; fails at import when it is not listed in
    dbt_project.yml's `shared_checks`, so the two names cannot drift apart silently."""
    if name not in SHARED_CHECKS:
        raise ValueError(f"{name!r} is not in the shared_checks of dbt_project.yml")
    return name
