"""The Prefect flow itself: it imports, builds, and runs the real pipeline as tasks."""

from __future__ import annotations

import dataclasses

import pytest

from ferry.config import RunOptions

ZENAMU = "name and surname,email,entries,credits\nJohn Doe,john@example.com,1,100\n"


def test_every_module_imports_and_the_flow_builds():
    import ferry.cli
    import ferry.gate.validate
    import ferry.ingest.land
    import ferry.report.summary
    import ferry.target.load
    import ferry.transform.dbt  # noqa: F401
    import flows.migrate

    flow = flows.migrate.migrate_clients
    assert flow.name == "migrate_clients"
    # a deployment's parameters: every `ferry migrate` option by its field name, JSON types
    assert list(flow.parameters.properties) == [f.name for f in dataclasses.fields(RunOptions)]


@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_flow_runs_the_pipeline_as_prefect_tasks(prefect_harness, tmp_path):
    from prefect import get_client

    from flows.migrate import migrate_clients

    path = tmp_path / "clients.csv"
    path.write_text(ZENAMU, encoding="utf-8")
    summary = migrate_clients(file=str(path), tenant="studio", home=str(tmp_path / "home"), tags=["vip"])
    assert summary["status"] == "loaded"
    assert summary["rows"]["loaded"] == 1
    assert (tmp_path / "home" / "booking.db").exists()
    # every step is a task of the flow run, the gate too (it waits for its own process
    # in a thread while the load stages)
    from prefect.client.schemas.sorting import TaskRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(limit=200, sort=TaskRunSort.EXPECTED_START_TIME_DESC)
    steps = {run.name.rsplit("-", 1)[0] for run in runs if run.state and run.state.is_completed()}
    assert {"land", "transform", "gate", "load", "report"} <= steps
    assert len({run.flow_run_id for run in runs}) == 1
