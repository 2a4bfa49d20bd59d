"""A regular install works: the wheel carries the dbt project and the GX suites, and
`ferry migrate` runs from any folder, far from the source checkout."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "studio_clients.csv"


def _run(cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_wheel_installs_and_migrates_from_another_folder(tmp_path):
    wheels = tmp_path / "wheels"
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("ferry-*.whl")

    # a throw-away venv: Ferry from the wheel (not -e), its dependencies from this venv's
    # site-packages (a path entry, so this venv's editable install of Ferry is not seen)
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"
    site = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip()
    )
    (site / "_ferry_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(EXAMPLE, elsewhere / "clients.csv")
    env = {k: v for k, v in os.environ.items() if k not in ("FERRY_DBT_DIR", "PYTHONPATH")}

    where = _run(
        [str(python), "-c", "import ferry, ferry.config as c; print(ferry.__file__); print(c.PROJECT_DIR)"],
        elsewhere,
        env,
    )
    package, project = (Path(line) for line in where.stdout.split())
    assert site in package.parents and site in project.parents, where.stdout  # nothing read from the checkout
    assert (project / "dbt_project.yml").is_file() and (project / "seeds" / "column_aliases.csv").is_file()

    run = _run(
        [
            str(venv / "bin" / "ferry"),
            "migrate",
            "clients.csv",
            "--tenant",
            "studio",
            "--home",
            "home",
            "--max-reject-rate",
            "0.1",
            "--json",
        ],
        elsewhere,
        env,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["status"] == "loaded"
    data_rows = sum(1 for line in EXAMPLE.read_text(encoding="utf-8").splitlines()[1:] if line.strip(",; "))
    assert summary["rows"]["read"] == data_rows
    con = sqlite3.connect(elsewhere / "home" / "booking.db")
    try:
        assert (
            con.execute("SELECT count(*) FROM clients WHERE tenant = 'studio'").fetchone()[0]
            == summary["rows"]["loaded"]
        )
    finally:
        con.close()
    assert not (ROOT / "home").exists()
