"""report.html: one self-contained page an auditor can sign off on, opened offline.

No external CSS, fonts, images or scripts: inline CSS and SVG only, and a Content Security
Policy that forbids the page to fetch anything. Links (rejects.csv, summary.json, gate.json,
the Great Expectations Data Docs) are relative, so the run folder can be zipped and sent.
Every value that comes from the file is HTML-escaped.

Sections, in the order an auditor checks them: what was read (file, size, SHA-256, format,
encoding, delimiter), with which options, by which Ferry version and when; where every row
went; whether the balances add up (control totals per balance kind: the file's kept rows,
what the load was built from, and what the target held inside the load's transaction
before commit — a difference is red); invitations; the issues by code with their first
rows; every gate check; the evidence files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from ferry import __version__

if TYPE_CHECKING:
    from ferry.ingest.land import LandResult

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:1.5rem auto;max-width:1120px;color:#1d2433;padding:0 1.25rem;background:#fff}
h1{font-size:1.55rem;margin:0 0 .35rem;display:flex;align-items:center;gap:.75rem;flex-wrap:wrap}
h2{font-size:1.1rem;margin:1.8rem 0 .5rem;border-bottom:2px solid #dde3ec;padding-bottom:.25rem;display:flex;gap:.6rem;align-items:baseline}
h2 small{font-weight:400;font-size:.85rem}
table{border-collapse:collapse;width:100%;margin:.35rem 0}
th,td{text-align:left;padding:.32rem .55rem;border-bottom:1px solid #e6eaf0;vertical-align:top}
thead th{background:#f3f5f9;font-weight:600;border-bottom:1px solid #cfd6e1}
table.kv th{width:9.5rem;background:none;font-weight:600;color:#4a5468}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.mono,code{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.86em}
td.mono{word-break:break-all}
code{background:#f3f5f9;padding:0 .25rem;border-radius:3px;white-space:nowrap}code.wrap{white-space:normal;word-break:break-all}
.status{display:inline-block;padding:.15rem .75rem;border-radius:1rem;font-size:1rem;font-weight:700;color:#fff;text-transform:uppercase;letter-spacing:.03em}
.s-loaded,.s-dry_run{background:#1f8a4c}.s-blocked{background:#b9770e}.s-failed{background:#c0392b}
.ok{color:#1f8a4c;font-weight:600}.bad{color:#c0392b;font-weight:700}.warn{color:#9a6700;font-weight:600}
.muted{color:#5f6b7e}.small{font-size:.86rem}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1.5rem}.grid>div{min-width:0}
tr.diff td{background:#fdecea;color:#a93226;font-weight:700}
tr.failrow td{background:#fdecea}
.banner{border-left:5px solid #c0392b;background:#fdecea;padding:.6rem .9rem;margin:1rem 0;color:#7b241c}
.banner.blocked{border-color:#b9770e;background:#fef5e7;color:#6e4b07}
.banner.good{border-color:#1f8a4c;background:#e9f7ef;color:#145a32}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9.5rem,1fr));gap:.6rem;margin:.5rem 0}
.card{border:1px solid #e0e5ec;border-radius:6px;padding:.45rem .7rem}
.card b{display:block;font-size:1.35rem;font-variant-numeric:tabular-nums}
.card.alert{border-color:#e6b0aa;background:#fdf2f0}
.sev{display:inline-block;padding:0 .45rem;border-radius:.7rem;font-size:.8rem;font-weight:600}
.sev-error{background:#fadbd8;color:#922b21}.sev-warning{background:#fcf3cf;color:#7d6608}
ul.ex{margin:0;padding-left:1.1rem}
.legend span{margin-right:1.1rem;white-space:nowrap}
.legend i{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:-1px}
.signoff{display:grid;grid-template-columns:1fr 1fr 1fr;gap:2rem;margin-top:2.2rem}
.signoff div{border-top:1px solid #8892a2;padding-top:.25rem;color:#5f6b7e;font-size:.85rem}
footer{margin:2rem 0 1rem;color:#5f6b7e;font-size:.82rem}
a{color:#1a5fb4}
@media print{body{margin:0;max-width:none}a{color:inherit}h2{break-after:avoid}tr{break-inside:avoid}}
"""

