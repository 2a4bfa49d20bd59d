"""How long deciding a file's columns takes (issue 14): reading the file, then the header
row, the value samples and map_headers, timed apart.

    .venv/bin/python -m bench.mapping bench/data/zenamu_1000000.csv

The mapping looks at config.MAPPING_SAMPLE_CELLS cells per column, so its time does not
grow with the file; reading does.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pyarrow.compute as pc

from ferry.ingest.headers import default_dictionary, find_header_row, map_headers
from ferry.ingest.land import blank_rows, column_samples, last_filled
from ferry.ingest.readers import read_file


def main(path: Path) -> None:
    start = time.perf_counter()
    grid = read_file(path)
    rows = grid.table.filter(pc.invert(blank_rows(grid.table)))
    read = time.perf_counter()
    dictionary = default_dictionary()
    head = [list(r.values()) for r in rows.slice(0, 10).drop_columns(["row_number"]).to_pylist()]
    begin = time.perf_counter()
    at = find_header_row(head, None, dictionary, allow_title_rows=grid.format != "csv") or 0
    headers = head[at][: last_filled(head[at])]
    body = rows.slice(at + 1)
    columns = map_headers(headers, None, dictionary, column_samples(body, len(headers)))
    end = time.perf_counter()
    print(f"{path.name}: {body.num_rows:,} rows, {len(headers)} columns")
    print(f"read {read - start:.2f} s; mapping (header row, samples, decisions) {end - begin:.3f} s")
    for c in columns:
        print(f"  {c.index:>3} {c.label!r:<28} {c.field or '-':<13} {c.confidence:.2f}  {c.reason}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
