"""Ferry's configuration: where the dbt project is, the quiet environment every heavy
import needs, the options of one migration run, and every tuning threshold.

One frozen `RunOptions` travels through every step so each step is a plain function of
(options, run_id, paths) and can be called from a test without the CLI or Prefect.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _find_project_dir() -> Path:
    """The dbt project: shipped inside the package (a regular install), else the source
    checkout this package sits in (an editable install, or the repository itself)."""
    here = Path(__file__).resolve().parent
    shipped = here / "project"
    if (shipped / "dbt_project.yml").is_file():
        return shipped
    return here.parent


PROJECT_DIR = _find_project_dir()


def quiet_environment(home: Path | None = None) -> None:
    """No telemetry, ever: the machines Ferry runs on are often offline; dbt, Prefect and
    GX must not try to phone home, and Prefect keeps its state inside Ferry's home."""
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    if home is not None:
        os.environ.setdefault("PREFECT_HOME", str((home / "prefect").resolve()))


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


# --------------------------------------------------------------------------------------
# Tuning thresholds: where a faster path starts, and how much of the machine it takes.
# None of them changes a result; bench/README.md has the measurements behind them.
# --------------------------------------------------------------------------------------

# readers: bytes read to detect encoding and delimiter; characters of text sampled for it
SNIFF_BYTES = 1 << 20
SAMPLE_CHARS = 64 * 1024
# land: files at least this big land in a process of their own while dbt imports
LAND_APART_BYTES = 20_000_000
# phones: from this many distinct numbers, a second process normalises half of them
PHONES_PARALLEL_THRESHOLD = 100_000
PHONE_PROCESSES = 2  # this one included
# passwords: from this many password cells, argon2id hashes in worker processes
PASSWORDS_PARALLEL_THRESHOLD = 64
PASSWORD_WORKERS = 2
# gate: a mart with more rows is validated one column group at a time (less memory, faster);
# after a run this big the gate's process ends with it (its memory goes back), smaller
# runs leave it warm for the next run of this process
GATE_SPLIT_ROWS = 100_000
GATE_KEEP_WORKER_BELOW = 100_000
# stage: more (kind, card_template) pairs than this are staged as rows, not columns
STAGE_MAX_PAIRS = 8
STAGE_MEMORY = "256MB"  # DuckDB's memory limit while staging
PG_COPY_PARTS = 4  # PostgreSQL: the clients' CSV in parts, so COPY starts while DuckDB writes
# write: below this many new clients, dropping and rebuilding indexes costs more than it saves
BULK_MIN_CLIENTS = 20_000
