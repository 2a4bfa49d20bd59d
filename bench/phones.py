"""Phone normalisation alone: CPU per distinct number, phone_table inside land(), and the
one-off check that the short path answers what libphonenumber's full path answers.

.venv/bin/python -m bench.phones            # µs per distinct number: ferry.ingest.phones vs the oracle, one process
.venv/bin/python -m bench.phones --land     # land() of the 1M-row file in a fresh home, phone_table timed
.venv/bin/python -m bench.phones --check    # the 1M-row file's phones (CZ, DE) and generated numbers (8 countries)

The oracle is normalize_phone as it was before the short path (tests/test_phones.py). The
file is bench/data/zenamu_1000000.csv (`python -m bench.generate --rows 1000000 --out ...`).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

FILE = Path("bench/data/zenamu_1000000.csv")


def distinct_phones() -> list[str]:
    import polars as pl

    cells = pl.read_csv(FILE, infer_schema=False)["phone"].drop_nulls().to_list()
    return sorted({v.strip() for v in cells} - {""})


def cpu_per_number(repeat: int) -> None:
    from ferry.ingest.phones import _Region
    from tests.test_phones import reference_normalize_phone

    values = distinct_phones()
    for _ in range(repeat):
        for name, run in (
            ("ferry.ingest.phones", lambda: _Region.of("CZ").e164_list(values)),
            ("reference", lambda: [reference_normalize_phone(v, "CZ") for v in values]),
        ):
            cpu, wall = time.process_time(), time.perf_counter()
            run()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"{name:13s} {len(values)} distinct: {cpu / len(values) * 1e6:5.2f} µs CPU each, {wall:5.2f} s wall")


def land_phone_table(home: Path) -> None:
    import ferry.ingest.land
    from ferry.config import RunOptions

    timed = ferry.ingest.land.phone_table

    def phone_table(*args, **kwargs):
        cpu, wall = time.process_time(), time.perf_counter()
        table = timed(*args, **kwargs)
        print(
            f"phone_table: {time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU "
            f"in this process, {table.num_rows} numbers"
        )
        return table

    ferry.ingest.land.phone_table = phone_table
    shutil.rmtree(home, ignore_errors=True)
    wall = time.perf_counter()
    ferry.ingest.land.land(RunOptions(file=FILE, tenant="bench", home=home), "r1")
    print(f"land: {time.perf_counter() - wall:.2f} s wall")


def check() -> None:
    from ferry.ingest.phones import _Region, normalize_phone
    from tests.test_phones import COUNTRIES, TRICKY, generated_phones, reference_normalize_phone

    full_path = _Region.slow
    slow = []
    _Region.slow = lambda region, text: slow.append(text) or full_path(region, text)  # counts the full path

    cases = [
        ("file", distinct_phones(), ("CZ", "DE")),
        ("generated", generated_phones(mutations=40), COUNTRIES),
        ("tricky", TRICKY, COUNTRIES + ("001", "XX", "us")),
    ]
    for name, values, countries in cases:
        for country in countries:
            slow.clear()
            new = [normalize_phone(v, country) for v in values]
            differ = [v for v, e164 in zip(values, new) if e164 != reference_normalize_phone(v, country)]
            valid = sum(e164 is not None for e164 in new)
            print(
                f"{name:9s} {country:3s} {len(values)} compared, {len(values) - len(slow)} without parse(), "
                f"{valid} valid, {len(differ)} differ {differ[:5]}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--land", action="store_true")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--home", type=Path, default=Path("/tmp/ferry-bench-phones"))
    args = parser.parse_args()
    if args.land:
        land_phone_table(args.home)
    elif args.check:
        check()
    else:
        cpu_per_number(args.repeat)
