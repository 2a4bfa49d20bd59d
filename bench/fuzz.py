"""Fuzz `ferry migrate` with generated hostile exports (issue 16): never a traceback or a bug
exit, stdout one JSON document, every row accounted for, every loaded value traceable.

    python -m bench.fuzz                       # 10,000 files (hours: ~0.7 s a file on 2 cores)
    python -m bench.fuzz --files 300 --seed 7  # a sample
    python -m bench.fuzz --start 5000          # files 5,000-9,999 of the same 10,000 (a run cut short)
    make fuzz                                  # = python -m bench.fuzz --files 1000

Each file is drawn from a seeded generator: a delimiter (, ; tab |), an encoding (UTF-8 with
and without BOM, cp1252, latin-1, UTF-16), CRLF or LF, quoting, and zero or more defects
(an unclosed quote, a row joined by another delimiter, short and long rows, a bare CR in a
cell, a lone or doubled sign, huge and formula-like values, blank lines, a duplicated
header, NUL bytes, no final newline, an empty file, a header without rows, very long text).

The files run as `ferry batch`es of `--chunk` files (warm workers: the run body of `ferry
migrate`) into one home and one SQLite target, one tenant per file, the figures saved after
each batch; every `--cli-every`-th file also runs as its own
`ferry migrate --json` process to check its stdout and stderr. Checked per run:
- exit code 0, 1 or 2 (a fresh SQLite target leaves 3 and 5 to the machine; 70 is a bug);
- no "Traceback" and no "please report" on stderr; stdout parses as exactly one JSON document;
- rows.read = valid + rejected + merged + duplicate, and rows.read is the number of data
  rows the generator wrote when its defects leave that number unambiguous;
- every client the target holds for the file's tenant has a name and an e-mail (when it has
  one) that occur in the file's text, and the target's balances per kind equal the summary's.
Findings are printed with the file kept under bench/data/fuzz/; figures go to
bench/results/fuzz.json. Never part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.run import DATA, RESULTS, child_env, find_ferry

FIRST = ["Jana", "Petr", "Zoë", "Łukasz", "Ærø", "Jürgen", "Anna-Lena", "José", "O'Neil", "Đorđe", "Søren", "Ivy"]
LAST = ["Nováková", "Dvořák", "Müller", "Grzegorzewski", "van der Berg", "Smith", "Çelik", "Østergård", "Hà"]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]
DELIMITERS = [",", ";", "\t", "|"]
DEFECTS = [
    "unclosed_quote",
    "other_delimiter_row",
    "short_row",
    "long_row",
    "bare_cr",
    "lone_sign",
    "huge_number",
    "formula",
    "blank_lines",
    "duplicate_header",
    "nul_byte",
    "no_final_newline",
    "empty_file",
    "header_only",
    "long_text",
]
# defects after which the number of data rows in the file is a matter of interpretation
AMBIGUOUS = {"unclosed_quote", "bare_cr", "nul_byte", "other_delimiter_row", "empty_file", "header_only"}


@dataclass
class Case:
    name: str
    encoding: str
    delimiter: str
    defects: list[str]
    data_rows: int | None  # None: ambiguous


@dataclass
class Finding:
    file: str
    problem: str
    detail: str = ""


@dataclass
class Figures:
    seed: int = 0
    planned: int = 0
    start: int = 0  # the first file run (--start): the files before it were drawn, not run
    files: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    cli_runs: int = 0
    findings: list[Finding] = field(default_factory=list)
    # a loaded value not in the file, in a run that warned `encoding_guessed` (the file's
    # code page was a close call and the run said which reading it took)
    warned: list[Finding] = field(default_factory=list)
    seconds: float = 0.0


def _cell(value: str, delimiter: str, rng: random.Random) -> str:
    if any(c in value for c in (delimiter, '"', "\n", "\r")) or rng.random() < 0.1:
        return '"' + value.replace('"', '""') + '"'
    return value


def generate(index: int, rng: random.Random, folder: Path) -> Case:
    """One hostile export; returns what it holds."""
    encoding = rng.choice(ENCODINGS)
    delimiter = rng.choice(DELIMITERS)
    defects = rng.sample(DEFECTS, k=rng.choice([0, 0, 1, 1, 2, 3]))
    newline = rng.choice(["\n", "\r\n"])
    header = ["name and surname", "email", "entries", "credits", "phone"]
    rows = []
    for i in range(rng.randint(1, 40)):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        local = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
        local = local.replace(" ", ".").replace("'", "")
        email = f"{local}{index}x{i}@example.com" if rng.random() < 0.9 else ""
        entries = str(rng.choice([0, 1, 5, 10, 20]))
        credits = rng.choice(["0", "100", "150.50", "1 000", "12,5"]) if delimiter != "," else rng.choice(["0", "100"])
        phone = rng.choice(["", "+420 603 123 456", "603123456", "+49 151 23456789"])
        rows.append([name, email, entries, credits, phone])
    if "lone_sign" in defects:
        rows[0][3] = rng.choice(["-", "+", "-xx", "--5"])
    if "huge_number" in defects:
        rows[-1][3] = rng.choice(["9999999999999999", "1e30", "123456789012345678901234567890"])
    if "formula" in defects:
        rows[0][0] = rng.choice(['=HYPERLINK("x")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3"])
    if "long_text" in defects:
        rows[0][0] = "Anna " + "Nováková" * rng.randint(100, 900)
    if "bare_cr" in defects:
        rows[0][0] = rows[0][0].replace(" ", " \r", 1)
    lines = [delimiter.join(header)]
    if "duplicate_header" in defects:
        lines = [delimiter.join([*header, "email"])]
    for r in rows:
        line = delimiter.join(_cell(v, delimiter, rng) for v in r)
        lines.append(line)
    if "other_delimiter_row" in defects:
        other = next(d for d in DELIMITERS if d != delimiter)
        lines.insert(rng.randint(1, len(lines)), other.join(["Jana Joined", "joined@example.com", "5", "100", ""]))
    if "short_row" in defects:
        lines.append(delimiter.join(["Short Row", "short@example.com"]))
    if "long_row" in defects:
        lines.append(delimiter.join(["Long Row", "long@example.com", "1", "2", "", "surplus", "more"]))
    if "unclosed_quote" in defects:
        at = rng.randint(1, len(lines) - 1)
        lines[at] = lines[at] + delimiter + '"never closed'
    if "blank_lines" in defects:
        lines.insert(rng.randint(1, len(lines)), "")
        lines.append(delimiter * 4)
    if "header_only" in defects:
        lines = lines[:1]
    text = newline.join(lines) + ("" if "no_final_newline" in defects else newline)
    if "nul_byte" in defects:
        text = text.replace("@", "\x00@", 1)
    if "empty_file" in defects:
        text = ""
    data = text.encode(encoding, errors="replace")
    name = f"fuzz_{index:05d}.csv"
    (folder / name).write_bytes(data)
    counted = len(lines) - 1 - ("blank_lines" in defects) * 2
    return Case(name, encoding, delimiter, defects, None if AMBIGUOUS & set(defects) else counted)


def _text(path: Path, encoding: str) -> str:
    return unicodedata.normalize("NFC", path.read_bytes().decode(encoding, errors="replace")).lower()


def check_run(case: Case, folder: Path, home: Path, target: Path, record: dict, figures: Figures) -> None:
    """The invariants of one batch record, its summary and what the target holds."""
    findings = figures.findings
    code = record["exit_code"]
    if code not in (0, 1, 2):
        findings.append(Finding(case.name, f"exit {code}", record.get("error") or ""))
        return
    if record["run_id"] is None:
        return  # refused (exit 2): nothing was read, nothing loaded
    summary = json.loads((home / "runs" / record["run_id"] / "summary.json").read_text(encoding="utf-8"))
    rows = summary["rows"]
    if rows["read"] != rows["valid"] + rows["rejected"] + rows["merged"] + rows["duplicate"]:
        findings.append(Finding(case.name, "rows not accounted for", json.dumps(rows)))
    if case.data_rows is not None and rows["read"] != case.data_rows:
        findings.append(Finding(case.name, f"read {rows['read']} of {case.data_rows} data rows", str(case.defects)))
    if summary["status"] != "loaded":
        return
    text = _text(folder / case.name, case.encoding)
    con = sqlite3.connect(target)
    try:
        clients = con.execute("select full_name, email from clients where tenant = ?", [record["tenant"]]).fetchall()
        sums = dict(
            con.execute(
                "select kind, sum(amount) from balances where tenant = ? group by kind", [record["tenant"]]
            ).fetchall()
        )
    finally:
        con.close()
    guessed = summary.get("issue_counts", {}).get("encoding_guessed", 0) > 0
    for full_name, email in clients:
        for value in (full_name, email):
            if not value:
                continue
            word = unicodedata.normalize("NFC", value).lower().split()[0]
            # as the file holds it: a quoted cell doubles its quotes
            if word not in text and word.replace('"', '""') not in text:
                found = Finding(case.name, "a loaded value is not in the file", value[:80])
                (figures.warned if guessed else findings).append(found)
    for kind, total in summary["balances"].items():
        if abs(float(sums.get(kind) or 0) - float(total)) > 1e-6:
            findings.append(Finding(case.name, f"{kind}: target {sums.get(kind)} != summary {total}"))


def check_cli(ferry: str, path: Path, home: Path, target: Path, tenant: str, findings: list[Finding]) -> None:
    """One `ferry migrate --json` process: stdout is one JSON document, stderr has no traceback."""
    cmd = [ferry, "migrate", str(path), "--tenant", tenant, "--home", str(home), "--target", f"sqlite:///{target}"]
    proc = subprocess.run([*cmd, "--json"], capture_output=True, text=True, env=child_env(), timeout=600)
    try:
        json.loads(proc.stdout)
    except ValueError:
        findings.append(Finding(path.name, "stdout is not one JSON document", proc.stdout[:200]))
    if "Traceback" in proc.stderr or "please report" in proc.stderr or proc.returncode not in (0, 1, 2):
        findings.append(Finding(path.name, f"cli exit {proc.returncode}", proc.stderr[-300:]))


def run_chunk(ferry: str, folder: Path, cases: list[Case], first: int, concurrency: int, figures: Figures) -> None:
    """Cases [first, first + len(cases)) as one `ferry batch` into the fuzz home and target."""
    manifest = folder / f"manifest_{first:05d}.csv"
    manifest.write_text(
        "file,tenant,max_reject_rate\n" + "".join(f"{c.name},t{first + i:05d},1\n" for i, c in enumerate(cases)),
        encoding="utf-8",
    )
    home, target = folder / "home", folder / "booking.db"
    cmd = [ferry, "batch", str(manifest), "--home", str(home), "--target", f"sqlite:///{target}", "--json"]
    proc = subprocess.run([*cmd, "--concurrency", str(concurrency)], capture_output=True, text=True, env=child_env())
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        figures.findings.append(Finding(str(manifest), "batch stdout is not one JSON document", proc.stdout[:200]))
        return
    if "Traceback" in proc.stderr:
        figures.findings.append(Finding(str(manifest), "traceback in ferry batch", proc.stderr[-500:]))
    for case, record in zip(cases, doc["runs"], strict=True):
        figures.by_status[record["status"]] = figures.by_status.get(record["status"], 0) + 1
        check_run(case, folder, home, target, record, figures)
    figures.files += len(cases)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument(
        "--start", type=int, default=0, help="run files from this index on (the rest of a run cut short: same seed)"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=500, help="files per `ferry batch`; figures are saved after each")
    ap.add_argument("--cli-every", type=int, default=100, help="also run every Nth file as its own process")
    ap.add_argument("--ferry", default=None)
    args = ap.parse_args(argv)

    ferry = find_ferry(args.ferry)
    folder = DATA / "fuzz" / f"seed{args.seed}"
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    rng = random.Random(args.seed)
    cases = [generate(i, rng, folder) for i in range(args.files)]
    figures = Figures(seed=args.seed, planned=len(cases) - args.start, start=args.start)
    cli_home, cli_target = folder / "cli-home", folder / "cli-booking.db"
    t0 = time.perf_counter()
    for first in range(args.start, len(cases), args.chunk):
        chunk = cases[first : first + args.chunk]
        run_chunk(ferry, folder, chunk, first, args.concurrency, figures)
        for i in range(first, first + len(chunk)):
            if i % max(1, args.cli_every) == 0:
                check_cli(ferry, folder / cases[i].name, cli_home, cli_target, f"c{i:05d}", figures.findings)
                figures.cli_runs += 1
        figures.seconds = round(time.perf_counter() - t0, 1)
        save(figures)
        print(
            f"{figures.files}/{figures.planned} files, {figures.seconds} s, {len(figures.findings)} findings",
            flush=True,
        )
    print(
        f"{figures.files} files in {figures.seconds} s ({figures.seconds / max(1, figures.files):.2f} s a file), "
        f"{figures.cli_runs} also as their own process; statuses {figures.by_status}; "
        f"{len(figures.findings)} findings; {len(figures.warned)} values differ in runs that warned "
        "encoding_guessed"
    )
    for f in figures.findings[:50]:
        print(f"  {f.file}: {f.problem} {f.detail}")
    return 1 if figures.findings else 0


def save(figures: Figures) -> None:
    """bench/results/fuzz.json, rewritten after every chunk: a cut-off run keeps its figures."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz.json").write_text(json.dumps(asdict(figures), indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