SEGMENTS = (
    ("valid", "#1f8a4c", "valid"),
    ("merged", "#2e86c1", "merged into another row"),
    ("duplicate", "#d4ac0d", "exact duplicate"),
    ("rejected", "#c0392b", "rejected"),
)


class Markup(str):
    """Trusted HTML built here, not from the file."""


def _e(value) -> str:
    if isinstance(value, Markup):
        return value
    return escape("" if value is None else str(value))


def _dec(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def fmt_amount(value) -> str:
    """7871 -> '7,871'; 150.5 -> '150.50'; None -> '—'."""
    d = _dec(value)
    if d is None:
        return "—"
    if d == d.to_integral_value():
        return f"{int(d):,}"
    d = d.normalize()
    return f"{d.quantize(Decimal('0.01')) if d.as_tuple().exponent >= -2 else d:,}"


def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + fmt_amount(value)


def _fmt_time(stamp: str | None) -> str:
    if not stamp:
        return "—"
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _table(header, rows, num_cols=(), cls="", row_classes=None) -> str:
    head = "".join(f'<th class="{"num" if i in num_cols else ""}">{_e(h)}</th>' for i, h in enumerate(header))
    body = []
    for n, row in enumerate(rows):
        rc = (row_classes or {}).get(n, "")
        cells = "".join(f'<td class="{"num" if i in num_cols else ""}">{_e(c)}</td>' for i, c in enumerate(row))
        body.append(f'<tr class="{rc}">{cells}</tr>')
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _kv(pairs) -> str:
    """A two-column key/value table without a header row."""
    body = "".join(f"<tr><th>{_e(k)}</th><td{' class=mono' if mono else ''}>{_e(v)}</td></tr>" for k, v, mono in pairs)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def _link(path, label) -> Markup:
    return Markup(f'<a href="{escape(str(path))}">{escape(label)}</a>')


def _rows_chart(rows: dict) -> str:
    """A stacked bar of where the rows went (inline SVG, scales with the page)."""
    read = rows.get("read", 0) or 0
    total = max(read, 1)
    width, height = 1000, 34
    x, parts = 0.0, []
    for key, colour, label in SEGMENTS:
        count = rows.get(key, 0) or 0
        w = width * count / total
        if w > 0:
            parts.append(
                f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}" fill="{colour}">'
                f"<title>{escape(label)}: {count}</title></rect>"
            )
            if w >= 60:
                parts.append(
                    f'<text x="{x + w / 2:.2f}" y="22" text-anchor="middle" fill="#fff" '
                    f'font-size="14" font-weight="700" font-family="sans-serif">{count}</text>'
                )
        x += w
    legend = "".join(
        f'<span><i style="background:{colour}"></i>{escape(label)} <b>{rows.get(key, 0)}</b></span>'
        for key, colour, label in SEGMENTS
    )
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" height="{height}" preserveAspectRatio="none" '
        f'role="img" aria-label="row accounting: {read} rows read">'
        f'<rect width="{width}" height="{height}" fill="#eef1f5"/>{"".join(parts)}</svg>'
        f'<p class="legend small">{legend}<span>→ <b>{rows.get("loaded", 0)}</b> loaded of '
        f"<b>{read}</b> read</span></p>"
    )


