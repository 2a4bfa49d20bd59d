"""A real SMTP server for the invitation tests (aiosmtpd on a free port, in a thread of the
test process) that records what it accepts and can answer a recipient with scripted
replies (451, then 250; always 550), and a target holding pending invitations."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

from ferry.target.db import ensure_schema, parse_target
from tests.target_fixtures import sql


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    # recipient -> replies to give its RCPT, one per try (then 250); "550 …" stays forever
    rcpt_script: dict[str, list[str]] = field(default_factory=dict)
    always_refuse: dict[str, str] = field(default_factory=dict)
    # after accepting a message to this recipient, hold the reply until `release` is set
    hold_after: str | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.always_refuse:
            return self.always_refuse[address]
        script = self.rcpt_script.get(address)
        if script:
            return script.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        if self.hold_after and self.hold_after in envelope.rcpt_tos:
            self.holding.set()
            while not self.release.is_set():  # the relay dies here: accepted, 250 never read
                await _sleep(0.05)
        return "250 Message accepted for delivery"


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self):
        self.handler = Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def recipients(self) -> Counter:
        return Counter(r.to for r in self.received)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.handler.release.set()
        self.controller.stop()

    def wait_for(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)


def make_target(url: str, tenant: str, people: list[dict]) -> list[int]:
    """Clients with pending invitations, inserted as a load leaves them: each person is
    {"email", "name", "balances": {kind: amount}, "extra": {...}}; returns invitation ids."""
    ensure_schema(parse_target(url))
    ids = []
    for p in people:
        first = p.get("first_name", p["name"].split(" ")[0])
        sql(
            url,
            """INSERT INTO clients (tenant, full_name, first_name, email, extra)
               VALUES (:tenant, :name, :first, :email, :extra)""",
            tenant=tenant,
            name=p["name"],
            first=first,
            email=p["email"],
            extra=__import__("json").dumps(p.get("extra", {})),
        )
        client_id = sql(url, "SELECT max(id) AS id FROM clients")[0]["id"]
        for kind, amount in p.get("balances", {}).items():
            sql(
                url,
                "INSERT INTO balances (tenant, client_id, kind, amount, tier) VALUES (:t, :c, :k, :a, :tier)",
                t=tenant,
                c=client_id,
                k=kind,
                a=amount if not isinstance(amount, tuple) else amount[0],
                tier=None if not isinstance(amount, tuple) else amount[1],
            )
        sql(
            url,
            "INSERT INTO invite_queue (tenant, client_id, email, status) VALUES (:t, :c, :e, 'pending')",
            t=tenant,
            c=client_id,
            e=p["email"],
        )
        ids.append(sql(url, "SELECT max(id) AS id FROM invite_queue")[0]["id"])
    return ids


def bulk_target(url: str, tenant: str, n: int) -> None:
    """n clients c<i>@example.com with 5 entries each and a pending invitation (set-based)."""
    ensure_schema(parse_target(url))
    series = (
        "generate_series(1, :n) AS g(i)"
        if url.startswith("postgres")
        else "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) SELECT i FROM s) AS g"
    )
    sql(
        url,
        f"""INSERT INTO clients (tenant, full_name, first_name, email)
            SELECT :t, 'Client ' || i, 'Client', 'c' || i || '@example.com' FROM {series}""",
        t=tenant,
        n=n,
    )
    sql(
        url,
        """INSERT INTO balances (tenant, client_id, kind, amount)
           SELECT tenant, id, 'entries', 5 FROM clients WHERE tenant = :t""",
        t=tenant,
    )
    sql(
        url,
        """INSERT INTO invite_queue (tenant, client_id, email, status)
           SELECT tenant, id, email, 'pending' FROM clients WHERE tenant = :t ORDER BY id""",
        t=tenant,
    )


def self_signed(folder) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key (PEM files), for the TLS tests."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


class TlsSmtpServer(SmtpServer):
    """STARTTLS required and AUTH required (`implicit=False`), or TLS from the first byte
    (`implicit=True`); accepts user `mailer` with password `p@ss:w0rd`."""

    USER, PASSWORD = "mailer", "p@ss:w0rd"

    def __init__(self, folder, implicit: bool):
        import ssl

        from aiosmtpd.smtp import AuthResult

        self.handler = Handler()
        self.port = free_port()
        self.cert, key = self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.logins: list[tuple[str, bool]] = []

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = (auth_data.login.decode(), auth_data.password.decode()) == (self.USER, self.PASSWORD)
            self.logins.append((auth_data.login.decode(), ok))
            return AuthResult(success=ok, handled=False)

        common = {"authenticator": authenticate, "auth_required": True, "hostname": "127.0.0.1", "port": self.port}
        if implicit:
            # aiosmtpd advertises AUTH only after STARTTLS unless told the connection is TLS already
            self.controller = Controller(self.handler, ssl_context=context, auth_require_tls=False, **common)
        else:
            self.controller = Controller(self.handler, tls_context=context, require_starttls=True, **common)
