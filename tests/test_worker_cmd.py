"""`reelforge worker` without the team's database says what it needs in one line (exit 2), and
without REELFORGE_DATABASE_URL nothing imports the job queue (embedded mode is unchanged)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli.main import app

ROOT = Path(__file__).resolve().parents[1]


def test_worker_needs_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REELFORGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("REELFORGE_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "needs REELFORGE_DATABASE_URL" in result.output
    assert "Traceback" not in result.output


def test_embedded_mode_never_imports_the_job_queue(tmp_path: Path) -> None:
    code = (
        "import sys, pathlib\n"
        "from tools.production import Services\n"
        "from tools.settings import Settings\n"
        f"s = Services.open(Settings(data_dir=pathlib.Path({str(tmp_path)!r})))\n"
        "assert s.jobs is None\n"
        "print('procrastinate' in sys.modules)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
