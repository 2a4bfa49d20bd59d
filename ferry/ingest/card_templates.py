"""Loyalty card templates (docs/CONTRACT.md §5): the shipped seeds or the user's own CSV.

The templates in force are written to raw.card_templates for each run, so the dbt models
read one table whichever source they came from, and an auditor sees what was used.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ferry import rules
from ferry.config import PROJECT_DIR
from ferry.errors import InputError
from ferry.ingest.raw import ensure_raw_schema

# the card types and the balance kind each stores: seeds/card_types.csv, which the models
# join too (docs/CONTRACT.md §5)
CARD_TYPES: tuple[str, ...] = tuple(rules.CARD_TYPES)
KIND_BY_TYPE: dict[str, str] = {t.type: t.kind for t in rules.CARD_TYPES.values()}


@dataclass(frozen=True)
class TemplateRow:
    template: str
    type: str
    first_visit_reward: Decimal
    tier: str | None
    min_spend: Decimal | None
    position: int | None


def _decimal(value: str, path: Path, line: int, column: str) -> Decimal:
    try:
        return Decimal((value or "0").strip().replace(",", "."))
    except InvalidOperation:
        raise InputError(f"{path}: row {line}, column {column}: '{value}' is not a number") from None


def shipped_templates() -> list[TemplateRow]:
    seeds = PROJECT_DIR / "seeds"
    tiers: dict[str, list[tuple[str, Decimal, int]]] = {}
    with open(seeds / "card_tiers.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            tiers.setdefault(row["template"], []).append((row["tier"], Decimal(row["min_spend"]), int(row["position"])))
    out = []
    with open(seeds / "card_templates.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            reward = Decimal(row["first_visit_reward"] or "0")
            for tier, min_spend, position in tiers.get(row["template"], [(None, None, None)]):
                out.append(TemplateRow(row["template"], row["type"], reward, tier, min_spend, position))
    return out


def user_templates(path: Path) -> list[TemplateRow]:
    """Read `template,type,first_visit_reward,tier,min_spend`, one row per tier.

    A template without tiers has one row with tier and min_spend empty.
    """
    if not path.is_file():
        raise InputError(f"{path}: card templates file not found")
    required = {"template", "type"}
    out: list[TemplateRow] = []
    positions: dict[str, int] = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise InputError(
                f"{path}: card templates need the columns template,type,first_visit_reward,tier,min_spend; "
                f"missing {', '.join(sorted(missing))}"
            )
        for line, row in enumerate(reader, start=2):
            name, kind = (row.get("template") or "").strip(), (row.get("type") or "").strip().lower()
            if not name:
                continue
            if kind not in CARD_TYPES:
                raise InputError(
                    f"{path}: row {line}, column type: '{kind}' is not a card type ({', '.join(CARD_TYPES)})"
                )
            tier = (row.get("tier") or "").strip() or None
            min_spend = _decimal(row.get("min_spend") or "0", path, line, "min_spend") if tier else None
            position = None
            if tier:
                positions[name] = positions.get(name, 0) + 1
                position = positions[name]
            reward = _decimal(row.get("first_visit_reward") or "0", path, line, "first_visit_reward")
            out.append(TemplateRow(name, kind, reward, tier, min_spend, position))
    if not out:
        raise InputError(f"{path}: no card templates in the file")
    return out


def templates_for_run(card_template: str | None, card_templates: Path | None) -> list[TemplateRow]:
    """The templates in force; raises InputError when --card-template names none of them."""
    rows = user_templates(Path(card_templates)) if card_templates else shipped_templates()
    if card_template is not None and card_template not in {r.template for r in rows}:
        names = ", ".join(sorted({r.template for r in rows}))
        raise InputError(f"--card-template '{card_template}' is not a known card template (known: {names})")
    return rows


def write_card_templates(con, run_id: str, rows: list[TemplateRow]) -> None:
    ensure_raw_schema(con)
    # the balance kind each card type stores, for the auditor (the models join the seed)
    con.executemany(
        "insert into raw.card_templates (run_id, template, type, first_visit_reward, tier, min_spend, position, kind) "
        "values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (run_id, r.template, r.type, r.first_visit_reward, r.tier, r.min_spend, r.position, KIND_BY_TYPE[r.type])
            for r in rows
        ],
    )
