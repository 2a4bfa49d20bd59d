"""Where invitations go: an SMTP server, or a RabbitMQ exchange for booking systems that
send their own mail (docs/CONTRACT.md §13).

A channel delivers one invitation at a time and says how a failure should be treated:
- `Transient`: a 4xx reply, a dropped connection, a broker's nack: try again (the relay backs
  off and retries within the run, then leaves the invitation pending);
- `Permanent`: a 5xx reply for this recipient or message: the invitation ends `failed`;
- `Fatal`: nothing will get through this run (credentials or sender refused, TLS missing,
  no queue bound to the exchange): the relay stops and gives back what it claimed.
URLs are shown only through `redact_url`; a password never reaches a message or a log.
"""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import Message
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

from ferry.config import redact_url
from ferry.errors import InputError
from ferry.invites.render import wire_bytes


class DeliveryError(Exception):
    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class Transient(DeliveryError):
    """Worth another try: the invitation stays deliverable."""


class Permanent(DeliveryError):
    """This invitation will never be accepted as it is: it ends `failed`."""


class Fatal(DeliveryError):
    """Nothing gets through this run; `exit_code` is 2 when the arguments are at fault."""

    def __init__(self, message: str, exit_code: int = 4):
        super().__init__(message)
        self.exit_code = exit_code


LOOPBACK = ("localhost", "127.0.0.1", "::1")
SMTP_SCHEMES = {"smtp": (25, "opportunistic"), "smtp+starttls": (587, "starttls"), "smtps": (465, "tls")}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str  # "opportunistic" | "starttls" | "tls" | "none"
    user: str | None
    password: str | None
    timeout: float
    cafile: str | None
    verify: bool
    helo: str | None
    shown: str  # the URL without its password


def _flag(query: dict, name: str, default: bool) -> bool:
    value = query.get(name, [None])[0]
    if value is None:
        return default
    return value.lower() not in ("0", "false", "no", "off")


def parse_smtp_url(url: str) -> SmtpSettings:
    """smtp://[user:password@]host[:port] (STARTTLS when the server offers it),
    smtp+starttls://… (STARTTLS required, port 587), smtps://… (TLS from the start, port 465).
    Query: ?tls=none (plain, never STARTTLS), ?cafile=PATH, ?verify=false, ?timeout=S, ?helo=NAME."""
    shown = redact_url(url)
    parts = urlsplit(url)
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise InputError(f"--smtp {shown}: write smtp://host[:port], smtp+starttls://host or smtps://host")
    port, tls = SMTP_SCHEMES[parts.scheme]
    try:
        port = parts.port or port
    except ValueError:
        raise InputError(f"--smtp {shown}: the port is not a number") from None
    query = parse_qs(parts.query)
    if query.get("tls", [""])[0].lower() == "none":
        if parts.scheme != "smtp":
            raise InputError(f"--smtp {shown}: tls=none goes only with smtp://")
        tls = "none"
    try:
        timeout = float(query.get("timeout", ["30"])[0])
    except ValueError:
        raise InputError(f"--smtp {shown}: timeout is a number of seconds") from None
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        tls=tls,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
        cafile=query.get("cafile", [None])[0],
        verify=_flag(query, "verify", True),
        helo=query.get("helo", [None])[0],
        shown=shown,
    )


def _tls_context(s: SmtpSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=s.cafile)
    if not s.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(str(text).split())}"


