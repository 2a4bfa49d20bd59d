"""The ways a run can fail, each with its exit status (docs/CONTRACT.md §1)."""

import errno
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


class MachineError(FerryError):
    """The machine stopped the run, not the input, the target or a bug: the disk is full, a
    folder cannot be written, memory ran out, another process holds what Ferry needs.
    The target changes only in the load's one transaction, so it is as before the run or
    fully loaded; fix what the message names and run again: exit 5."""

    exit_code = 5


class BusyError(MachineError):
    """The home's warehouse stayed in use by another run longer than FERRY_LOCK_TIMEOUT:
    nothing was written, running again is safe (exit 5)."""


BUG_EXIT = 70  # an unexpected error: a bug to report (sysexits' EX_SOFTWARE)

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_NOT_ALLOWED = (errno.EACCES, errno.EPERM, errno.EROFS)
_TOO_MANY = (errno.EMFILE, errno.ENFILE)
# how DuckDB and dbt word the same failures, for errors that carry only text
_WORDS = (
    ("No space left on device", "the disk is full", "free some space there"),
    ("Disk quota exceeded", "the disk quota is used up", "free some space there"),
    ("Read-only file system", "the file system is read-only", "give Ferry a writable folder"),
    ("Permission denied", "permission was denied", "let Ferry read and write there"),
    ("Out of Memory Error", "memory ran out", "close other programs or use a bigger machine"),
    ("Cannot allocate memory", "memory ran out", "close other programs or use a bigger machine"),
)


def machine_error(exc: BaseException, home: Path | None = None) -> MachineError | None:
    """`exc` as a MachineError naming what to fix, when the machine caused it; None when
    it is a bug. Looks through the chain of causes (dbt and DuckDB wrap OSErrors)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _machine_reason(current, home)
        if found is not None:
            return MachineError(found)
        current = current.__cause__ or current.__context__
    return None


def _machine_reason(exc: BaseException, home: Path | None) -> str | None:
    where = getattr(exc, "filename", None) or home or "Ferry's home"
    if isinstance(exc, MemoryError):
        return "memory ran out: close other programs or run on a machine with more memory, then run again"
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno in _NO_SPACE:
            return f"the disk is full for {where} ({exc.strerror}): free some space there, then run again"
        if exc.errno in _NOT_ALLOWED:
            return f"Ferry may not use {where} ({exc.strerror}): let it read and write there, then run again"
        if exc.errno in _TOO_MANY:
            return f"too many open files ({exc.strerror}): raise the limit (ulimit -n), then run again"
    text = str(exc)
    for words, meaning, advice in _WORDS:
        if words in text:
            return f"{meaning} for {where} ({text.strip().splitlines()[-1][:300]}): {advice}, then run again"
    return None


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
