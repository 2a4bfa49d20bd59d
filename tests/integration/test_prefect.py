"""Ferry under a real Prefect server (docs/CONTRACT.md §1, §8): the deployment of prefect.yaml
run by a process worker from JSON parameters, the flow's final states, its logs and
artifact, `ferry schedule` and the scheduled runs in `ferry runs`.

One server for the module: `prefect server start` on a free port, its state in a temporary
PREFECT_HOME, analytics off."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import json_error, run_cli, sqlite_rows
from tests.target_fixtures import PG_URL, needs_pg

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
GOOD = "name and surname,email,entries,credits\nJohn Doe,john@example.com,1,100\n"
BAD = "name and surname,email,entries,credits\nJohn Doe,not-an-email,1,100\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """{"url", "env"}: a Prefect server with work pool `ferry` and deployment migrate-clients."""
    import prefect.main  # noqa: F401  (sets up Prefect's console logging now, not inside a CliRunner)
    from prefect.logging.handlers import APILogWorker

    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = dict(
        os.environ,
        PREFECT_HOME=str(tmp_path_factory.mktemp("prefect-server")),
        PREFECT_API_URL=url,
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_TO_API_ENABLED="true",
        PREFECT_LOGGING_LEVEL="INFO",
    )
    log = open(tmp_path_factory.mktemp("server-log") / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "prefect server did not start"
            time.sleep(0.3)
        for argv in (
            [PREFECT, "work-pool", "create", "ferry", "--type", "process"],
            [PREFECT, "--no-prompt", "deploy", "--name", "migrate-clients"],
        ):
            done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
        yield {"url": url, "env": env}
    finally:
        try:
            APILogWorker.drain_all(timeout=5)  # this process's run logs reach the server before it stops
        finally:
            proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _client():
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def _settings(url: str):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings({PREFECT_API_URL: url})


def _deployment_runs(url: str, runs: dict[str, dict]) -> dict[str, str]:
    """Create one flow run of the deployment per parameters; {key: flow run id}."""
    with _settings(url), _client() as client:
        deployment = client.read_deployment_by_name("migrate_clients/migrate-clients")
        return {
            key: str(client.create_flow_run_from_deployment(deployment.id, parameters=params).id)
            for key, params in runs.items()
        }


def _manifest(tmp_path) -> Path:
    (tmp_path / "good.csv").write_text(GOOD, encoding="utf-8")
    manifest = tmp_path / "batch.csv"
    manifest.write_text("file,tenant\ngood.csv,alpha\n", encoding="utf-8")
    return manifest


# these two run first in the module, while no worker has polled pool `ferry` yet


def test_a_batch_with_no_worker_polling_the_pool_is_exit_2_before_anything_runs(server, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", server["url"])
    home = tmp_path / "home"
    code, out, err = run_cli("batch", _manifest(tmp_path), "--home", home, "--json")
    assert code == 2 and json_error(out, 2) and "prefect worker start --pool ferry" in err, err
    assert not (home / "runs").exists()


def test_a_tenant_no_worker_starts_in_time_is_cancelled_and_failed_not_waited_for(server, tmp_path, monkeypatch):
    """The batch flow itself (a worker that stopped after the check): the child run is
    cancelled after FERRY_BATCH_START_TIMEOUT, so no worker takes it later, and recorded."""
    import asyncio

    from flows.batch import migrate_batch

    monkeypatch.setenv("FERRY_BATCH_START_TIMEOUT", "3")
    with _settings(server["url"]):
        result = asyncio.run(migrate_batch(manifest=str(_manifest(tmp_path)), home=str(tmp_path / "home")))
    (run,) = result["runs"]
    assert (run["tenant"], run["status"], run["exit_code"]) == ("alpha", "failed", 5)
    assert "no worker of pool 'ferry' started the run within 3 s" in run["error"]
    with _settings(server["url"]), _client() as client:
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId

        deployment = client.read_deployment_by_name("migrate_clients/migrate-clients")
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id])),
            limit=10,
            offset=0,
        )
    assert [c.state.type.value for c in children] == ["CANCELLED"]


def test_deployment_runs_from_json_parameters_end_in_the_right_states(server, tmp_path):
    (tmp_path / "good.csv").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.csv").write_text(BAD, encoding="utf-8")
    homes = {key: tmp_path / key for key in ("loaded", "blocked", "unusable")}
    ids = _deployment_runs(
        server["url"],
        {
            "loaded": {
                "file": str(tmp_path / "good.csv"),
                "tenant": "studio",
                "tags": ["vip", "2026"],
                "max_reject_rate": 0,
                "home": str(homes["loaded"]),
            },
            "blocked": {"file": str(tmp_path / "bad.csv"), "tenant": "studio", "home": str(homes["blocked"])},
            "unusable": {"file": str(tmp_path / "missing.csv"), "tenant": "studio", "home": str(homes["unusable"])},
        },
    )
    worker = subprocess.run(
        [PREFECT, "worker", "start", "--pool", "ferry", "--run-once"],
        env=server["env"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr

    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId

    with _settings(server["url"]), _client() as client:
        states = {key: client.read_flow_run(run_id).state for key, run_id in ids.items()}
        logs = [
            log.message
            for log in client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[ids["loaded"]])), limit=200, offset=0
            )
        ]
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[ids["loaded"]])), limit=10
        )
    assert states["loaded"].is_completed(), states["loaded"]
    assert states["blocked"].is_failed() and "gate blocked the load" in states["blocked"].message
    assert states["unusable"].is_failed() and "file not found" in states["unusable"].message

    summary = json.loads(next((homes["loaded"] / "runs").glob("*/summary.json")).read_text())
    assert summary["status"] == "loaded" and summary["rows"]["loaded"] == 1
    (tags,) = sqlite_rows(homes["loaded"], "select tags from clients")[0]
    assert sorted(json.loads(tags)) == ["2026", "vip"]  # a JSON list became --tag twice
    assert not (homes["blocked"] / "booking.db").exists()
    # Ferry's own lines in the run's Prefect logs, the summary as a markdown artifact
    assert "gate passed" in logs and any(line.startswith("report: ") for line in logs), logs
    assert [a.type for a in artifacts] == ["markdown"]
    assert summary["run_id"] in artifacts[0].data and "report.html" in artifacts[0].data


def test_a_failed_load_ends_failed_and_the_cli_keeps_its_exit_codes(server, tmp_path, monkeypatch, home):
    """`ferry migrate` through Prefect: --json prints only the summary, exit codes as plain."""
    monkeypatch.setenv("PREFECT_API_URL", server["url"])
    monkeypatch.setenv("PREFECT_LOGGING_TO_API_ENABLED", "true")
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "INFO")
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(BAD, encoding="utf-8")

    code, out, _ = run_cli("migrate", bad, "--tenant", "studio", "--home", home, "--json")
    assert code == 1 and json.loads(out)["status"] == "blocked"
    # a target that cannot be written: the load fails (exit 3, not retried), the run is Failed
    (tmp_path / "target.db").mkdir()
    target = f"sqlite:///{tmp_path / 'target.db'}"
    code, out, err = run_cli("migrate", good, "--tenant", "studio", "--home", home, "--target", target, "--json")
    assert code == 3, err
    assert json.loads(out)["status"] == "failed"
    code, out, err = run_cli("migrate", tmp_path / "missing.csv", "--tenant", "studio", "--home", home, "--json")
    assert code == 2 and json_error(out, 2) and "missing.csv" in err and "Traceback" not in err, err

    from prefect.client.schemas.sorting import FlowRunSort

    with _settings(server["url"]), _client() as client:
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=3, offset=0)
    assert [r.state.type.value for r in runs] == ["FAILED", "FAILED", "FAILED"]
    assert "file not found" in runs[0].state.message
    assert runs[1].state.message.startswith("the target failed: ")
    assert runs[2].state.message.startswith("the gate blocked the load: ")


def test_schedule_creates_a_scheduled_run_that_ferry_runs_lists(server, tmp_path, monkeypatch, home):
    path = tmp_path / "later.csv"
    path.write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("PREFECT_API_URL", server["url"])
    code, out, err = run_cli(
        "schedule", path, "--tenant", "night-studio", "--tag", "vip", "--at", "2031-06-01T22:00+02:00", "--json"
    )
    assert code == 0, err
    scheduled = json.loads(out)
    assert scheduled["scheduled_at"] == "2031-06-01T20:00:00+00:00"
    with _settings(server["url"]), _client() as client:
        run = client.read_flow_run(scheduled["flow_run_id"])
    assert run.state.is_scheduled()
    params = run.parameters
    assert (params["file"], params["tenant"], params["tags"]) == (str(path), "night-studio", ["vip"])
    assert not {"home", "target", "country"} & set(params)  # left to the worker's defaults

    code, out, err = run_cli("runs", "--home", home, "--tenant", "night-studio", "--json")
    assert code == 0, err
    items = json.loads(out)
    assert [(i["run_id"], i["status"], i["tenant"]) for i in items] == [
        (scheduled["flow_run_id"], "scheduled", "night-studio")
    ]

    code, _, err = run_cli("schedule", path, "--tenant", "t", "--at", "next friday")
    assert code == 2 and "ISO-8601" in err
    # no Prefect API at all: neither in the environment nor in a profile
    monkeypatch.delenv("PREFECT_API_URL")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "no-profile"))
    code, out, err = run_cli("schedule", path, "--tenant", "t", "--at", "2031-06-01T22:00")
    assert code == 2 and out == "" and "no Prefect API is configured" in err
    code, out, _ = run_cli("runs", "--home", home, "--json")
    assert code == 0 and json.loads(out) == []


def test_schedule_names_the_deploy_command_when_the_deployment_is_missing(tmp_path, monkeypatch, server):
    from ferry import orchestrator

    monkeypatch.setattr(orchestrator, "DEPLOYMENT_NAME", "migrate_clients/not-deployed")
    monkeypatch.setenv("PREFECT_API_URL", server["url"])
    path = tmp_path / "c.csv"
    path.write_text(GOOD, encoding="utf-8")
    code, _, err = run_cli("schedule", path, "--tenant", "t", "--at", "2031-06-01T22:00")
    assert code == 2 and "prefect --no-prompt deploy --all" in err


def test_only_transient_target_errors_are_retried():
    import psycopg
    from sqlalchemy.exc import OperationalError

    from ferry.errors import ControlTotalsMismatch, TargetError
    from ferry.target.db import is_transient

    def wrapped(exc: BaseException) -> TargetError:
        try:
            raise TargetError("the load failed on target …") from exc
        except TargetError as outer:
            return outer

    class Serialization(psycopg.OperationalError):
        sqlstate = "40001"

    assert is_transient(wrapped(ConnectionRefusedError(111, "Connection refused")))
    assert is_transient(wrapped(OperationalError("SELECT 1", {}, Serialization("could not serialize access"))))
    assert is_transient(wrapped(psycopg.OperationalError("connection failed: Connection refused")))
    assert is_transient(TargetError("the load failed on target x: another Ferry run holds this tenant's lock"))
    assert not is_transient(ControlTotalsMismatch("control totals differ"))
    assert not is_transient(TargetError("run r was already loaded into this target (status loaded); start a new run"))
    assert not is_transient(wrapped(ValueError("NOT NULL constraint failed: clients.email")))


def test_a_transient_load_failure_is_retried_and_loads_once(server, tmp_path, monkeypatch):
    """The first attempt fails after the gate's verdict (the warehouse lock given up): the
    retry takes the lock back, stages again and loads; the target holds each client once."""
    import flows.migrate as flow_module
    from ferry.errors import TargetError
    from ferry.target import load as load_module

    monkeypatch.setattr(flow_module, "LOAD_RETRY_DELAYS", [0])
    real_load, attempts = load_module.load_run, []

    def flaky_load(*args, verdict, **kwargs):
        attempts.append(1)
        if len(attempts) == 1:
            verdict()
            raise TargetError("the load failed on target x: the connection to the target was lost; nothing was changed")
        return real_load(*args, verdict=verdict, **kwargs)

    monkeypatch.setattr(load_module, "load_run", flaky_load)
    path, home = tmp_path / "good.csv", tmp_path / "home"
    path.write_text(GOOD, encoding="utf-8")
    with _settings(server["url"]):
        state = flow_module.migrate_clients(file=str(path), tenant="studio", home=str(home), return_state=True)
    summary = state.result(raise_on_failure=False)
    assert state.is_completed(), state
    assert len(attempts) == 2 and summary["status"] == "loaded"
    assert sqlite_rows(home, "select count(*) from clients") == [(1,)]


def test_the_load_is_never_retried_after_a_gate_block_or_a_lasting_error(server, monkeypatch):
    import flows.migrate as flow_module
    from ferry.errors import ControlTotalsMismatch, TargetError

    monkeypatch.setattr(flow_module, "LOAD_RETRY_DELAYS", [0])
    attempts = []

    def blocked_then_lost(*, verdict):
        attempts.append(1)
        verdict()
        raise TargetError("the load failed on target x: the connection to the target was lost")

    def totals_differ(*, verdict):
        attempts.append(1)
        raise ControlTotalsMismatch("control totals differ")

    with _settings(server["url"]):
        with pytest.raises(TargetError):
            flow_module._load_task(blocked_then_lost, verdict=lambda: False)
        assert len(attempts) == 1
        with pytest.raises(ControlTotalsMismatch):
            flow_module._load_task(totals_differ, verdict=lambda: True)
        assert len(attempts) == 2


@needs_pg
def test_a_dropped_postgresql_connection_is_retried_and_loads_once(server, tmp_path, monkeypatch, pg_schema):
    """The server ends the load's connection in the middle of its first insert (a trigger
    terminates its own backend, once: a sequence is not rolled back); the flow retries the
    load, which stages again and commits; every client is in the target once."""
    import psycopg

    import flows.migrate as flow_module
    from ferry.target.db import ensure_schema, parse_target

    schema, url = pg_schema
    ensure_schema(parse_target(url))
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SEQUENCE "{schema}".drops')
        admin.execute(
            f"""CREATE FUNCTION "{schema}".drop_once() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF nextval('"{schema}".drops') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
                    RETURN NEW;
                END $$"""
        )
        admin.execute(
            f'CREATE TRIGGER drop_once BEFORE INSERT ON "{schema}".clients '
            f'FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".drop_once()'
        )
    monkeypatch.setattr(flow_module, "LOAD_RETRY_DELAYS", [0])
    path, home = tmp_path / "good.csv", tmp_path / "home"
    path.write_text(GOOD + "Jane Roe,jane@example.com,2,5\n", encoding="utf-8")
    with _settings(server["url"]):
        state = flow_module.migrate_clients(
            file=str(path), tenant="studio", home=str(home), target=url, return_state=True
        )
    summary = state.result(raise_on_failure=False)
    assert state.is_completed(), state
    assert summary["status"] == "loaded" and summary["clients"]["new"] == 2
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        assert admin.execute(f'SELECT last_value FROM "{schema}".drops').fetchone()[0] == 2  # two attempts
        emails = admin.execute(f'SELECT email FROM "{schema}".clients ORDER BY email').fetchall()
    assert emails == [("jane@example.com",), ("john@example.com",)]


def test_batch_hands_every_row_to_the_pool_and_reports_each_outcome(server, tmp_path, monkeypatch):
    """`ferry batch` with a Prefect API configured: the flow migrate_batch runs here and each
    manifest row becomes a child run of migrate-clients on the work pool, taken by a process
    worker; a good, a blocked and an unusable file on one home, two at a time."""
    home = tmp_path / "home"
    (tmp_path / "good.csv").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.csv").write_text(BAD, encoding="utf-8")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    manifest = tmp_path / "batch.csv"
    manifest.write_text(
        "file,tenant,max_reject_rate\ngood.csv,alpha,0\nbad.csv,beta,0\nempty.csv,gamma,0\n", encoding="utf-8"
    )
    monkeypatch.setenv("PREFECT_API_URL", server["url"])

    worker_log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
    worker = subprocess.Popen(
        [PREFECT, "worker", "start", "--pool", "ferry"], env=server["env"], stdout=worker_log, stderr=worker_log
    )
    try:
        deadline = time.monotonic() + 60
        with _settings(server["url"]), _client() as client:
            while not client.read_workers_for_work_pool("ferry"):
                assert worker.poll() is None and time.monotonic() < deadline, "the worker did not start"
                time.sleep(0.5)
        code, out, err = run_cli("batch", manifest, "--home", home, "--concurrency", "2", "--json")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        worker_log.close()

    assert code == 2, err  # the highest of 0, 1 and 2
    assert "running as Prefect flow migrate_batch" in err
    doc = json.loads(out)
    runs = {r["tenant"]: r for r in doc["runs"]}
    assert {t: (r["status"], r["exit_code"]) for t, r in runs.items()} == {
        "alpha": ("loaded", 0),
        "beta": ("blocked", 1),
        "gamma": ("input_error", 2),
    }, doc
    assert doc["counts"] == {"loaded": 1, "dry_run": 0, "blocked": 1, "failed": 0, "input_error": 1}
    assert runs["gamma"]["run_id"] is None and "empty" in runs["gamma"]["error"]
    assert "gate blocked the load" in runs["beta"]["error"] and "(run " not in runs["beta"]["error"]
    # each child ran on the worker, in this home: its run id leads to its summary
    for tenant, status in (("alpha", "loaded"), ("beta", "blocked")):
        summary = json.loads((home / "runs" / runs[tenant]["run_id"] / "summary.json").read_text(encoding="utf-8"))
        assert (summary["tenant"], summary["status"]) == (tenant, status)
    assert sqlite_rows(home, "select email from clients") == [("john@example.com",)]
    page = Path(doc["report"]).read_text(encoding="utf-8")
    assert f"../../runs/{runs['alpha']['run_id']}/report.html" in page
