"""The three ways a run can fail, each with its exit status (docs/CONTRACT.md §1)."""

from pathlib import Path


class FerryError(Exception):
    exit_code = 1


class InputError(FerryError):
    """Unusable input or arguments: exit 2, target untouched.

    The message is one sentence for the user: it names the file, and the row/column
    where there is one, and says what to do.
    """

    exit_code = 2


class TargetError(FerryError):
    """The target failed; the transaction was rolled back, rerunning is safe: exit 3."""

    exit_code = 3


class ControlTotalsMismatch(TargetError):
    """The balances re-read inside the load's transaction differ from the file's, so the
    load was rolled back (docs/CONTRACT.md §6): exit 3 like any target failure.

    `control_totals` ({kind: {"source": …, "target": …}}) carries the sums as data, so the
    report shows the difference without reading them back out of the message. It defaults
    to empty so the exception still unpickles from its message alone.
    """

    def __init__(self, message: str, control_totals: dict[str, dict[str, float]] | None = None):
        super().__init__(message)
        self.control_totals = dict(control_totals or {})


class BusyError(FerryError):
    """The home's warehouse stayed in use by another run longer than FERRY_LOCK_TIMEOUT:
    nothing was written, running again is safe (exit 3, as a target that stayed locked)."""

    exit_code = 3


def log_traceback(exc: BaseException, home: Path) -> str:
    """Write a bug's traceback to `<home>/errors/`, so the user sees one line and the
    report has the details; says where it went (or that it could not be written)."""
    import os
    import traceback
    from datetime import UTC, datetime

    log = Path(home) / "errors" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        return f"details in {log}"
    except OSError:
        return "no log could be written"
