"""One run at a time in a home's warehouse: the lock every step that opens it runs under.

DuckDB lets one process open a database file for writing, and no other process may open it
at all meanwhile; and dbt transforms the run that `raw.current_run` names. So two runs on
one home must not interleave their warehouse work: the second one waits here, says once
whom it waits for, and goes on when the first has staged its load (docs/CONTRACT.md §9).
The target is written outside this lock, so different tenants still load in parallel, and
one tenant's runs queue on the target's own tenant lock.

`flock` belongs to the open file, not to the process: two runs in one process (a batch's
threads) exclude each other as two processes do, and a killed run's lock goes with it.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ferry import config
from ferry.errors import BusyError

LOCK_FILE = "warehouse.lock"
POLL_SECONDS = 0.1


class WarehouseLock:
    """The home's warehouse lock for run `run_id`; `acquire()` and `release()` may be
    called again (the run gives it up while it loads, and takes it back for its report)."""

    def __init__(self, home: Path, run_id: str, tenant: str, on_wait: Callable[[str], None] | None = None):
        self.path = Path(home) / LOCK_FILE
        self.run_id, self.tenant, self.on_wait = run_id, tenant, on_wait
        self._fd: int | None = None
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Wait for the lock (FERRY_LOCK_TIMEOUT seconds at most), telling `on_wait` once
        which run holds it; BusyError (exit 3, nothing written) when it does not come."""
        with self._mutex:
            if self._fd is not None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            deadline = time.monotonic() + config.lock_timeout()
            told = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = _holder(fd)
                    if time.monotonic() >= deadline:
                        os.close(fd)
                        raise BusyError(
                            f"{self.path.parent}: the warehouse is still in use by {holder} after "
                            f"{config.lock_timeout():.0f} s (FERRY_LOCK_TIMEOUT); nothing was written, run again later"
                        ) from None
                    if not told and self.on_wait is not None:
                        self.on_wait(f"waiting for {holder} to finish with the warehouse")
                        told = True
                    time.sleep(POLL_SECONDS)
            _write_holder(fd, self.run_id, self.tenant)
            self._fd = fd

    def release(self) -> None:
        with self._mutex:
            fd, self._fd = self._fd, None
            if fd is not None:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def __enter__(self) -> WarehouseLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _write_holder(fd: int, run_id: str, tenant: str) -> None:
    """Who holds the lock, for the next run's waiting line (tenant names are the user's
    own; the file stays in the home)."""
    since = datetime.now(UTC).isoformat(timespec="seconds")
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"run_id": run_id, "tenant": tenant, "pid": os.getpid(), "since": since}).encode(), 0)


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        info = {}
    if not info.get("run_id"):
        return "another run"
    return f"run {info['run_id']} (tenant {info.get('tenant')}, since {info.get('since')})"
