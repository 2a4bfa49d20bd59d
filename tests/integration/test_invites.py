"""`ferry invites send` against a real SMTP server (aiosmtpd on a free port, started by the
suite) and real SQLite and PostgreSQL targets (docs/CONTRACT.md §13): what the recipients
get, in which language, exactly once; retries of 4xx replies, 5xx failures, skipped
clients, two relays at once, a relay killed mid-send, the evidence, bad arguments."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ferry.target.db import SCHEMA_VERSION
from tests.conftest import run_cli
from tests.invites_support import SmtpServer, bulk_target, free_port, make_target
from tests.target_fixtures import dump, scalar, sql

FERRY = str(Path(sys.executable).with_name("ferry"))
LINK = "https://book.example.com/register?email={email}&tenant={tenant}"
FROM = "Studio Praha <hello@studio.example>"
FAST = {"FERRY_INVITE_RETRY_DELAYS": "0.05,0.05,0.05", "FERRY_INVITE_CONNECT_DELAYS": "0.05"}


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)


def send(home, target, smtp_url, *args, tenant="studio"):
    """`ferry invites send --json` in this process: (exit code, counts or None, stderr)."""
    code, out, err = run_cli(
        "invites",
        "send",
        "--tenant",
        tenant,
        "--target",
        target,
        "--smtp",
        smtp_url,
        "--from",
        FROM,
        "--link",
        LINK,
        "--home",
        str(home),
        "--json",
        *args,
    )
    return code, (json.loads(out) if out.strip() else None), err


def relay(home, target, smtp_url, *args, tenant="studio") -> subprocess.Popen:
    """`ferry invites send` as a process of its own (a second relay, or one to kill)."""
    argv = [FERRY, "invites", "send", "--tenant", tenant, "--target", target, "--smtp", smtp_url]
    argv += ["--from", FROM, "--link", LINK, "--home", str(home), "--json", *args]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **FAST})


def states(url: str, tenant: str = "studio") -> dict[str, str]:
    return {
        r["email"]: r["status"] for r in sql(url, "SELECT email, status FROM invite_queue WHERE tenant = :t", t=tenant)
    }


# --------------------------------------------------------------------------- a real migration


CSV = (
    "name and surname,email,entries,credits,Language\n"
    "Jana Nováková,jana@example.com,10,250.5,\n"
    "Max Müller,max@example.com,3,0,Deutsch\n"
    "Émile Zola,emile@example.com,0,0,fr\n"
    "No Mail,,0,0,\n"
)


def test_a_migrated_tenant_is_invited_once_each_in_its_language(migrate, write_csv, home, smtp):
    run = migrate(write_csv(CSV))
    assert run.exit_code == 0, run.stderr
    assert run.summary["invites_queued"] == 3
    target = f"sqlite:///{home / 'booking.db'}"

    code, counts, err = send(home, target, smtp.url, "--language", "cs", "--reply-to", "office@studio.example")
    assert code == 0, err
    assert counts == {"sent": 3, "failed": 0, "skipped": 0, "pending": 0}
    got = {r.to: r for r in smtp.received}
    assert set(got) == {"jana@example.com", "max@example.com", "emile@example.com"}
    assert smtp.recipients() == {"jana@example.com": 1, "max@example.com": 1, "emile@example.com": 1}

    # the tenant's language (--language cs) unless the export says the client's own
    languages = {to: r.message["Content-Language"] for to, r in got.items()}
    assert languages == {"jana@example.com": "cs", "max@example.com": "de", "emile@example.com": "fr"}
    jana = got["jana@example.com"]
    msg = jana.message
    assert jana.mail_from == "hello@studio.example"
    assert msg["From"] == FROM and msg["To"] == "jana@example.com"
    assert msg["Reply-To"] == "office@studio.example"
    assert msg["Subject"] == "Studio Praha: čeká na vás váš zůstatek"
    assert msg["Date"] and msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@studio.example>")
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    link = "https://book.example.com/register?email=jana%40example.com&tenant=studio"
    assert link in text and link.replace("&", "&amp;") in html
    assert "vstupy: 10" in text and "kredit: 250,50" in text  # the balances, Czech numbers
    assert "<li>vstupy: 10</li>" in html and "Studio Praha" in text
    assert "Guten Tag Max" in got["max@example.com"].message.get_body(("plain",)).get_content()
    assert "Bonjour Émile" in got["emile@example.com"].message.get_body(("plain",)).get_content()

    rows = sql(target, "SELECT * FROM invite_queue ORDER BY id")
    assert {r["status"] for r in rows} == {"sent"}
    assert all(r["attempts"] == 1 and r["sent_at"] and r["last_error"] is None for r in rows)
    by_email = {r["email"]: r for r in rows}
    assert by_email["jana@example.com"]["message_id"] == msg["Message-ID"]

    # a second send sends nothing new
    code, counts, _ = send(home, target, smtp.url)
    assert (code, counts) == (0, {"sent": 0, "failed": 0, "skipped": 0, "pending": 0})
    assert len(smtp.received) == 3

    # and a rerun of the same file queues nothing, so there is nothing to send either
    assert migrate(write_csv(CSV)).summary["invites_queued"] == 0
    assert send(home, target, smtp.url)[1]["sent"] == 0


# --------------------------------------------------------------------------- retries and failures


def test_451_is_retried_and_delivered_550_fails_and_is_not_retried(target_url, tmp_path, smtp):
    make_target(
        target_url,
        "studio",
        [
            {"email": "later@example.com", "name": "Greylisted Person", "balances": {"entries": 2}},
            {"email": "gone@example.com", "name": "Gone Person"},
            {"email": "ok@example.com", "name": "Ok Person"},
        ],
    )
    smtp.handler.rcpt_script["later@example.com"] = ["451 4.7.1 greylisted, try again later"]
    smtp.handler.always_refuse["gone@example.com"] = "550 5.1.1 no such mailbox"
    home = tmp_path / "home"

    code, counts, err = send(home, target_url, smtp.url)
    assert code == 4, err  # not everything was delivered
    assert counts == {"sent": 2, "failed": 1, "skipped": 0, "pending": 0}
    assert "1 failed" in err
    assert smtp.recipients() == {"later@example.com": 1, "ok@example.com": 1}
    rows = {r["email"]: r for r in sql(target_url, "SELECT * FROM invite_queue")}
    assert rows["later@example.com"]["status"] == "sent" and rows["later@example.com"]["attempts"] == 2
    assert rows["gone@example.com"]["status"] == "failed" and rows["gone@example.com"]["attempts"] == 1
    assert "550 5.1.1 no such mailbox" in rows["gone@example.com"]["last_error"]
    outcomes = [
        (r["email"], r["outcome"]) for r in sql(target_url, "SELECT email, outcome FROM invite_sends ORDER BY id")
    ]
    assert outcomes == [
        ("later@example.com", "retry"),
        ("later@example.com", "sent"),
        ("gone@example.com", "failed"),
        ("ok@example.com", "sent"),
    ]

    # a failed invitation is not tried again by a plain send ...
    assert send(home, target_url, smtp.url)[:2] == (0, {"sent": 0, "failed": 0, "skipped": 0, "pending": 0})
    # ... only with --retry-failed: still refused, it stays failed, tried once more
    code, counts, _ = send(home, target_url, smtp.url, "--retry-failed")
    assert (code, counts["failed"]) == (4, 1)
    assert scalar(target_url, "SELECT attempts FROM invite_queue WHERE email = 'gone@example.com'") == 2
    # the mailbox exists now: --retry-failed delivers it
    del smtp.handler.always_refuse["gone@example.com"]
    code, counts, _ = send(home, target_url, smtp.url, "--retry-failed")
    assert (code, counts) == (0, {"sent": 1, "failed": 0, "skipped": 0, "pending": 0})
    assert states(target_url)["gone@example.com"] == "sent"
    assert smtp.recipients()["gone@example.com"] == 1


def test_a_4xx_that_outlasts_the_retries_leaves_the_invitation_pending(tmp_path, smtp):
    target = f"sqlite:///{tmp_path / 'booking.db'}"
    make_target(target, "studio", [{"email": "full@example.com", "name": "Full Box"}])
    smtp.handler.rcpt_script["full@example.com"] = ["452 4.2.2 mailbox full"] * 4
    code, counts, err = send(tmp_path / "home", target, smtp.url)
    assert (code, counts) == (4, {"sent": 0, "failed": 0, "skipped": 0, "pending": 1})
    assert "1 left pending after transient errors" in err
    row = sql(target, "SELECT * FROM invite_queue")[0]
    assert (row["status"], row["attempts"]) == ("pending", 4) and "452" in row["last_error"]
    # the next run delivers it
    assert send(tmp_path / "home", target, smtp.url)[:2] == (0, {"sent": 1, "failed": 0, "skipped": 0, "pending": 0})


def test_an_unreachable_server_sends_nothing_and_claims_nothing(tmp_path):
    target = f"sqlite:///{tmp_path / 'booking.db'}"
    make_target(target, "studio", [{"email": "a@example.com", "name": "A Person"}])
    code, counts, err = send(tmp_path / "home", target, f"smtp://127.0.0.1:{free_port()}")
    assert code == 4 and "cannot reach the SMTP server" in err
    assert counts == {"sent": 0, "failed": 0, "skipped": 0, "pending": 1}
    row = sql(target, "SELECT * FROM invite_queue")[0]
    assert (row["status"], row["attempts"], row["claimed_by"]) == ("pending", 0, None)


def test_registered_clients_and_withdrawn_invitations_are_skipped(target_url, tmp_path, smtp):
    make_target(
        target_url,
        "studio",
        [
            {"email": "reg@example.com", "name": "Registered Since"},
            {"email": "wd@example.com", "name": "Withdrawn One"},
            {"email": "new@example.com", "name": "New One"},
        ],
    )
    sql(target_url, "INSERT INTO accounts (email) VALUES ('REG@example.com')")  # registered in the app
    sql(target_url, "UPDATE invite_queue SET status = 'withdrawn' WHERE email = 'wd@example.com'")
    code, counts, err = send(tmp_path / "home", target_url, smtp.url)
    assert (code, counts) == (0, {"sent": 1, "failed": 0, "skipped": 1, "pending": 0}), err
    assert smtp.recipients() == {"new@example.com": 1}
    assert states(target_url) == {
        "reg@example.com": "withdrawn",
        "wd@example.com": "withdrawn",
        "new@example.com": "sent",
    }
    skipped = sql(target_url, "SELECT email, error FROM invite_sends WHERE outcome = 'skipped'")
    assert skipped == [{"email": "reg@example.com", "error": "the client has registered"}]


def test_only_the_tenants_invitations_and_at_most_limit(tmp_path, smtp):
    target = f"sqlite:///{tmp_path / 'booking.db'}"
    make_target(target, "studio", [{"email": f"s{i}@example.com", "name": f"S {i}"} for i in range(5)])
    make_target(target, "other", [{"email": "o@example.com", "name": "Other Tenant"}])
    code, counts, _ = send(tmp_path / "home", target, smtp.url, "--limit", "3")
    assert (code, counts) == (0, {"sent": 3, "failed": 0, "skipped": 0, "pending": 2})
    assert "o@example.com" not in smtp.recipients()
    assert states(target, "other") == {"o@example.com": "pending"}


def test_rate_spaces_the_messages(tmp_path, smtp):
    target = f"sqlite:///{tmp_path / 'booking.db'}"
    make_target(target, "studio", [{"email": f"r{i}@example.com", "name": f"R {i}"} for i in range(4)])
    started = time.monotonic()
    code, counts, _ = send(tmp_path / "home", target, smtp.url, "--rate", "600/min")  # one per 0.1 s
    assert code == 0 and counts["sent"] == 4
    assert time.monotonic() - started >= 0.3


# --------------------------------------------------------------------------- exactly once


def test_two_relays_over_1000_invitations_send_each_exactly_once(target_url, tmp_path, smtp):
    bulk_target(target_url, "studio", 1000)
    relays = [relay(tmp_path / "home", target_url, smtp.url) for _ in range(2)]
    results = []
    for p in relays:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    assert sum(r["sent"] for r in results) == 1000
    assert all(r["failed"] == 0 for r in results)
    received = smtp.recipients()
    assert len(received) == 1000 and set(received.values()) == {1}  # every client once
    assert sql(target_url, "SELECT status, count(*) AS n FROM invite_queue GROUP BY status") == [
        {"status": "sent", "n": 1000}
    ]
    assert scalar(target_url, "SELECT count(*) FROM invite_sends WHERE outcome = 'sent'") == 1000
    assert scalar(target_url, "SELECT count(DISTINCT invite_id) FROM invite_sends WHERE outcome = 'sent'") == 1000
    assert scalar(target_url, "SELECT count(DISTINCT message_id) FROM invite_queue") == 1000


def test_a_relay_killed_mid_send_is_resumed_by_the_next_after_its_lease(target_url, tmp_path, smtp):
    """The relay dies after the server accepted the 3rd message and before it recorded it
    (the one-message window, README): its claimed rows stay `sending` until the lease ends;
    a relay started meanwhile leaves them alone, the next one after the lease sends them,
    and only that one message was received twice — with the same Message-ID."""
    people = [{"email": f"k{i:02d}@example.com", "name": f"K {i}"} for i in range(30)]
    make_target(target_url, "studio", people)
    smtp.handler.hold_after = "k02@example.com"
    home = tmp_path / "home"
    first = relay(home, target_url, smtp.url, "--lease", "6")  # long enough for the checks below
    assert smtp.handler.holding.wait(30), first.stderr.read() if first.poll() is not None else "no hold"
    first.send_signal(signal.SIGKILL)
    first.wait()
    smtp.handler.release.set()

    st = states(target_url)
    assert [st[f"k{i:02d}@example.com"] for i in range(2)] == ["sent", "sent"]
    stranded = {e for e, s in st.items() if s == "sending"}
    assert "k02@example.com" in stranded and len(stranded) == 18  # the rest of its batch of 20
    # a relay started before the lease ran out sends the others, not the stranded ones
    code, counts, err = send(home, target_url, smtp.url)
    assert (code, counts["sent"]) == (0, 10), err
    assert {e for e, s in states(target_url).items() if s == "sending"} == stranded

    deadline = time.monotonic() + 30
    while (
        scalar(
            target_url,
            f"SELECT count(*) FROM invite_queue WHERE status = 'sending' AND lease_until < {_now(target_url)}",
        )
        < 18
    ):
        assert time.monotonic() < deadline, "the lease never ran out"
        time.sleep(0.2)
    code, counts, err = send(home, target_url, smtp.url)
    assert (code, counts) == (0, {"sent": 18, "failed": 0, "skipped": 0, "pending": 0}), err
    assert set(states(target_url).values()) == {"sent"}

    received = smtp.recipients()
    assert set(received) == {p["email"] for p in people}
    assert {e: n for e, n in received.items() if n > 1} == {"k02@example.com": 2}
    ids = {r.message["Message-ID"] for r in smtp.received if r.to == "k02@example.com"}
    assert len(ids) == 1  # a reader's mail client can tell it is the same message
    expired = sql(target_url, "SELECT email FROM invite_sends WHERE outcome = 'expired'")
    assert len(expired) == 18


def _now(url: str) -> str:
    return "now()" if url.startswith("postgres") else "datetime('now')"


# --------------------------------------------------------------------------- evidence


def test_every_send_is_evidence_in_the_run_folder_the_warehouse_and_runs_show(tmp_path, smtp):
    target = f"sqlite:///{tmp_path / 'booking.db'}"
    make_target(
        target, "studio", [{"email": "a@example.com", "name": "A Person"}, {"email": "b@example.com", "name": "B"}]
    )
    smtp.handler.always_refuse["b@example.com"] = "550 no"
    home = tmp_path / "home"
    code, _, _ = send(home, target, smtp.url)
    assert code == 4
    (folder,) = (home / "runs").iterdir()
    send_id = folder.name
    data = json.loads((folder / "send.json").read_text())
    assert data["counts"] == {"sent": 1, "failed": 1, "skipped": 0, "pending": 0, "deferred": 0}
    assert data["tenant"] == "studio" and data["channel"] == "smtp"

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT email, outcome, message_id IS NOT NULL FROM invites.sends WHERE send_id = ? ORDER BY invite_id",
            [send_id],
        ).fetchall()
        assert rows == [("a@example.com", "sent", True), ("b@example.com", "failed", True)]
        assert con.execute("SELECT sent, failed FROM invites.send_runs").fetchall() == [(1, 1)]
    finally:
        con.close()

    code, out, _ = run_cli("runs", "show", send_id, "--home", str(home))
    assert code == 0
    assert "1 sent, 1 failed" in out and "a@example.com" in out and "550 no" in out
    code, out, _ = run_cli("runs", "show", send_id, "--home", str(home), "--json")
    assert [s["outcome"] for s in json.loads(out)["sends"]] == ["sent", "failed"]
    # the migrations' history does not list a send
    assert json.loads(run_cli("runs", "--home", str(home), "--json")[1]) == []

    code, out, _ = run_cli("invites", "status", "--tenant", "studio", "--target", target, "--json")
    status = json.loads(out)
    assert status["counts"] == {"sent": 1, "failed": 1}
    assert [r["outcome"] for r in status["recent"]] == ["failed", "sent"]


def test_dry_run_renders_and_changes_nothing(target_url, tmp_path, smtp):
    make_target(target_url, "studio", [{"email": "a@example.com", "name": "A Person", "balances": {"credits": 5}}])
    before = dump(target_url, ("invite_queue",))
    code, out, err = run_cli(
        "invites", "send", "--tenant", "studio", "--target", target_url, "--smtp", smtp.url, "--from", FROM,
        "--link", LINK, "--home", str(tmp_path / "home"), "--dry-run", "--language", "de",
    )  # fmt: skip
    assert code == 0, err
    assert "1 would be sent" in out and "Guten Tag A" in out and "Guthaben: 5" in out
    assert smtp.received == []
    assert dump(target_url, ("invite_queue",)) == before
    assert not (tmp_path / "home" / "runs").exists()


# --------------------------------------------------------------------------- bad arguments, the target


@pytest.mark.parametrize(
    "args, message",
    [
        (["--language", "pl"], "--language pl"),
        (["--link", "https://x.example/r?u={user}"], "unknown placeholder {user}"),
        (["--link", "ftp://x.example/{email}"], "must start with https://"),
        (["--rate", "fast"], "--rate fast"),
        (["--from", "not an address"], "--from not an address"),
        (["--amqp", "amqp://guest:guest@127.0.0.1/"], "not both"),
    ],
)
def test_bad_arguments_are_exit_2_and_send_nothing(tmp_path, smtp, args, message):
    target = f"sqlite:///{tmp_path / 'booking.db'}"
    make_target(target, "studio", [{"email": "a@example.com", "name": "A Person"}])
    code, _, err = send(tmp_path / "home", target, smtp.url, *args)
    assert code == 2 and message in err
    assert smtp.received == [] and states(target) == {"a@example.com": "pending"}


def test_no_smtp_url_is_exit_2(tmp_path, monkeypatch):
    monkeypatch.delenv("FERRY_SMTP_URL", raising=False)
    monkeypatch.delenv("FERRY_AMQP_URL", raising=False)
    code, _, err = run_cli("invites", "send", "--tenant", "studio", "--target", f"sqlite:///{tmp_path / 'b.db'}")
    assert code == 2 and "--smtp" in err


def test_smtp_url_from_the_environment_and_its_password_never_shown(tmp_path, smtp, monkeypatch):
    target = f"sqlite:///{tmp_path / 'booking.db'}"
    make_target(target, "studio", [{"email": "a@example.com", "name": "A Person"}])
    monkeypatch.setenv("FERRY_SMTP_URL", f"smtp://mailer:s3cr%21t@127.0.0.1:{smtp.port}")
    home = tmp_path / "home"
    code, out, err = run_cli(
        "invites", "send", "--tenant", "studio", "--target", target, "--from", FROM, "--link", LINK, "--home", str(home)
    )
    # this test server offers no AUTH: the login cannot happen, nothing is sent
    assert code == 2 and "mailer:***@127.0.0.1" in err
    text = out + err + "".join(p.read_text() for p in home.rglob("*.json"))
    assert "s3cr" not in text
    assert states(target) == {"a@example.com": "pending"}


def test_a_missing_target_is_exit_3_and_not_created(tmp_path, smtp):
    path = tmp_path / "none.db"
    code, _, err = send(tmp_path / "home", f"sqlite:///{path}", smtp.url)
    assert code == 3 and "nothing to send" in err
    assert not path.exists()


def test_a_version_3_target_is_upgraded_in_place_and_keeps_its_invitations(target_url, tmp_path, smtp):
    make_target(target_url, "studio", [{"email": "old@example.com", "name": "Old Queue"}])
    sql(target_url, "DROP TABLE invite_sends")
    sql(target_url, "DROP INDEX invite_queue_claim")
    for column in ("attempts", "last_error", "sent_at", "message_id", "lease_until", "claimed_by"):
        sql(target_url, f"ALTER TABLE invite_queue DROP COLUMN {column}")
    sql(target_url, "DELETE FROM schema_version")
    sql(target_url, "INSERT INTO schema_version (version) VALUES (3)")
    code, counts, err = send(tmp_path / "home", target_url, smtp.url)
    assert (code, counts["sent"]) == (0, 1), err
    assert scalar(target_url, "SELECT max(version) FROM schema_version") == SCHEMA_VERSION
    row = sql(target_url, "SELECT status, attempts, message_id FROM invite_queue")[0]
    assert row["status"] == "sent" and row["attempts"] == 1 and row["message_id"]


def test_a_send_that_could_not_reach_the_warehouse_is_caught_up_by_the_next(tmp_path, smtp, monkeypatch):
    from ferry.warehouse import WarehouseLock

    target = f"sqlite:///{tmp_path / 'booking.db'}"
    make_target(target, "studio", [{"email": "a@example.com", "name": "A Person"}])
    home = tmp_path / "home"
    monkeypatch.setenv("FERRY_LOCK_TIMEOUT", "0.3")
    with WarehouseLock(home, "20261205T000000Z-abcdef", "someone"):  # a migration holds the warehouse
        assert send(home, target, smtp.url)[0] == 0
    (first,) = (home / "runs").iterdir()
    assert "warehouse_error" in json.loads((first / "send.json").read_text())
    make_target(target, "studio", [{"email": "b@example.com", "name": "B Person"}])
    assert send(home, target, smtp.url)[1]["sent"] == 1
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM invites.send_runs").fetchone() == (2,)
        assert sorted(con.execute("SELECT email, outcome FROM invites.sends").fetchall()) == [
            ("a@example.com", "sent"),
            ("b@example.com", "sent"),
        ]
    finally:
        con.close()


# --------------------------------------------------------------------------- TLS and logins


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # SMTPS: all of it is TLS
@pytest.mark.parametrize("scheme, implicit", [("smtp+starttls", False), ("smtp", False), ("smtps", True)])
def test_tls_and_login_from_the_url(tmp_path, scheme, implicit):
    """STARTTLS (required, or taken because the server offers it) and SMTPS, with the user
    and the URL-encoded password of the URL, checked against the certificate's CA."""
    from tests.invites_support import TlsSmtpServer

    server = TlsSmtpServer(tmp_path, implicit=implicit).start()
    try:
        target = f"sqlite:///{tmp_path / 'booking.db'}"
        make_target(target, "studio", [{"email": "a@example.com", "name": "A Person"}])
        url = f"{scheme}://mailer:p%40ss%3Aw0rd@127.0.0.1:{server.port}?cafile={server.cert}"
        code, counts, err = send(tmp_path / "home", target, url)
        assert (code, counts["sent"]) == (0, 1), err
        assert server.logins == [("mailer", True)] and server.recipients() == {"a@example.com": 1}
        # a wrong password: exit 2, nothing claimed, the password nowhere
        make_target(target, "studio", [{"email": "b@example.com", "name": "B Person"}])
        bad = url.replace("w0rd", "wr0ng")
        code, counts, err = send(tmp_path / "home", target, bad)
        assert code == 2 and "refused the login" in err and "wr0ng" not in err and "p%40ss" not in err
        assert states(target)["b@example.com"] == "pending"
    finally:
        server.stop()


