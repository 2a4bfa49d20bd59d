"""The Prefect flow `send_invitations` and its `send-invitations` deployment (docs/CONTRACT.md
§13): the same relay as the CLI, one log line per invitation, evidence, final states."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.invites_support import SmtpServer, make_target
from tests.target_fixtures import sql

REPO = Path(__file__).resolve().parents[2]


def test_the_deployment_is_declared_and_its_entrypoint_is_the_flow():
    deployments = {d["name"]: d for d in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]}
    entry = deployments["send-invitations"]["entrypoint"]
    assert deployments["send-invitations"]["work_pool"]["name"] == "ferry"
    from prefect.flows import load_flow_from_entrypoint

    flow = load_flow_from_entrypoint(str(REPO / entry))  # as a worker loads it
    assert flow.name == "send_invitations"
    assert {"tenant", "target", "smtp", "amqp", "from_addr", "link", "rate", "limit", "language"} <= set(
        flow.parameters.properties
    )


@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_the_flow_sends_once_and_fails_when_not_everything_went(prefect_harness, tmp_path, monkeypatch):
    from flows.invites import send_invitations_flow

    monkeypatch.setenv("FERRY_INVITE_RETRY_DELAYS", "0.05")
    server = SmtpServer().start()
    try:
        target = f"sqlite:///{tmp_path / 'booking.db'}"
        make_target(target, "studio", [{"email": "a@example.com", "name": "A Person"}])
        params = {
            "tenant": "studio",
            "target": target,
            "smtp": server.url,
            "from_addr": "Studio <hi@studio.example>",
            "link": "https://book.example.com/r?e={email}",
            "home": str(tmp_path / "home"),
        }
        counts = send_invitations_flow(**params)
        assert counts == {"sent": 1, "failed": 0, "skipped": 0, "pending": 0}
        assert server.recipients() == {"a@example.com": 1}
        assert len(list((tmp_path / "home" / "runs").iterdir())) == 1  # the send's evidence

        make_target(target, "studio", [{"email": "b@example.com", "name": "B Person"}])
        server.handler.always_refuse["b@example.com"] = "550 no such user"
        state = send_invitations_flow(**params, return_state=True)
        assert state.is_failed() and "1 failed" in state.message
        assert server.recipients() == {"a@example.com": 1}
        assert sql(target, "SELECT status FROM invite_queue ORDER BY id") == [{"status": "sent"}, {"status": "failed"}]
    finally:
        server.stop()
