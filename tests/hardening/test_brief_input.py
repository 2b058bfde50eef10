"""Briefs never trace back: each hostile brief is one line on stderr, exit 2, nothing stored,
through `reelforge plan` and through memory.briefs directly."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from memory.briefs import BriefError, load_brief, parse_brief
from memory.models import Reference

GOOD: dict[str, Any] = {
    "title": "Test",
    "story": "A girl on a roof.",
    "mood": "calm",
    "style": "cinematic",
    "duration": 6,
    "formats": ["9:16"],
    "audience": "everyone",
}


def _yaml(**changes: Any) -> str:
    return json.dumps({**GOOD, **changes})  # JSON is YAML


CASES = {
    "nested-title": ("title: " + "[" * 5000 + "\n" + _yaml()[1:-1].replace(", ", "\n"), "nested"),
    "blank-story": (_yaml(story="   \n\t "), "story: must not be blank"),
    "tiny-scene": (
        _yaml(scenes=[{"description": "a roof", "duration": 0.0001}]),
        "greater than or equal to 1",
    ),
    "tiny-brief": (_yaml(duration=0.0001), "duration: Input should be greater than or equal to 1"),
    "bool-duration": (_yaml(duration=True), "not true/false"),
    "bool-scene-duration": (
        _yaml(scenes=[{"description": "a roof", "duration": True}]),
        "not true/false",
    ),
    "long-title": (_yaml(title="x" * 100_000), "title: String should have at most 200"),
    "newline-title": (_yaml(title="Test\nInjected: line"), "title: must not contain line breaks"),
    "ansi-title": (_yaml(title="\x1b[31mRed\x1b[0m"), "title: must not contain"),
    "c1-mood": (_yaml(mood="calm\x9b2J"), "mood: must not contain"),
    "ansi-story": (_yaml(story="A roof.\x1b]0;pwned\x07"), "story: must not contain"),
    "ansi-scene": (
        _yaml(scenes=[{"description": "a roof\x1b[2J"}]),
        "scenes.0.description: must not contain",
    ),
}


def _rows(data_dir: Path) -> int:
    db = data_dir / "reelforge.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return sum(
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("projects", "revisions", "takes", "spend")
        )


@pytest.mark.parametrize("case", list(CASES))
def test_plan_refuses_in_one_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REELFORGE_DATA_DIR", str(tmp_path / "data"))
    text, message = CASES[case]
    brief = tmp_path / "brief.yaml"
    brief.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", str(brief)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert len(lines[0]) < 400 and "\x1b" not in lines[0] and "\x9b" not in lines[0]
    assert "Traceback" not in result.output
    assert _rows(tmp_path / "data") == 0


@pytest.mark.parametrize("case", list(CASES))
def test_memory_briefs_refuses_in_one_line(case: str, tmp_path: Path) -> None:
    text, message = CASES[case]
    brief = tmp_path / "brief.yaml"
    brief.write_text(text, encoding="utf-8")
    with pytest.raises(BriefError) as error:
        load_brief(brief)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_deep_data_given_directly_is_one_error() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(BriefError):
        parse_brief({**GOOD, "title": deep})


def test_a_good_brief_with_a_one_second_scene_and_multiline_story_passes() -> None:
    brief = parse_brief(
        {**GOOD, "story": "Line one.\nLine two.", "scenes": [{"description": "x", "duration": 1}]}
    )
    assert brief.story == "Line one.\nLine two."


@pytest.mark.parametrize("name", ["a\nb", "\x1b[31mred", "tab\there", " ", "x\x85y"])
def test_reference_names_with_control_characters_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        Reference(id="r1", kind="character", name=name)
