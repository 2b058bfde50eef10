from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from tests.conftest import EXAMPLES

runner = CliRunner()

GOOD = """\
title: Test
story: A girl on a roof.
mood: calm
style: cinematic
duration: 6
formats: ["9:16"]
audience: everyone
"""


def _store_rows(data_dir: Path) -> int:
    db = data_dir / "reelforge.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return sum(
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("projects", "revisions", "takes", "spend")
        )


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_plan_gives_every_shot_a_provider_and_a_reason(example: Path) -> None:
    result = runner.invoke(app, ["plan", str(example), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    shots = [shot for scene in data["scenes"] for shot in scene["shots"]]
    assert shots
    for shot in shots:
        assert shot["provider"] and shot["reason"] and shot["preferred_provider"]
        assert shot["prompt"] and isinstance(shot["missing_components"], list)
        assert shot["estimated_cost_usd"] == 0.0  # offline: the animatic is free
    assert data["estimated_cost_usd"] == 0.0


def test_plan_human_output_is_a_table() -> None:
    result = runner.invoke(app, ["plan", str(EXAMPLES / "rooftop-sunset.yaml")])
    assert result.exit_code == 0
    assert "luma" in result.stdout and "animatic" in result.stdout and "Estimated" in result.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("title:", "titel:"), "unknown key 'titel' (did you mean 'title'?)"),
        (
            GOOD.replace("duration: 6", "duration: -6"),
            "duration: Input should be greater than or equal to 1",
        ),
        (GOOD.replace('["9:16"]', '["4:5"]'), "unknown format '4:5'"),
        (GOOD + "music: missing.mp3\n", "music file not found"),
        ("this: is: not: yaml: [", "not valid YAML"),
        ("", "the brief is empty"),
    ],
)
def test_bad_briefs_exit_2_with_one_line_and_write_nothing(
    text: str, message: str, tmp_path: Path
) -> None:
    brief = tmp_path / "brief.yaml"
    brief.write_text(text)
    for command in (["plan", str(brief)], ["make", str(brief), "--out", str(tmp_path / "o")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0]
    assert _store_rows(tmp_path / "data") == 0
    assert not (tmp_path / "o").exists()


def test_bad_overrides_are_refused(tmp_path: Path) -> None:
    brief = tmp_path / "brief.yaml"
    brief.write_text(GOOD)
    result = runner.invoke(app, ["plan", str(brief), "--provider", "1=sora"])
    assert result.exit_code == 2 and "unknown provider 'sora'" in result.stderr
    result = runner.invoke(app, ["plan", str(brief), "--provider", "luma"])
    assert result.exit_code == 2 and "SHOT=PROVIDER" in result.stderr


def test_show_unknown_project_exits_2() -> None:
    result = runner.invoke(app, ["show", "nope"])
    assert result.exit_code == 2 and "no project 'nope'" in result.stderr


def test_projects_when_there_are_none() -> None:
    result = runner.invoke(app, ["projects", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; sys.argv=['reelforge','--help']\n"
        "from agent.cli.main import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('av', 'pydantic', 'yaml', 'imageio_ffmpeg', 'sqlite3') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
