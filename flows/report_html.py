"""report.html: one self-contained page an auditor can sign off on, opened offline.

No external CSS, fonts or scripts: inline CSS and SVG only. Every value from the file is
HTML-escaped.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from flows import __version__

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2433;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .25rem} h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #dde3ec;padding-bottom:.25rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0} th,td{text-align:left;padding:.3rem .55rem;border-bottom:1px solid #eef1f5;vertical-align:top}
th{background:#f5f7fa;font-weight:600} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.status{display:inline-block;padding:.2rem .7rem;border-radius:1rem;font-weight:700;color:#fff}
.loaded,.dry_run{background:#1f8a4c} .blocked{background:#c0392b} .ok{color:#1f8a4c;font-weight:600} .bad{color:#c0392b;font-weight:700}
.muted{color:#6b7586} code{background:#f5f7fa;padding:0 .25rem;border-radius:3px} .grid{display:grid;grid-template-columns:1fr 1fr;gap:1.5rem}
tr.diff td{background:#fdecea}
"""

SEGMENTS = (("valid", "#1f8a4c"), ("merged", "#5dade2"), ("duplicate", "#f5b041"), ("rejected", "#c0392b"))


def _rows_chart(rows: dict) -> str:
    total = max(rows.get("read", 0), 1)
    x, parts, legend = 0.0, [], []
    for key, colour in SEGMENTS:
        width = 760 * rows.get(key, 0) / total
        if width:
            parts.append(f'<rect x="{x:.1f}" y="0" width="{width:.1f}" height="28" fill="{colour}"/>')
        x += width
        legend.append(f'<span style="color:{colour}">&#9632;</span> {key} {rows.get(key, 0)}')
    return (f'<svg width="760" height="28" role="img" aria-label="row accounting">'
            f'<rect width="760" height="28" fill="#eef1f5"/>{"".join(parts)}</svg>'
            f'<p>{" &nbsp; ".join(legend)} &nbsp; → loaded {rows.get("loaded", 0)} of {rows.get("read", 0)} read</p>')


def _table(header, rows, num_cols=()) -> str:
    head = "".join(f'<th class="{"num" if i in num_cols else ""}">{escape(str(h))}</th>' for i, h in enumerate(header))
    body = []
    for row in rows:
        cls = ""
        if isinstance(row, tuple) and len(row) == 2 and row[0] == "__class__":
            cls, row = row[1]
        cells = "".join(
            f'<td class="{"num" if i in num_cols else ""}">{c if isinstance(c, Markup) else escape("" if c is None else str(c))}</td>'
            for i, c in enumerate(row))
        body.append(f'<tr class="{cls}">{cells}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Markup(str):
    """Trusted HTML built here, not from the file."""


def _link(path, label) -> Markup:
    return Markup(f'<a href="{escape(path)}">{escape(label)}</a>')


def render(summary: dict, *, land, options: dict, issues: list[tuple], control_totals: dict | None,
           reconciliation: list[dict], gate_checks: list[dict], run_dir: Path, started_at: str) -> str:
    src, rows = summary["source"], summary["rows"]
    status = summary["status"]
    by_code: dict[str, list[tuple]] = {}
    for issue in issues:
        by_code.setdefault(issue[4], []).append(issue)
    issue_rows = []
    for code, items in sorted(by_code.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        examples = "; ".join(f"row {i[0]}: {i[5]}" if i[0] is not None else i[5] for i in items[:3])
        issue_rows.append((code, items[0][3], len(items), examples))
    totals_rows = []
    kinds = sorted(set(summary["balances"]) | {r["kind"] for r in reconciliation})
    recon = {r["kind"]: r for r in reconciliation}
    for kind in kinds:
        source = recon.get(kind, {}).get("source", summary["balances"].get(kind, 0))
        planned = summary["balances"].get(kind, 0)
        target = (control_totals or {}).get(kind, {}).get("target") if control_totals else None
        target_text = "not loaded" if target is None else target
        agrees = source == planned and (target is None or float(target) == float(source))
        verdict = Markup('<span class="ok">agrees</span>' if agrees else '<span class="bad">DIFFERS</span>')
        row = (kind, source, planned, target_text, verdict)
        totals_rows.append(row if agrees else ("__class__", ("diff", row)))
    checks = [(c["name"], c.get("table", ""), Markup('<span class="ok">pass</span>' if c["passed"] else '<span class="bad">FAIL</span>'),
               c.get("unexpected_count") if c.get("unexpected_count") is not None else c.get("observed_value"),
               c.get("error") or "") for c in gate_checks]
    rel = lambda p: os.path.relpath(p, run_dir) if p else ""  # noqa: E731
    paths = summary["paths"]
    links = [_link(rel(paths["rejects"]), "rejects.csv"), _link("summary.json", "summary.json")]
    if paths.get("data_docs"):
        links.append(_link(rel(paths["data_docs"]), "Great Expectations Data Docs"))
    opts_rows = [(k, v) for k, v in sorted(options.items()) if v not in (None, [], False, "")]
    clients = summary["clients"]
    without = summary["issue_counts"].get("balance_without_invite", 0)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Ferry run {escape(summary['run_id'])}</title><style>{CSS}</style></head><body>
<h1>Migration report <span class="status {escape(status)}">{escape(status)}</span></h1>
<p class="muted">run <code>{escape(summary['run_id'])}</code> · tenant <b>{escape(summary['tenant'])}</b> · {escape(started_at)} · Ferry {escape(__version__)}</p>
<div class="grid"><div><h2>Source file</h2>{_table(("", ""), [
    ("file", src['file']), ("size", f"{land.size_bytes:,} bytes"), ("SHA-256", Markup(f"<code>{escape(src['sha256'])}</code>")),
    ("format", src['format']), ("encoding", src['encoding']), ("delimiter", repr(src['delimiter']) if src['delimiter'] else "—"),
    ("sheet", land.sheet or "—"), ("system", src['system']), ("unmapped columns", ", ".join(summary['unmapped_columns']) or "none")])}</div>
<div><h2>Options</h2>{_table(("option", "value"), opts_rows)}</div></div>
<h2>Row accounting</h2>{_rows_chart(rows)}
{_table(("read", "valid", "rejected", "merged", "duplicate", "loaded"), [tuple(rows[k] for k in ("read", "valid", "rejected", "merged", "duplicate", "loaded"))], num_cols=range(6))}
<h2>Control totals per balance kind</h2>
<p class="muted">Source = what the kept rows of the file hold; planned = what the load was built from; target = re-read from the target database inside the load's transaction, before commit.</p>
{_table(("kind", "source", "planned", "target", ""), totals_rows, num_cols=(1, 2, 3))}
<h2>Clients and invitations</h2>
{_table(("new", "updated", "unchanged", "invitations queued", "holding balances without invitation"), [(clients['new'], clients['updated'], clients['unchanged'], summary['invites_queued'], without)], num_cols=range(5))}
<h2>Issues</h2>
{_table(("code", "severity", "count", "first examples"), issue_rows, num_cols=(2,)) if issue_rows else '<p class="ok">No issues.</p>'}
<h2>Gate checks <span class="{'ok' if summary['gate']['passed'] else 'bad'}">{'passed' if summary['gate']['passed'] else 'FAILED'}</span></h2>
{_table(("check", "table", "result", "observed / unexpected", "error"), checks)}
<h2>Evidence</h2><p>{' · '.join(links)} · warehouse <code>{escape(paths['warehouse'])}</code></p>
</body></html>"""
