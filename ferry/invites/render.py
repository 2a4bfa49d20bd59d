"""Rendering one invitation: the language it is written in, its registration link, and the
multipart text + HTML message (docs/CONTRACT.md §13).

Templates are data, one TOML file per language in `ferry/invites/templates/` (shipped in
the wheel): subject, text and HTML bodies with `${...}` placeholders (string.Template) and
the names of the balance kinds. Values put into the HTML body are escaped; values put into
the link are URL-encoded.
"""

from __future__ import annotations

import html
import json
import re
import string
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, parseaddr
from functools import cache
from importlib import resources
from urllib.parse import quote

from ferry.errors import InputError

LANGUAGES = ("en", "de", "fr", "es", "cs")
DEFAULT_LANGUAGE = "en"
LINK_FIELDS = ("email", "tenant", "invite", "client", "language")

# A client's own language, when the export carried one: a column of `extra` with one of
# these names (compared lower-cased), holding a code (de, de-AT, de_CH) or a language name.
LANGUAGE_KEYS = ("language", "lang", "locale", "sprache", "langue", "idioma", "jazyk", "język", "jezyk", "lingua")
LANGUAGE_NAMES = {
    "english": "en",
    "englisch": "en",
    "anglais": "en",
    "inglés": "en",
    "ingles": "en",
    "angličtina": "en",
    "german": "de",
    "deutsch": "de",
    "allemand": "de",
    "alemán": "de",
    "aleman": "de",
    "němčina": "de",
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "französisch": "fr",
    "francés": "fr",
    "frances": "fr",
    "francouzština": "fr",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "spanisch": "es",
    "espagnol": "es",
    "španělština": "es",
    "czech": "cs",
    "čeština": "cs",
    "cestina": "cs",
    "česky": "cs",
    "tschechisch": "cs",
    "tchèque": "cs",
    "checo": "cs",
    "cz": "cs",
}


@dataclass(frozen=True)
class Balance:
    kind: str
    card_template: str | None
    amount: Decimal
    tier: str | None


@dataclass(frozen=True)
class Invitation:
    """What one message is made of: the queue row, its client and the client's balances."""

    invite_id: int
    tenant: str
    email: str
    client_id: int | None = None
    full_name: str | None = None
    first_name: str | None = None
    extra: str | None = None  # the client's `extra` JSON text
    balances: tuple[Balance, ...] = ()
    message_id: str | None = None


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    text: str
    html: str
    link: str


@cache
def template(language: str) -> dict:
    path = resources.files("ferry.invites").joinpath("templates", f"{language}.toml")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def check_language(language: str | None) -> str:
    """The tenant's default language: `--language`, else English; exit 2 for one not shipped."""
    if language is None:
        return DEFAULT_LANGUAGE
    code = language.strip().lower().replace("_", "-").split("-", 1)[0]
    if code not in LANGUAGES:
        raise InputError(f"--language {language}: invitations are written in {', '.join(LANGUAGES)}")
    return code


def client_language(extra: str | None, default: str) -> str:
    """The client's language from an export column kept in `extra` (see LANGUAGE_KEYS),
    when it names one of the shipped languages; else the tenant's default."""
    if not extra:
        return default
    try:
        values = json.loads(extra)
    except ValueError:
        return default
    if not isinstance(values, dict):
        return default
    for key, value in values.items():
        if str(key).strip().lower() in LANGUAGE_KEYS and isinstance(value, str):
            word = value.strip().lower()
            code = LANGUAGE_NAMES.get(word) or re.split(r"[-_ ]", word, maxsplit=1)[0]
            if code in LANGUAGES:
                return code
    return default


def check_link(link: str | None) -> str:
    """The registration link template: http(s), placeholders from LINK_FIELDS only (exit 2)."""
    if not link:
        raise InputError(
            "--link is needed: the registration link of the booking system, e.g. "
            "'https://book.example.com/register?email={email}&tenant={tenant}' (or FERRY_INVITE_LINK)"
        )
    if not re.match(r"https?://[^/{}\s]+", link):
        raise InputError(f"--link {link}: the registration link must start with https:// (or http://) and a host")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(link) if name is not None}
    except ValueError as exc:
        raise InputError(f"--link {link}: {exc}") from None
    unknown = sorted(fields - set(LINK_FIELDS))
    if unknown:
        raise InputError(
            f"--link {link}: unknown placeholder {{{unknown[0]}}}; use {', '.join('{' + f + '}' for f in LINK_FIELDS)}"
        )
    return link


