"""The invitation's plain functions (docs/CONTRACT.md §13): languages and templates, the
registration link, the message's structure, rates, SMTP and AMQP URLs."""

from __future__ import annotations

import email
import email.policy
import string
from decimal import Decimal
from importlib import resources

import pytest

from ferry.errors import InputError
from ferry.invites import channels, render
from ferry.invites.render import Balance, Invitation
from ferry.invites.send import SendOptions, parse_rate

INV = Invitation(
    invite_id=7,
    tenant="studio prague",
    email="jana+yoga@example.com",
    client_id=3,
    full_name="Jana Nováková",
    first_name="Jana",
    balances=(
        Balance("entries", None, Decimal("10"), None),
        Balance("credits", None, Decimal("12.5"), None),
        Balance("membership", "membership", Decimal("0"), "Premium"),
    ),
)
LINK = "https://book.example.com/register?email={email}&tenant={tenant}"


def test_every_language_is_shipped_with_the_same_keys_placeholders_and_kinds():
    files = {p.name for p in resources.files("ferry.invites").joinpath("templates").iterdir()}
    assert {f"{code}.toml" for code in render.LANGUAGES} <= files
    english = render.template("en")
    for code in render.LANGUAGES:
        t = render.template(code)
        assert t["language"] == code
        assert set(t["kinds"]) == set(english["kinds"]), code
        for key in ("subject", "subject_no_balance", "text", "html"):
            names = {m.group("braced") for m in string.Template.pattern.finditer(t[key]) if m.group("braced")}
            assert names <= {"business", "greeting_name", "balances", "link", "email"}, (code, key)
        assert "${link}" in t["text"] and "${link}" in t["html"] and "${balances}" in t["text"]


@pytest.mark.parametrize("code", render.LANGUAGES)
def test_each_language_names_the_business_lists_balances_and_links(code):
    r = render.render(INV, code, "Studio <Praha> & Co", LINK)
    assert r.language == code
    assert "Studio <Praha> & Co" in r.subject and "Studio <Praha> & Co" in r.text
    assert "Studio &lt;Praha&gt; &amp; Co" in r.html and "<Praha>" not in r.html  # escaped in HTML
    assert r.link in r.text and r.link.replace("&", "&amp;") in r.html
    assert render.template(code)["kinds"]["entries"] + ": 10" in r.text
    assert "Premium" in r.text
    mark = render.template(code)["decimal_mark"]
    assert f"12{mark}50" in r.text


def test_a_client_without_balances_gets_the_plain_invitation():
    r = render.render(Invitation(1, "t", "a@example.com"), "en", "Gym", LINK)
    assert r.subject == "Gym invites you to book online"
    assert "Waiting for you" not in r.text


def test_link_values_are_url_encoded():
    link = render.build_link(LINK + "&lang={language}&i={invite}", INV, "de")
    assert (
        link == "https://book.example.com/register?email=jana%2Byoga%40example.com&tenant=studio%20prague&lang=de&i=7"
    )


@pytest.mark.parametrize(
    "bad", [None, "", "book.example.com/{email}", "https://x.example/{who}", "https://x.example/{email"]
)
def test_bad_link_templates_are_refused(bad):
    with pytest.raises(InputError):
        render.check_link(bad)


@pytest.mark.parametrize(
    "extra, expected",
    [
        (None, "cs"),
        ('{"Language": "de"}', "de"),
        ('{"Sprache": "Deutsch"}', "de"),
        ('{"langue": "fr_CA"}', "fr"),
        ('{"idioma": "Español"}', "es"),
        ('{"jazyk": "čeština"}', "cs"),
        ('{"language": "pl"}', "cs"),  # not shipped: the tenant's
        ('{"note": "de"}', "cs"),
        ("not json", "cs"),
    ],
)
def test_the_clients_language_comes_from_the_export_else_the_tenants(extra, expected):
    assert render.client_language(extra, "cs") == expected


def test_language_option():
    assert render.check_language(None) == "en"
    assert render.check_language("DE-at") == "de"
    with pytest.raises(InputError, match="en, de, fr, es, cs"):
        render.check_language("pl")