def test_a_certificate_nobody_vouches_for_is_refused(tmp_path):
    from tests.invites_support import TlsSmtpServer

    server = TlsSmtpServer(tmp_path, implicit=False).start()
    try:
        target = f"sqlite:///{tmp_path / 'booking.db'}"
        make_target(target, "studio", [{"email": "a@example.com", "name": "A Person"}])
        url = f"smtp+starttls://mailer:p%40ss%3Aw0rd@127.0.0.1:{server.port}"
        code, _, err = send(tmp_path / "home", target, url)
        assert code == 2 and "certificate" in err
        assert server.received == [] and states(target) == {"a@example.com": "pending"}
        code, counts, _ = send(tmp_path / "home", target, url + "?verify=false")
        assert (code, counts["sent"]) == (0, 1)
    finally:
        server.stop()


def test_a_queue_row_with_a_broken_address_fails_without_a_message(tmp_path, smtp):
    """The booking app may write the queue too: a line break in an address never becomes a header."""
    target = f"sqlite:///{tmp_path / 'booking.db'}"
    make_target(target, "studio", [{"email": "ok@example.com", "name": "Ok Person"}])
    make_target(target, "studio", [{"email": "x@example.com\r\nBcc: all@example.com", "name": "Evil Row"}])
    code, counts, _ = send(tmp_path / "home", target, smtp.url)
    assert (code, counts["sent"], counts["failed"]) == (4, 1, 1)
    assert smtp.recipients() == {"ok@example.com": 1}
    assert all("Bcc" not in r.message for r in smtp.received)


def test_sigterm_finishes_the_message_in_flight_and_gives_the_rest_back(tmp_path, smtp):
    """A cancelled Prefect run or `kill`: the message being sent is recorded `sent`, the rest
    of the batch is `pending` again at once (no lease to wait for), exit 4."""
    target = f"sqlite:///{tmp_path / 'booking.db'}"
    make_target(target, "studio", [{"email": f"t{i:02d}@example.com", "name": f"T {i}"} for i in range(10)])
    smtp.handler.hold_after = "t02@example.com"
    proc = relay(tmp_path / "home", target, smtp.url)
    assert smtp.handler.holding.wait(30)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    smtp.handler.release.set()  # the server answers 250 to the message in flight
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 4 and "SIGTERM" in err
    assert json.loads(out) == {"sent": 3, "failed": 0, "skipped": 0, "pending": 7}
    st = states(target)
    assert [st[f"t{i:02d}@example.com"] for i in range(3)] == ["sent"] * 3
    assert sorted(set(st.values())) == ["pending", "sent"]
    assert smtp.recipients() == {f"t{i:02d}@example.com": 1 for i in range(3)}
