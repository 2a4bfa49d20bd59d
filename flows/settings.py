"""Process-wide settings Ferry needs before any heavy import: no telemetry, ever.

The machines Ferry runs on are often offline; dbt, Prefect and GX must not try to phone
home, and Prefect must keep its state inside Ferry's home instead of ~/.prefect.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def quiet_environment(home: Path | None = None) -> None:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    if home is not None:
        os.environ.setdefault("PREFECT_HOME", str((home / "prefect").resolve()))
