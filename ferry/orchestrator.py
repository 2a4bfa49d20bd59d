"""Prefect as Ferry's orchestrator: whether an API is configured, and the few API calls the
CLI makes (`ferry schedule`, the scheduled runs in `ferry runs`; docs/CONTRACT.md §1, §8).

Whether an API is configured is read from the environment and from Prefect's profiles
file (`prefect config set PREFECT_API_URL=…` writes there), without importing Prefect: a
plain run must not pay for that import.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ferry.errors import InputError

FLOW = "migrate_clients"
DEPLOYMENT = "migrate-clients"
DEPLOYMENT_NAME = f"{FLOW}/{DEPLOYMENT}"
DEPLOY_COMMAND = "prefect --no-prompt deploy --all"
API_TIMEOUT = 10.0  # seconds for one API call: a server that is down must not hang `ferry runs`


def _active_profile() -> dict[str, Any]:
    """The settings of Prefect's active profile, as its profiles file holds them."""
    path = os.environ.get("PREFECT_PROFILES_PATH")
    if not path:
        prefect_home = os.environ.get("PREFECT_HOME") or Path.home() / ".prefect"
        path = Path(prefect_home).expanduser() / "profiles.toml"
    try:
        data = tomllib.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    name = os.environ.get("PREFECT_PROFILE") or data.get("active")
    profile = data.get("profiles", {}).get(name, {}) if name else {}
    return profile if isinstance(profile, dict) else {}


def api_url() -> str | None:
    """The Prefect API Ferry talks to: PREFECT_API_URL, else the active profile's."""
    return os.environ.get("PREFECT_API_URL") or _active_profile().get("PREFECT_API_URL") or None


def uses_prefect() -> bool:
    """`ferry migrate` runs as the Prefect flow when an API is configured (environment or
    profile), or FERRY_ORCHESTRATOR=prefect asks for it (a temporary local server)."""
    return bool(api_url()) or os.environ.get("FERRY_ORCHESTRATOR") == "prefect"


def enter_prefect() -> None:
    """Before Prefect is imported: the active profile's settings into the environment (so a
    later PREFECT_HOME for Ferry's home cannot hide them), and with an API the run's logs
    go to it at INFO (quiet_environment would otherwise turn both down)."""
    for key, value in _active_profile().items():
        os.environ.setdefault(key, str(value))
    if api_url():
        os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "true")
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")


@contextmanager
def prefect_client() -> Iterator[Any]:
    """A synchronous Prefect client of the configured API; exit 2 without one."""
    url = api_url()
    if not url:
        raise InputError(
            "no Prefect API is configured: set PREFECT_API_URL (or `prefect config set PREFECT_API_URL=…`) "
            "to the server the workers of pool 'ferry' use"
        )
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    with temporary_settings({PREFECT_API_URL: url, PREFECT_CLIENT_MAX_RETRIES: 0}):
        with get_client(sync_client=True, httpx_settings={"timeout": API_TIMEOUT}) as client:
            yield client


def _deployment(client: Any, missing_ok: bool = False) -> Any:
    """The deployment; None (missing_ok) or exit 2 naming the command that creates it."""
    import httpx
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name(DEPLOYMENT_NAME)
    except ObjectNotFound:
        if missing_ok:
            return None
        raise InputError(
            f"the Prefect deployment {DEPLOYMENT_NAME} does not exist on {api_url()}: "
            f"create it with `{DEPLOY_COMMAND}` in Ferry's repository (prefect.yaml)"
        ) from None
    except httpx.HTTPError as exc:
        raise InputError(
            f"cannot reach the Prefect API at {api_url()} ({exc}); is `prefect server start` running?"
        ) from None


POOL = "ferry"


def require_pool_ready() -> None:
    """Before a batch hands its runs to the pool: the deployment exists and a worker polls
    the pool (exit 2 naming the command that fixes it), so the batch does not wait forever."""
    import httpx
    from prefect.exceptions import ObjectNotFound

    with prefect_client() as client:
        _deployment(client)
        try:
            workers = client.read_workers_for_work_pool(POOL)
        except (ObjectNotFound, httpx.HTTPError):  # no such pool: no worker, said below
            workers = []
    if not any(str(getattr(w, "status", "")).upper().endswith("ONLINE") for w in workers):
        raise InputError(
            f"no worker polls the Prefect work pool '{POOL}' on {api_url()}: start one with "
            f"`prefect worker start --pool {POOL}`, or unset PREFECT_API_URL to run the batch here"
        )


def schedule_run(params: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A flow run of the deployment, Scheduled at `at`, with these flow parameters."""
    from prefect.states import Scheduled

    with prefect_client() as client:
        deployment = _deployment(client)
        run = client.create_flow_run_from_deployment(
            deployment.id, parameters=params, state=Scheduled(scheduled_time=at)
        )
    return {
        "flow_run_id": str(run.id),
        "name": run.name,
        "deployment": DEPLOYMENT_NAME,
        "scheduled_at": at.astimezone(UTC).isoformat(timespec="seconds"),
        "tenant": params.get("tenant"),
        "file": params.get("file"),
    }


def scheduled_runs(tenant: str | None = None) -> list[dict[str, Any]]:
    """The deployment's flow runs still waiting for their time (`ferry runs`), soonest first."""
    import httpx
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    with prefect_client() as client:
        deployment = _deployment(client, missing_ok=True)
        if deployment is None:
            return []
        try:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                limit=200,
                offset=0,
            )
        except httpx.HTTPError as exc:
            raise InputError(f"cannot read the scheduled runs from {api_url()} ({exc})") from None
    items = []
    for run in runs:
        params = run.parameters or {}
        if tenant and params.get("tenant") != tenant:
            continue
        when = run.next_scheduled_start_time or run.expected_start_time
        items.append(
            {
                "run_id": str(run.id),
                "scheduled_at": when.astimezone(UTC).isoformat(timespec="seconds") if when else None,
                "tenant": params.get("tenant"),
                "file": params.get("file"),
                "status": "scheduled",
                "flow_run": run.name,
                "deployment": DEPLOYMENT_NAME,
            }
        )
    return items
