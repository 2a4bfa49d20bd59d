"""The canonical client fields (docs/CONTRACT.md §3): the vocabulary every mapping targets.

Written once, in dbt_project.yml's `vars` (the models read them too); see ferry/rules.py.
"""

from ferry.rules import BALANCE_FIELDS, CANONICAL_FIELDS

__all__ = ["BALANCE_FIELDS", "CANONICAL_FIELDS"]
