"""ferry/gate/static.py: every run's Data Docs share one copy of GX's static assets per
home, through hard links, and no run's report loses a byte of what GX wrote."""

from __future__ import annotations

import os
from pathlib import Path

from ferry.gate.static import share_assets

ASSETS = {
    "images/favicon.ico": b"\x00\x00\x01\x00icon",
    "images/demo.gif": b"GIF89a" + bytes(range(256)) * 64,
    "styles/default.css": b"body { margin: 0 }\n",
}


def site_with(folder: Path, assets: dict[str, bytes]) -> Path:
    for name, data in assets.items():
        path = folder / "static" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (folder / "index.html").write_text('<link rel="icon" href="static/images/favicon.ico">')
    return folder


def test_runs_share_one_copy_and_keep_every_byte(tmp_path):
    shared = tmp_path / "home" / "static" / "gx-1.0"
    first = site_with(tmp_path / "run1", ASSETS)
    second = site_with(tmp_path / "run2", ASSETS)

    assert share_assets(first, shared) == len(ASSETS)
    assert share_assets(second, shared) == len(ASSETS)

    for name, data in ASSETS.items():
        home_copy = shared / name
        for site in (first, second):
            assert (site / "static" / name).read_bytes() == data
            assert os.path.samefile(site / "static" / name, home_copy)
        assert home_copy.stat().st_nlink == 3  # the home's name and one per run: one copy on disk
    # nothing half-made is left behind
    assert not [p for p in tmp_path.rglob(".*.link")]
    # a third build of the same site changes nothing
    assert share_assets(second, shared) == len(ASSETS)


def test_a_file_that_differs_stays_the_runs_own(tmp_path):
    shared = tmp_path / "static"
    share_assets(site_with(tmp_path / "old", ASSETS), shared)
    changed = dict(ASSETS, **{"styles/default.css": b"body { margin: 1em }\n"})
    newer = site_with(tmp_path / "new", changed)

    assert share_assets(newer, shared) == len(ASSETS) - 1
    css = newer / "static" / "styles" / "default.css"
    assert css.read_bytes() == b"body { margin: 1em }\n"
    assert not os.path.samefile(css, shared / "styles" / "default.css")
    assert (shared / "styles" / "default.css").read_bytes() == ASSETS["styles/default.css"]


def test_deleting_the_home_copy_or_a_run_breaks_no_other_run(tmp_path):
    shared = tmp_path / "static"
    first = site_with(tmp_path / "run1", ASSETS)
    second = site_with(tmp_path / "run2", ASSETS)
    share_assets(first, shared)
    share_assets(second, shared)

    for path in sorted(shared.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    for path in sorted((first / "static").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()

    for name, data in ASSETS.items():
        assert (second / "static" / name).read_bytes() == data


def test_a_site_without_assets_or_a_folder_that_cannot_be_written(tmp_path):
    assert share_assets(tmp_path / "no-site", tmp_path / "static") == 0
    site = site_with(tmp_path / "run", ASSETS)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    # the shared folder cannot be made: the run keeps GX's copy, untouched
    assert share_assets(site, blocked / "gx") == 0
    for name, data in ASSETS.items():
        assert (site / "static" / name).read_bytes() == data
        assert (site / "static" / name).stat().st_nlink == 1