@dataclass(frozen=True)
class ReportInputs:
    """Everything report.html states, gathered once by ferry/run.py's write_reports."""

    summary: dict  # the run summary (docs/CONTRACT.md §7)
    land: LandResult | None
    options: dict  # RunOptions.as_record(): the target URL's password is already hidden
    issues: list[tuple]  # (row, column, value, severity, code, message), as in rejects.csv
    reconciliation: list[dict]  # {"kind", "source", "loaded"} per balance kind, from the marts
    gate_checks: list[dict]
    run_dir: Path
    started_at: str
    # kind -> {"source", "target"}: what the load re-read before commit, or what its
    # ControlTotalsMismatch carried; None where the target was not compared
    control_totals: dict | None = None
    error: str | None = None  # why the target failed, for a run whose status is 'failed'

    @property
    def status(self) -> str:
        return self.summary["status"]

    @property
    def failure(self) -> str | None:
        return self.error or self.summary.get("error")

    def rel(self, path) -> str:
        """A link relative to the run folder, so the folder can be zipped and sent."""
        return os.path.relpath(path, self.run_dir) if path else ""


def _s(count: int) -> str:
    return "s" if count != 1 else ""


def render(inputs: ReportInputs) -> str:
    """The whole page: its sections in the order an auditor checks them."""
    sections = (
        _document_head(inputs.summary),
        _header(inputs),
        _banner(inputs),
        _source_and_run(inputs),
        _mapping_section(inputs.summary.get("mapping") or []),
        _row_accounting(inputs.summary["rows"]),
        _control_totals_section(inputs),
        _clients_section(inputs.summary, inputs.options),
        _issues_section(inputs.issues),
        _gate_section(inputs.gate_checks),
        _evidence(inputs),
        _footer(inputs.summary),
    )
    return "\n".join(sections) + "\n</body></html>"