def build_link(link: str, invitation: Invitation, language: str) -> str:
    values = {
        "email": invitation.email,
        "tenant": invitation.tenant,
        "invite": invitation.invite_id,
        "client": "" if invitation.client_id is None else invitation.client_id,
        "language": language,
    }
    return link.format(**{k: quote(str(v), safe="") for k, v in values.items()})


def format_amount(amount: Decimal, decimal_mark: str) -> str:
    value = Decimal(amount)
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value.quantize(Decimal('0.01'))}".replace(".", decimal_mark)


def balance_lines(balances: tuple[Balance, ...], strings: dict) -> list[str]:
    """One line per positive balance (and per membership, which holds a tier, not an amount)."""
    lines = []
    for b in balances:
        label = strings["kinds"].get(b.kind, b.kind)
        if b.card_template and b.card_template != b.kind:
            label = f"{label} ({b.card_template})"
        if b.kind in ("membership", "discount_spend"):
            lines.append(f"{label}: {b.tier}" if b.tier else label)
        elif b.amount > 0:
            lines.append(f"{label}: {format_amount(b.amount, strings['decimal_mark'])}")
    return lines


def render(invitation: Invitation, language: str, business: str, link: str) -> Rendered:
    strings = template(language)
    url = build_link(link, invitation, language)
    name = (invitation.first_name or invitation.full_name or "").strip()
    greeting = f" {name}" if name and strings.get("greeting_uses_name", True) else ""
    lines = balance_lines(invitation.balances, strings)
    intro = string.Template(strings["balances_intro"])
    values = {"business": business, "email": invitation.email, "link": url, "greeting_name": greeting}
    text_balances = ""
    html_balances = ""
    if lines:
        text_balances = intro.safe_substitute(business=business) + "\n" + "".join(f"  - {x}\n" for x in lines)
        html_balances = (
            f"<p>{html.escape(intro.safe_substitute(business=business))}</p>\n<ul>\n"
            + "".join(f"  <li>{html.escape(x)}</li>\n" for x in lines)
            + "</ul>"
        )
    subject = string.Template(strings["subject" if lines else "subject_no_balance"]).safe_substitute(values)
    text = string.Template(strings["text"]).safe_substitute(values, balances=text_balances).strip() + "\n"
    escaped = {k: html.escape(v, quote=True) for k, v in values.items()}
    body = string.Template(strings["html"]).safe_substitute(escaped, balances=html_balances).strip()
    page = (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )
    return Rendered(language=language, subject=" ".join(subject.split()), text=text, html=page, link=url)


def sender_domain(from_addr: str) -> str:
    return parseaddr(from_addr)[1].rpartition("@")[2] or "localhost"


def business_from(from_addr: str | None, tenant: str) -> str:
    """The business's name: the display name of `--from` ("Studio Prague <hi@studio.cz>"),
    else the tenant."""
    name = parseaddr(from_addr or "")[0].strip()
    return name or tenant


def check_address(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    name, addr = parseaddr(value)
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", addr or ""):
        raise InputError(
            f"{what} {value}: not an e-mail address (write it as hello@studio.cz or 'Studio <hello@studio.cz>')"
        )
    return formataddr((name, addr)) if name else addr


def _header(value: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8", header_name="Subject")


def _address(value: str) -> str:
    name, addr = parseaddr(value)
    return formataddr((name, addr)) if name else addr  # formataddr encodes a non-ASCII name


def message(
    invitation: Invitation,
    rendered: Rendered,
    *,
    from_addr: str,
    reply_to: str | None,
    message_id: str,
) -> Message:
    """The e-mail: multipart/alternative (text, then HTML), UTF-8, with Message-ID, Date and
    Content-Language. Built with the compat32 MIME classes: a third of the time of
    EmailMessage's header objects, which a 10k-message send notices."""
    msg = MIMEMultipart("alternative")
    msg["From"] = _address(from_addr)
    msg["To"] = invitation.email
    if reply_to:
        msg["Reply-To"] = _address(reply_to)
    msg["Subject"] = _header(rendered.subject)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id
    msg["Content-Language"] = rendered.language
    msg["Auto-Submitted"] = "auto-generated"
    msg.attach(MIMEText(rendered.text, "plain", _utf8_qp()))
    msg.attach(MIMEText(rendered.html, "html", _utf8_qp()))
    return msg


def _utf8_qp() -> Charset:
    """UTF-8 bodies as quoted-printable: readable where they are mostly ASCII (links, HTML)."""
    charset = Charset("utf-8")
    charset.body_encoding = QP
    return charset


# what goes on the wire: the message as built, with CRLF line ends (smtplib sends bytes as given)
WIRE = compat32.clone(linesep="\r\n")


def wire_bytes(msg: Message) -> bytes:
    return msg.as_bytes(policy=WIRE)