def test_the_message_is_multipart_with_the_headers():
    r = render.render(INV, "fr", "Studio", LINK)
    built = render.message(
        INV, r, from_addr="Štúdio <hi@studio.cz>", reply_to="desk@studio.cz", message_id="<x@studio.cz>"
    )
    msg = email.message_from_bytes(built.as_bytes(), policy=email.policy.default)  # as the server reads it
    assert msg["From"] == "Štúdio <hi@studio.cz>" and msg["Subject"] == r.subject
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Content-Language"] == "fr" and msg["Message-ID"] == "<x@studio.cz>"
    assert msg["Date"] and msg["Reply-To"] == "desk@studio.cz" and msg["To"] == "jana+yoga@example.com"
    assert "Bonjour Jana" in msg.get_body(("plain",)).get_content()


def test_business_name_comes_from_the_sender():
    assert render.business_from("Studio Praha <hi@studio.cz>", "t") == "Studio Praha"
    assert render.business_from("hi@studio.cz", "studio-praha") == "studio-praha"


@pytest.mark.parametrize(
    "rate, per_second", [("300/min", 5.0), ("5/s", 5.0), ("3600/h", 1.0), ("60", 1.0), (None, None)]
)
def test_rates(rate, per_second):
    assert parse_rate(rate) == per_second


@pytest.mark.parametrize("rate", ["0/min", "fast", "5/day", "-1"])
def test_bad_rates(rate):
    with pytest.raises(InputError):
        parse_rate(rate)


@pytest.mark.parametrize(
    "url, host, port, tls, user, password",
    [
        ("smtp://mail.example.com", "mail.example.com", 25, "opportunistic", None, None),
        ("smtp://127.0.0.1:2525?tls=none", "127.0.0.1", 2525, "none", None, None),
        ("smtp+starttls://u%40x.cz:p%3Ass@mail.example.com", "mail.example.com", 587, "starttls", "u@x.cz", "p:ss"),
        ("smtps://u:pw@mail.example.com", "mail.example.com", 465, "tls", "u", "pw"),
    ],
)
def test_smtp_urls(url, host, port, tls, user, password):
    s = channels.parse_smtp_url(url)
    assert (s.host, s.port, s.tls, s.user, s.password) == (host, port, tls, user, password)
    if password:
        assert password not in s.shown and "***" in s.shown


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "smtps://h?tls=none", "smtp://h:port"])
def test_bad_smtp_urls_never_show_the_password(url):
    with pytest.raises(InputError) as caught:
        channels.parse_smtp_url(url.replace("//", "//u:s3cret@", 1) if "@" not in url else url)
    assert "s3cret" not in str(caught.value)


def test_amqp_url_keeps_ferrys_own_parameters_from_pika():
    a = channels.parse_amqp_url("amqp://u:pw@rabbit:5672/%2F?exchange=booking&heartbeat=30&routing_key=inv.{tenant}")
    assert (a.exchange, a.routing_key, a.declare) == ("booking", "inv.{tenant}", True)
    assert a.url == "amqp://u:pw@rabbit:5672/%2F?heartbeat=30"
    assert "pw" not in a.shown


def test_send_options_shown_hide_passwords():
    opts = SendOptions(tenant="t", target="postgresql://f:dbpw@db/x", smtp="smtps://u:mailpw@m", link=LINK)
    shown = str(opts.shown())
    assert "dbpw" not in shown and "mailpw" not in shown and "smtps://u:***@m" in shown


@pytest.mark.parametrize("code", render.LANGUAGES)
def test_long_non_ascii_subjects_and_senders_survive_the_wire(code):
    r = render.render(INV, code, "Studio Žluťoučký kůň s.r.o. & Partner GmbH", LINK)
    built = render.message(INV, r, from_addr="Štúdio Žluťoučký <a@b.cz>", reply_to=None, message_id="<x@b.cz>")
    wire = render.wire_bytes(built)
    assert b"\r\n" in wire and max(len(line) for line in wire.split(b"\r\n")) <= 78
    back = email.message_from_bytes(wire, policy=email.policy.default)
    assert back["Subject"] == r.subject and back["From"] == "Štúdio Žluťoučký <a@b.cz>"
    assert back.get_body(("plain",)).get_content().replace("\r\n", "\n") == r.text
