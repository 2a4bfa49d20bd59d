"""report.html (issue 6): what an auditor signs off, from a real run through the real CLI on
SQLite and PostgreSQL, rendered in headless Chromium with no network.

The page must state the file (name, size, SHA-256, format, encoding, delimiter), tenant,
time, Ferry version and options; account for every row; show control totals per balance
kind (file vs target re-read in the load's transaction); list issues by code with counts
and first rows; every gate check; invitations and clients holding balances without one;
and link rejects.csv and the Great Expectations Data Docs - all offline.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import struct
import subprocess
import zlib
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ferry import __version__
from tests.conftest import run_cli
from tests.target_fixtures import PG_MARKS

CLIENTS = """First name,Last name,Email,Phone,Entries,Credits,Newsletter
Anna,Nová,anna@example.cz,+420 601 111 111,5,"1 000,50",ano
Bob,Malý,bob@example.cz,12345,2,,ne
Cy,Novák,<img src=https://evil.example/x.png onerror=alert(1)>,+420 603 333 333,1,50,ano
Dana,Dvořák,dana@example.cz,,,,maybe
Eva,Svobodová,eva@example.cz,+420 605 555 555,,,ne
"""

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.fixture(
    params=[("sqlite", "none"), pytest.param(("postgresql", "balances"), marks=PG_MARKS)], ids=["sqlite", "postgresql"]
)
def target_and_invites(request, tmp_path):
    kind, invites = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'booking.db'}", invites
    return request.getfixturevalue("pg_schema")[1], invites


class Tags(HTMLParser):
    """Every start tag of the page with its attributes (escaped text is not a tag)."""

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append((tag, attrs))


def png_facts(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct byte values in the decoded image data) of a PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


def test_report_html_is_complete_offline_and_renders(target_and_invites, home, write_csv, tmp_path):
    target, invites = target_and_invites
    file = write_csv(CLIENTS, "clients.csv")
    code, out, err = run_cli(
        "migrate",
        file,
        "--tenant",
        "studio-<b>",
        "--home",
        home,
        "--target",
        target,
        "--max-reject-rate",
        "0.25",
        "--invites",
        invites,
        "--tag",
        "spring",
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "loaded"
    report = Path(summary["paths"]["report"])
    html = report.read_text(encoding="utf-8")
    text = unescape(re.sub(r"<[^>]+>", " ", html))

    # offline: nothing the browser would fetch, and a policy that forbids fetching anyway
    tags = Tags()
    tags.feed(html)
    urls = [v for _tag, attrs in tags.seen for k, v in attrs if v and re.search(r"(?i)(https?:)?//", v)]
    assert urls == [] and not re.search(r"https?://", " ".join(v for _t, a in tags.seen for _k, v in a if v))
    assert not {"script", "link", "img", "iframe", "object", "embed", "base"} & {t for t, _a in tags.seen}
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html
    # the file's hostile value is shown as text, never as markup
    assert "&lt;img src=https://evil.example/x.png onerror=alert(1)&gt;" in html
    assert "studio-&lt;b&gt;" in html and "studio-<b>" not in html

    # the file, who, when, which version and options
    data = file.read_bytes()
    assert hashlib.sha256(data).hexdigest() == summary["source"]["sha256"]
    assert summary["source"]["sha256"] in html
    assert str(file) in text and f"{len(data):,} bytes" in text
    assert re.search(r"format\s+csv", text) and re.search(r"encoding\s+utf-8", text)
    assert "comma (,)" in text
    assert f"Ferry version {__version__}" in re.sub(r"\s+", " ", text)
    assert summary["run_id"] in html and re.search(r"started \s*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
    assert re.search(r"max-reject-rate\s+0\.25", text) and re.search(rf"invites\s+{invites}", text)
    assert re.search(r"\btags?\s+spring", text)

    # row accounting: 5 read, Cy rejected (bad e-mail on a row with balances), 4 loaded
    assert summary["rows"] == {"read": 5, "valid": 4, "rejected": 1, "merged": 0, "duplicate": 0, "loaded": 4}
    assert "<svg" in html and 'aria-label="row accounting: 5 rows read"' in html
    assert re.search(r"loaded of\s+5\s+read", text) and re.search(r"rejected\s+1", text)

    # control totals: file vs target re-read, every kind agrees, nothing red
    totals = {
        cells[0]: cells
        for cells in (
            [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(
                r"<tr class=\"(?:diff)?\">(.*?)</tr>", html.split("Control totals")[1].split("<h2")[0], re.S
            )
        )
    }
    assert totals["credits"][:5] == ["credits", "1,000.50", "1,000.50", "1,000.50", "0"]
    assert totals["entries"][:5] == ["entries", "7", "7", "7", "0"]
    assert 'class="diff"' not in html and "all agree" in html

    # invitations and clients holding balances they cannot claim without one
    queued, without = (0, 2) if invites == "none" else (2, 0)  # Anna and Bob hold balances
    assert summary["invites_queued"] == queued and summary["issue_counts"]["balance_without_invite"] == without
    assert f"<b>{queued}</b>invitations queued" in html
    assert f"<b>{without}</b>holding balances without invitation" in html

    # issues by code: count and first rows
    issues = {
        cells[0]: cells
        for cells in (
            [unescape(re.sub(r"<[^>]+>", " ", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr class=\"\">(.*?)</tr>", html.split("Issues by code")[1].split("<h2")[0], re.S)
        )
    }
    assert issues["email_invalid"][1:3] == ["error", "1"] and "row 4, Email" in issues["email_invalid"][3]
    assert issues["phone_invalid"][1:3] == ["warning", "1"] and "row 3, Phone" in issues["phone_invalid"][3]
    assert issues["consent_unknown"][1:3] == ["warning", "1"] and "row 5, Newsletter" in issues["consent_unknown"][3]

    # every gate check, pass or fail, as gate.json records it
    gate = json.loads((report.parent / "gate.json").read_text())
    gate_part = html.split("Gate checks")[1].split("<h2")[0]
    for check in gate["checks"]:
        assert re.search(rf"<td class=\"\">{re.escape(check['name'])}</td>.*?>(pass|FAIL)<", gate_part)
    assert gate_part.count(">pass<") == len(gate["checks"]) and f"all {len(gate['checks'])} passed" in gate_part

    # evidence links resolve inside the run folder
    hrefs = re.findall(r'href="([^"]+)"', html)
    for name in ("rejects.csv", "summary.json", "gate.json", "timings.json"):
        assert name in hrefs and (report.parent / name).is_file()
    docs = [h for h in hrefs if h.endswith("data_docs/local_site/index.html")]
    assert docs and (report.parent / docs[0]).is_file()

    # headless Chromium renders it to a real picture, without network
    if CHROMIUM is None:
        pytest.skip("no chromium binary: install Debian's chromium to render report.html")
    png = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            f"--screenshot={png}",
            "--window-size=1280,2000",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert png.is_file() and png.stat().st_size > 30_000
    width, height, distinct = png_facts(png)
    assert (width, height) == (1280, 2000)
    assert distinct > 50, "the screenshot is (nearly) blank"


def test_every_runs_data_docs_share_one_copy_of_gx_assets(migrate, write_csv, home):
    """GX copies ~4 MB of fonts and images into each run's Data Docs; a home keeps one
    copy (`<home>/static/`) that every run's folder links to, and each run's Data Docs
    still open from its own folder."""
    runs = [migrate(write_csv(CLIENTS), "--dry-run", "--max-reject-rate", "1") for _ in range(2)]
    assert [r.exit_code for r in runs] == [0, 0], [r.stderr for r in runs]
    sites = [Path(r.summary["paths"]["data_docs"]).parent for r in runs]
    (assets,) = (home / "static").glob("gx-*")
    shared = sorted(p.relative_to(assets) for p in assets.rglob("*") if p.is_file())
    assert Path("images/favicon.ico") in shared and len(shared) >= 10
    for site in sites:
        assert sorted(p.relative_to(site / "static") for p in (site / "static").rglob("*") if p.is_file()) == shared
        for name in shared:
            assert (site / "static" / name).samefile(assets / name)
        # what the index page points at is there
        refs = re.findall(r'(?:href|src)="(?:\./)?(static/[^"]+)"', (site / "index.html").read_text(encoding="utf-8"))
        assert refs and all((site / ref).is_file() for ref in refs)
    # one copy on disk: the home's name and one per run
    assert {(assets / name).stat().st_nlink for name in shared} == {3}
