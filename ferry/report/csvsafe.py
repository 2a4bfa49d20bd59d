"""CSV that is safe to open in a spreadsheet: no cell is ever run as a formula."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """Prefix a cell that a spreadsheet would evaluate with a quote (OWASP CSV injection)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def write_safe_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable]) -> int:
    """Write UTF-8 CSV (no BOM: scripts read it as plain UTF-8); returns the data row count."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([safe_cell(h) for h in header])
        for row in rows:
            writer.writerow([safe_cell(v) for v in row])
            count += 1
    return count
