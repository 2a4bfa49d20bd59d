"""One copy of Great Expectations' Data Docs assets per home, shared by every run's folder.

GX copies its static assets (fonts, images, scripts: about 4 MB, most of it two demo
animations) into every Data Docs site it builds, so each run's folder held its own 4 MB:
a thousand tenants of a nightly `ferry batch` left 4 GB of identical files. After the build,
each asset in the run's site becomes a hard link to the home's copy (`<home>/static/`):
every run's Data Docs still open offline from its own folder, exactly as GX wrote them, and
deleting a run's folder (or the home's copy) never breaks another's.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
from pathlib import Path


def share_assets(site: Path, shared: Path) -> int:
    """Hard-link the files under `site`/static to the same files under `shared`, adding
    those `shared` lacks; returns how many of the site's files are now shared. A file whose
    bytes differ from the shared one of the same name (another GX version's) stays the
    site's own; any failure (no hard links on this file system) leaves the copy: only disk
    space is at stake, never the report."""
    static = site / "static"
    linked = 0
    for path in sorted(static.rglob("*")) if static.is_dir() else []:
        if not path.is_file() or path.is_symlink():
            continue
        keep = shared / path.relative_to(static)
        try:
            if not keep.exists():
                keep.parent.mkdir(parents=True, exist_ok=True)
                _link(path, keep)  # the first run's file becomes the home's copy
            elif not os.path.samefile(path, keep):
                if not filecmp.cmp(path, keep, shallow=False):
                    continue
                _link(keep, path)
            linked += 1
        except OSError:
            continue
    return linked


def _link(source: Path, name: Path) -> None:
    """Make `name` a hard link to `source` in one step: a reader never finds it missing or
    half written, and two runs publishing the same asset at once both succeed."""
    partial = name.with_name(f".{name.name}.{os.getpid()}.link")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    os.link(source, partial)
    try:
        os.replace(partial, name)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
