"""`ferry invites send --amqp` against the local RabbitMQ (FERRY_TEST_AMQP_URL; skipped when
it is unset, as PostgreSQL's tests are): one persistent JSON message per invitation,
confirmed by the broker, through the same states as mail (docs/CONTRACT.md §13)."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from tests.conftest import run_cli
from tests.invites_support import make_target
from tests.target_fixtures import sql

AMQP_URL = os.environ.get("FERRY_TEST_AMQP_URL")
pytestmark = pytest.mark.skipif(not AMQP_URL, reason="FERRY_TEST_AMQP_URL not set")
LINK = "https://book.example.com/register?email={email}&tenant={tenant}"


@pytest.fixture
def broker():
    """A fresh exchange with one queue bound to it; yields (exchange, channel, queue)."""
    import pika

    exchange = f"ferry.test.{uuid.uuid4().hex[:8]}"
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, routing_key="invitation.#")
    try:
        yield exchange, channel, queue
    finally:
        channel.exchange_delete(exchange)
        connection.close()


def drain(channel, queue) -> list[tuple]:
    out = []
    while True:
        method, props, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append((method, props, json.loads(body)))


def send(target, exchange, *args):
    url = f"{AMQP_URL}{'&' if '?' in AMQP_URL else '?'}exchange={exchange}"
    code, out, err = run_cli(
        "invites", "send", "--tenant", "studio", "--target", target, "--amqp", url, "--link", LINK,
        "--from", "Studio Praha <hello@studio.example>", "--json", *args,
    )  # fmt: skip
    return code, (json.loads(out) if out.strip() else None), err


def test_one_confirmed_persistent_message_per_invitation_and_never_a_second(target_url, tmp_path, broker):
    exchange, channel, queue = broker
    make_target(
        target_url,
        "studio",
        [
            {"email": "jana@example.com", "name": "Jana Nováková", "balances": {"entries": 4}},
            {"email": "max@example.com", "name": "Max Müller", "extra": {"language": "de-AT"}},
        ],
    )
    code, counts, err = send(target_url, exchange, "--home", str(tmp_path / "home"))
    assert (code, counts) == (0, {"sent": 2, "failed": 0, "skipped": 0, "pending": 0}), err
    messages = drain(channel, queue)
    assert len(messages) == 2
    by_email = {body["email"]: (method, props, body) for method, props, body in messages}
    method, props, body = by_email["jana@example.com"]
    assert props.delivery_mode == 2 and props.content_type == "application/json"
    assert method.routing_key == "invitation.studio.en"
    assert body["tenant"] == "studio" and body["business"] == "Studio Praha" and body["language"] == "en"
    assert body["balances"] == [{"kind": "entries", "card_template": None, "amount": 4.0, "tier": None}]
    assert body["link"] == "https://book.example.com/register?email=jana%40example.com&tenant=studio"
    assert "entries: 4" in body["text"] and body["subject"].startswith("Studio Praha")
    assert by_email["max@example.com"][2]["language"] == "de"
    rows = {r["email"]: r for r in sql(target_url, "SELECT * FROM invite_queue")}
    assert props.message_id == body["message_id"] == rows["jana@example.com"]["message_id"]
    assert {r["status"] for r in rows.values()} == {"sent"}
    assert {r["channel"] for r in sql(target_url, "SELECT channel FROM invite_sends")} == {"amqp"}

    code, counts, _ = send(target_url, exchange, "--home", str(tmp_path / "home"))
    assert (code, counts["sent"]) == (0, 0)
    assert drain(channel, queue) == []


def test_an_exchange_no_queue_listens_to_keeps_the_invitations_pending(tmp_path, broker):
    exchange, channel, _ = broker
    lonely = f"{exchange}.lonely"  # declared by Ferry, nothing bound to it
    target = f"sqlite:///{tmp_path / 'booking.db'}"
    make_target(target, "studio", [{"email": "a@example.com", "name": "A Person"}])
    try:
        code, counts, err = send(target, lonely, "--home", str(tmp_path / "home"))
        assert code == 4 and "bind a queue" in err
        assert counts == {"sent": 0, "failed": 0, "skipped": 0, "pending": 1}
        assert sql(target, "SELECT status, claimed_by FROM invite_queue") == [{"status": "pending", "claimed_by": None}]
    finally:
        channel.exchange_delete(lonely)


def test_a_broker_that_refuses_the_login_is_exit_2_and_the_password_is_not_shown(tmp_path):
    target = f"sqlite:///{tmp_path / 'booking.db'}"
    make_target(target, "studio", [{"email": "a@example.com", "name": "A Person"}])
    code, out, err = run_cli(
        "invites", "send", "--tenant", "studio", "--target", target, "--link", LINK, "--home", str(tmp_path / "h"),
        "--amqp", "amqp://guest:wrong-s3cret@127.0.0.1:5672/%2F",
    )  # fmt: skip
    assert code == 2 and "refused the login" in err
    assert "s3cret" not in out + err
    assert sql(target, "SELECT status FROM invite_queue") == [{"status": "pending"}]
