"""The options of one migration run, as the CLI parsed them.

One frozen object travels through every step so each step is a plain function of
(options, run_id, paths) and can be called from a test without the CLI or Prefect.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

SOURCES = ("auto", "zenamu", "etermin", "loyalty", "generic")
INVITE_MODES = ("all", "balances", "none")
DATE_ORDERS = ("dmy", "mdy")


def default_home() -> Path:
    return Path(os.environ.get("FERRY_HOME") or ".ferry")


def default_target(home: Path) -> str:
    return os.environ.get("FERRY_TARGET_URL") or f"sqlite:///{(home / 'booking.db').resolve()}"


@dataclass(frozen=True)
class RunOptions:
    file: Path
    tenant: str
    source: str = "auto"
    columns: tuple[str, ...] | None = None
    mapping: Path | None = None
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    date_order: str = "dmy"
    country: str = field(default_factory=lambda: os.environ.get("FERRY_DEFAULT_COUNTRY") or "CZ")
    invites: str = "all"
    tags: tuple[str, ...] = ()
    replace_existing: bool = False
    require_password_change: bool = False
    card_template: str | None = None
    card_templates: Path | None = None
    max_reject_rate: float = 0.0
    dry_run: bool = False
    target: str | None = None
    home: Path = field(default_factory=default_home)

    @property
    def target_url(self) -> str:
        return self.target or default_target(self.home)

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    def run_dir(self, run_id: str) -> Path:
        return self.home / "runs" / run_id

    def as_record(self) -> dict:
        """JSON-safe view of the options, for raw.runs and the report."""
        out = {}
        for k, v in self.__dict__.items():
            if isinstance(v, Path):
                v = str(v)
            elif isinstance(v, tuple):
                v = list(v)
            out[k] = v
        out["target"] = redact_url(self.target_url)
        return out


def redact_url(url: str) -> str:
    """Hide a password in a database URL before it reaches a report or log."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}"
    return url