class SmtpChannel:
    """One SMTP session kept open across messages, opened again after a drop."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings, envelope_from: str):
        self.s = settings
        self.envelope_from = parseaddr(envelope_from)[1]
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        s = self.s
        helo = s.helo or socket.gethostname() or "localhost"
        try:
            if s.tls == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, local_hostname=helo, context=_tls_context(s))
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout, local_hostname=helo)
            try:
                smtp.ehlo()
                if s.tls == "starttls" or (s.tls == "opportunistic" and smtp.has_extn("starttls")):
                    if not smtp.has_extn("starttls"):
                        raise Fatal(f"the SMTP server {s.shown} does not offer STARTTLS", exit_code=2)
                    smtp.starttls(context=_tls_context(s))
                    smtp.ehlo()
                if s.user:
                    encrypted = isinstance(smtp.sock, ssl.SSLSocket)
                    if not encrypted and s.host not in LOOPBACK:
                        raise Fatal(
                            f"the SMTP server {s.shown} offers no TLS: Ferry sends a password only "
                            "over an encrypted connection (or to a relay on this machine)",
                            exit_code=2,
                        )
                    smtp.login(s.user, s.password or "")
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise Fatal(
                f"the SMTP server {s.shown} refused the login ({_reply(exc.smtp_code, exc.smtp_error)})", 2
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise Fatal(
                f"the SMTP server {s.shown}: its TLS certificate was not accepted ({exc.verify_message})", 2
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise Fatal(f"the SMTP server {s.shown}: {exc}", 2) from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise Transient(f"{s.shown}: {_reply(exc.smtp_code, exc.smtp_error)}", exc.smtp_code) from None
            raise Fatal(
                f"the SMTP server {s.shown} refused the session ({_reply(exc.smtp_code, exc.smtp_error)})"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise Transient(f"cannot reach the SMTP server {s.shown}: {exc or type(exc).__name__}") from None
        self.smtp = smtp

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def deliver(self, msg: Message, recipient: str, payload: dict | None = None) -> None:
        if self.smtp is None:
            self.open()
        try:
            if recipient.isascii() and self.envelope_from.isascii():
                self.smtp.sendmail(self.envelope_from, [recipient], wire_bytes(msg))
            else:  # SMTPUTF8
                self.smtp.send_message(msg, from_addr=self.envelope_from, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._raise_for(code, text, "the recipient")
        except smtplib.SMTPSenderRefused as exc:
            if 400 <= exc.smtp_code < 500:
                raise Transient(_reply(exc.smtp_code, exc.smtp_error), exc.smtp_code) from None
            self.close()
            raise Fatal(
                f"the SMTP server {self.s.shown} refused the sender {self.envelope_from} "
                f"({_reply(exc.smtp_code, exc.smtp_error)})",
                exit_code=2,
            ) from None
        except smtplib.SMTPDataError as exc:
            self._raise_for(exc.smtp_code, exc.smtp_error, "the message")
        except smtplib.SMTPServerDisconnected as exc:
            self.smtp = None
            raise Transient(f"the SMTP server closed the connection ({exc or 'disconnected'})") from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            if 400 <= exc.smtp_code < 500 or exc.smtp_code == 421:
                raise Transient(_reply(exc.smtp_code, exc.smtp_error), exc.smtp_code) from None
            raise Permanent(_reply(exc.smtp_code, exc.smtp_error), exc.smtp_code) from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise Transient(f"the connection to the SMTP server failed ({exc or type(exc).__name__})") from None

    def _raise_for(self, code: int, text, what: str) -> None:
        if code == 421:  # the server is closing the session
            self.close()
        if 400 <= code < 500:
            raise Transient(_reply(code, text), code)
        raise Permanent(f"{what} was refused: {_reply(code, text)}", code)


# --------------------------------------------------------------------------- AMQP


@dataclass(frozen=True)
class AmqpSettings:
    url: str  # for pika, without Ferry's own query parameters
    exchange: str
    routing_key: str  # may hold {tenant} and {language}
    declare: bool
    shown: str


def parse_amqp_url(url: str) -> AmqpSettings:
    """amqp[s]://user:password@host[:port]/[vhost]?exchange=NAME&routing_key=KEY&declare=false;
    the rest of the query goes to pika (heartbeat, connection_attempts, …)."""
    shown = redact_url(url)
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        raise InputError(f"--amqp {shown}: write amqp://user:password@host:5672/vhost")
    query = parse_qs(parts.query)
    exchange = query.pop("exchange", ["ferry.invitations"])[0]
    routing_key = query.pop("routing_key", ["invitation.{tenant}.{language}"])[0]
    declare = query.pop("declare", ["true"])[0].lower() not in ("0", "false", "no", "off")
    rest = urlunsplit(parts._replace(query=urlencode({k: v[0] for k, v in query.items()})))
    return AmqpSettings(rest, exchange, routing_key, declare, shown)


class AmqpChannel:
    """Publishes one persistent JSON message per invitation to an exchange, with publisher
    confirms: an invitation is `sent` only once the broker has confirmed the message (and
    routed it to a queue: it is published `mandatory`)."""

    name = "amqp"

    def __init__(self, settings: AmqpSettings):
        self.s = settings
        self.connection = None
        self.channel = None

    def open(self) -> None:
        import pika
        import pika.exceptions as px

        try:
            self.connection = pika.BlockingConnection(pika.URLParameters(self.s.url))
            channel = self.connection.channel()
            if self.s.declare:
                channel.exchange_declare(self.s.exchange, exchange_type="topic", durable=True)
            channel.confirm_delivery()
            self.channel = channel
        except (px.ProbableAuthenticationError, px.ProbableAccessDeniedError) as exc:
            self.close()
            raise Fatal(f"the broker {self.s.shown} refused the login ({type(exc).__name__})", 2) from None
        except px.ChannelClosedByBroker as exc:
            self.close()
            raise Fatal(f"the broker {self.s.shown}: exchange {self.s.exchange}: {exc.reply_text}", 2) from None
        except (px.AMQPError, OSError) as exc:
            self.close()
            raise Transient(f"cannot reach the broker {self.s.shown}: {exc!r}") from None

    def close(self) -> None:
        connection, self.connection, self.channel = self.connection, None, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                pass

    def deliver(self, msg: Message, recipient: str, payload: dict | None = None) -> None:
        import pika
        import pika.exceptions as px

        if self.channel is None:
            self.open()
        routing_key = self.s.routing_key.format(tenant=payload["tenant"], language=payload["language"])
        properties = pika.BasicProperties(
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=payload["message_id"],
            app_id="ferry",
            type="ferry.invitation",
            headers={"tenant": payload["tenant"], "language": payload["language"]},
        )
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.channel.basic_publish(self.s.exchange, routing_key, body, properties, mandatory=True)
        except px.UnroutableError:
            raise Fatal(
                f"the broker {self.s.shown} routes nothing from exchange {self.s.exchange} with key "
                f"{routing_key}: bind a queue to it; the invitations stay pending"
            ) from None
        except px.NackError:
            raise Transient(f"the broker {self.s.shown} did not accept the message (nack)") from None
        except px.ChannelClosedByBroker as exc:
            self.close()
            raise Fatal(f"the broker {self.s.shown} closed the channel: {exc.reply_code} {exc.reply_text}", 2) from None
        except (px.AMQPError, OSError) as exc:
            self.close()
            raise Transient(f"the connection to the broker {self.s.shown} failed ({exc!r})") from None