def _document_head(summary: dict) -> str:
    """Doctype, the policy that forbids any fetch, and the inline stylesheet."""
    status = summary["status"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferry run {escape(summary["run_id"])} · {escape(summary["tenant"])} · {escape(status)}</title>
<style>{CSS}</style></head><body>"""


def _header(inputs: ReportInputs) -> str:
    summary, status = inputs.summary, inputs.status
    return (
        f'<h1>Ferry migration report <span class="status s-{escape(status)}">'
        f"{escape(status.replace('_', ' '))}</span></h1>\n"
        f'<p class="muted">tenant <b>{escape(summary["tenant"])}</b> · run <code>{escape(summary["run_id"])}</code>'
        f" · {escape(_fmt_time(inputs.started_at))} · Ferry {escape(__version__)}</p>"
    )


def _headline(summary: dict, gate_checks: list[dict]) -> tuple[str, str]:
    """(banner class, one sentence) for the run's status."""
    status, rows, clients = summary["status"], summary["rows"], summary["clients"]
    if status == "loaded":
        return "good", (
            f"Loaded: {rows['loaded']} of {rows['read']} rows are in the target "
            f"({clients['new']} new, {clients['updated']} updated, {clients['unchanged']} unchanged clients); "
            f"{rows['rejected']} rejected row{_s(rows['rejected'])}."
        )
    if status == "dry_run":
        return "good", "Dry run: the gate passed; nothing was written to the target."
    if status == "blocked":
        failed = [c["name"] for c in gate_checks if not c["passed"]]
        return "blocked", (
            f"Blocked by the gate ({len(failed)} failed check{_s(len(failed))}: {', '.join(failed)}): "
            "nothing was written to the target."
        )
    if status == "failed":
        return (
            "",
            "The target failed: the load's transaction was rolled back and nothing was written. Rerunning is safe.",
        )
    return "", status


def _banner(inputs: ReportInputs) -> str:
    css, sentence = _headline(inputs.summary, inputs.gate_checks)
    banner = f'<div class="banner {css}"><b>{escape(sentence)}</b>'
    if inputs.failure:
        banner += f'<br><span class="small">{escape(inputs.failure)}</span>'
    return banner + "</div>"


def _source_pairs(summary: dict, land: LandResult | None) -> list[tuple]:
    """What was read: the file, its fingerprint and how it was parsed."""
    src = summary["source"]
    delimiter = src.get("delimiter")
    delimiter_text = {"\t": "tab", ",": "comma (,)", ";": "semicolon (;)", "|": "pipe (|)"}.get(
        delimiter, repr(delimiter) if delimiter else "—"
    )
    pairs = [
        ("file", src["file"], False),
        ("size", f"{land.size_bytes:,} bytes" if land is not None else "—", False),
        ("SHA-256", src["sha256"], True),
        ("format", src["format"], False),
        ("encoding", src.get("encoding") or "—", False),
        ("delimiter", delimiter_text, False),
    ]
    if land is not None and getattr(land, "sheet", None):
        pairs.append(("sheet", land.sheet, False))
    if land is not None and getattr(land, "header_row", None):
        pairs.append(("header row", land.header_row, False))
    unmapped = summary["unmapped_columns"]
    pairs += [
        ("source system", src.get("system") or "—", False),
        ("unmapped columns", f"{', '.join(unmapped)} (kept in each client's extra)" if unmapped else "none", False),
    ]
    return pairs


def _run_pairs(inputs: ReportInputs) -> list[tuple]:
    """Who ran what, when, with which Ferry, against which target."""
    return [
        ("run id", inputs.summary["run_id"], True),
        ("tenant", inputs.summary["tenant"], False),
        ("started", _fmt_time(inputs.started_at), False),
        ("report written", _fmt_time(datetime.now(UTC).isoformat(timespec="seconds")), False),
        ("Ferry version", __version__, False),
        ("target", inputs.options.get("target") or "—", True),
    ]


def _option_pairs(options: dict) -> list[tuple]:
    """The options that were set, as the user typed them (file, tenant, target shown above)."""
    skip = {"file", "tenant", "target"}
    return [
        (k.replace("_", "-"), ", ".join(map(str, v)) if isinstance(v, list) else v, False)
        for k, v in sorted(options.items())
        if k not in skip and v not in (None, [], False, "")
    ]


def _source_and_run(inputs: ReportInputs) -> str:
    opts_pairs = _option_pairs(inputs.options)
    options_html = _kv(opts_pairs) if opts_pairs else '<p class="muted">defaults</p>'
    return (
        '<div class="grid">\n'
        f"<div><h2>Source file</h2>{_kv(_source_pairs(inputs.summary, inputs.land))}</div>\n"
        f"<div><h2>Run</h2>{_kv(_run_pairs(inputs))}<h2>Options</h2>{options_html}</div>\n"
        "</div>"
    )


def _mapping_section(mapping: list[dict]) -> str:
    """Which header became which field, and why (docs/CONTRACT.md §2, §7 `mapping`)."""
    if not mapping:
        return ""
    rows = [
        (
            c["index"],
            c["header"] or "",
            c["field"] or "— (extra)",
            "" if c["confidence"] is None else f"{c['confidence']:.2f}",
            c["reason"] or "" if not c.get("warning") else f"{c['reason']} · warning: {c['warning']}",
        )
        for c in mapping
    ]
    table = _table(("#", "header", "field", "confidence", "why"), rows, num_cols=(0, 3))
    return f'<h2>Column mapping <small class="muted">which header became which field, and why</small></h2>\n{table}'


ROW_KEYS = ("read", "valid", "merged", "duplicate", "rejected", "loaded")


def _row_accounting(rows: dict) -> str:
    """Where every row went: the chart and the counts (docs/CONTRACT.md §7)."""
    counts = _table(ROW_KEYS, [tuple(rows[k] for k in ROW_KEYS)], num_cols=range(6))
    return (
        '<h2>Row accounting <small class="muted">read = valid + merged + duplicate + rejected</small></h2>\n'
        f"{_rows_chart(rows)}\n{counts}"
    )


def _target_total(status: str, re_read: dict, kind: str, planned: Decimal) -> Decimal | None:
    """The target's sum for `kind`, or None where the target was not compared."""
    if kind in re_read:
        return _dec(re_read[kind].get("target"))
    if status == "failed" and re_read:
        return planned  # the failed load re-read no such kind: neither side holds any
    return None


_NOT_COMPARED = {"dry_run": "not written (dry run)", "blocked": "not loaded (blocked)", "failed": "rolled back"}


def _control_totals(inputs: ReportInputs) -> tuple[str, int]:
    """The control-totals table and how many kinds differ (docs/CONTRACT.md §6)."""
    summary, status = inputs.summary, inputs.status
    balances = summary["balances"]
    recon = {r["kind"]: r for r in inputs.reconciliation}
    re_read = inputs.control_totals or {}
    rows, classes, differing = [], {}, 0
    for kind in sorted(set(balances) | set(recon) | set(re_read)):
        source = _dec(recon.get(kind, {}).get("source", balances.get(kind, 0))) or Decimal(0)
        planned = _dec(balances.get(kind, recon.get(kind, {}).get("loaded", 0))) or Decimal(0)
        target = _target_total(status, re_read, kind, planned)
        diff = (target if target is not None else planned) - source
        target_text = _NOT_COMPARED.get(status, "not loaded") if target is None else fmt_amount(target)
        if diff != 0 or planned != source:
            differing += 1
            classes[len(rows)] = "diff"
            verdict = Markup('<span class="bad">DIFFERS</span>')
        else:
            verdict = Markup('<span class="ok">agrees</span>')
        rows.append(
            (kind, fmt_amount(source), fmt_amount(planned), target_text, _signed(diff) if diff else "0", verdict)
        )
    if not rows:
        return '<p class="muted">The file holds no balances.</p>', 0
    table = _table(
        ("kind", "file (kept rows)", "planned load", "target (re-read before commit)", "difference", ""),
        rows,
        num_cols=(1, 2, 3, 4),
        row_classes=classes,
    )
    return table, differing


def _control_totals_section(inputs: ReportInputs) -> str:
    table, differing = _control_totals(inputs)
    flag = (
        f'<span class="bad">{differing} kind{_s(differing)} differ</span>'
        if differing
        else '<span class="ok">all agree</span>'
    )
    return (
        f"<h2>Control totals per balance kind {flag}</h2>\n"
        '<p class="muted small">File = what the kept rows of the file hold; planned = what the load was built '
        "from; target = the\nsum re-read from the target database inside the load's transaction, before commit. "
        "Any difference rolls the load back.</p>\n"
        f"{table}"
    )


_INVITE_NOTES = {
    "all": "every loaded client with an e-mail and no login gets one pending invitation",
    "balances": "only clients holding a positive balance get an invitation",
    "none": "nobody gets an invitation; clients holding balances cannot use them until they register",
}


def _clients_section(summary: dict, options: dict) -> str:
    """Clients by outcome, invitations, and balances nobody is invited to claim (§5)."""
    clients = summary["clients"]
    without = summary["issue_counts"].get("balance_without_invite", 0)
    invite_mode = options.get("invites", "all")
    cards = [
        ("new clients", clients["new"], False),
        ("updated", clients["updated"], False),
        ("unchanged", clients["unchanged"], False),
        ("invitations queued", summary["invites_queued"], False),
        ("holding balances without invitation", without, bool(without)),
    ]
    cards_html = "".join(
        f'<div class="card{" alert" if alert else ""}"><b>{value}</b>{escape(label)}</div>'
        for label, value, alert in cards
    )
    note = _INVITE_NOTES.get(invite_mode, "")
    return (
        f'<h2>Clients and invitations <small class="muted">--invites {escape(str(invite_mode))}: '
        f"{escape(note)}</small></h2>\n"
        f'<div class="cards">{cards_html}</div>'
    )


def _issues(issues: list[tuple]) -> tuple[str, int, int]:
    """The issues table, by code with its first rows, and the error and warning counts."""
    by_code: dict[str, list[tuple]] = {}
    for issue in issues:
        by_code.setdefault(issue[4], []).append(issue)
    rows = []
    for code, items in sorted(by_code.items(), key=lambda kv: (kv[1][0][3] != "error", -len(kv[1]), kv[0])):
        severity = items[0][3]
        rows.append(
            (
                Markup(f"<code>{escape(code)}</code>"),
                Markup(f'<span class="sev sev-{escape(severity)}">{escape(severity)}</span>'),
                len(items),
                _issue_examples(items),
            )
        )
    errors = sum(1 for i in issues if i[3] == "error")
    warnings = sum(1 for i in issues if i[3] == "warning")
    if not rows:
        return '<p class="ok">No errors or warnings.</p>', 0, 0
    return (
        _table(("code", "severity", "count", "first examples (spreadsheet row, column)"), rows, num_cols=(2,)),
        errors,
        warnings,
    )


def _issue_examples(items: list[tuple]) -> Markup:
    """The first three rows of one code; the rest are in rejects.csv."""
    examples = []
    for row_number, column, value, _sev, _code, message in items[:3]:
        where = f"row {row_number}" if row_number is not None else "file"
        if column:
            where += f", {column}"
        examples.append(f"<li><b>{escape(where)}</b>: {escape(str(message or value or ''))}</li>")
    more = f'<li class="muted">… and {len(items) - 3} more in rejects.csv</li>' if len(items) > 3 else ""
    return Markup(f'<ul class="ex">{"".join(examples)}{more}</ul>')


def _issues_section(issues: list[tuple]) -> str:
    table, n_errors, n_warnings = _issues(issues)
    flag = (
        f'<small class="muted">{n_errors} error{_s(n_errors)}, '
        f"{n_warnings} warning{_s(n_warnings)} · every one is in rejects.csv</small>"
    )
    return f"<h2>Issues by code {flag}</h2>\n{table}"


def _gate(gate_checks: list[dict]) -> tuple[str, int]:
    rows, classes = [], {}
    for c in gate_checks:
        observed = c.get("unexpected_count")
        if observed is None:
            observed = c.get("observed_value")
        if not c["passed"]:
            classes[len(rows)] = "failrow"
        rows.append(
            (
                c["name"],
                c.get("table", ""),
                c.get("expectation", ""),
                Markup('<span class="ok">pass</span>' if c["passed"] else '<span class="bad">FAIL</span>'),
                "" if observed is None else observed,
                c.get("error") or "",
            )
        )
    failed = sum(1 for c in gate_checks if not c["passed"])
    return (
        _table(
            ("check", "table", "expectation", "result", "unexpected / observed", "error"),
            rows,
            num_cols=(4,),
            row_classes=classes,
        ),
        failed,
    )


def _gate_section(gate_checks: list[dict]) -> str:
    table, failed = _gate(gate_checks)
    flag = (
        f'<span class="bad">{failed} failed</span>'
        if failed
        else f'<span class="ok">all {len(gate_checks)} passed</span>'
    )
    return f"<h2>Gate checks {flag}</h2>\n{table}"


def _evidence(inputs: ReportInputs) -> str:
    """Relative links to the run folder's files, and where the warehouse is."""
    paths = inputs.summary["paths"]
    links = [
        _link(inputs.rel(paths["rejects"]), "rejects.csv (every error and warning)"),
        _link("summary.json", "summary.json"),
    ]
    if (Path(inputs.run_dir) / "gate.json").exists() or inputs.gate_checks:
        links.append(_link("gate.json", "gate.json (check details)"))
    links.append(_link("timings.json", "timings.json"))
    if paths.get("data_docs"):
        links.append(
            Markup(
                _link(inputs.rel(paths["data_docs"]), "Great Expectations Data Docs")
                + ' <span class="muted small">(GX\'s own page: its styling comes from the internet; '
                "gate.json holds the same results offline)</span>"
            )
        )
    return (
        "<h2>Evidence</h2>\n"
        f"<p>{' · '.join(links)}</p>\n"
        '<p class="small muted">Warehouse (every landed cell, by run id): '
        f'<code class="wrap">{escape(str(paths["warehouse"]))}</code></p>'
    )


def _footer(summary: dict) -> str:
    return (
        '<div class="signoff"><div>Reviewed by</div><div>Date</div><div>Signature</div></div>\n'
        f"<footer>Generated by Ferry {escape(__version__)} for run {escape(summary['run_id'])}. "
        "This page loads nothing from the network.</footer>"
    )
