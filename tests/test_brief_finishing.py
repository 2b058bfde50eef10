"""Finishing options from a brief's `finishing:` block and from `reelforge plan/make` flags: they
reach the plan, the production record and the exports; a bad value is one line, exit 2, and
nothing is written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from memory.briefs import BriefError, parse_brief
from memory.models import Finishing
from tools.post.probe import probe
from tools.production import Services
from tools.settings import Settings

runner = CliRunner()

GOOD = {
    "title": "T",
    "story": "A girl on a roof.",
    "mood": "calm",
    "style": "cinematic",
    "duration": 6,
    "formats": ["9:16"],
    "audience": "everyone",
}

BRIEF = """\
title: Tiny
story: A girl stands on a rooftop at sunset.
mood: hopeful
style: cinematic
duration: {duration}
formats: {formats}
audience: everyone
scenes:
  - description: a girl on a rooftop at sunset
"""


def _brief(
    tmp_path: Path, extra: str = "", *, duration: float = 2, formats: str = '["9:16"]'
) -> Path:
    path = tmp_path / "brief.yaml"
    path.write_text(BRIEF.format(duration=duration, formats=formats) + extra)
    return path


def _store_rows(data_dir: Path) -> int:
    db = data_dir / "reelforge.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return sum(
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("projects", "revisions", "takes", "spend")
        )


def test_a_finishing_block_is_parsed() -> None:
    brief = parse_brief(
        {**GOOD, "finishing": {"fps": 50, "subtitles": "burned", "voiceover": "  Hi  there "}}
    )
    assert brief.finishing == Finishing(fps=50, subtitles="burned", voiceover="Hi there")
    assert parse_brief(GOOD).finishing is None


@pytest.mark.parametrize(
    ("finishing", "message"),
    [
        ({"fps": 30}, "finishing.fps: Input should be 48, 50 or 60 (got 30)"),
        ({"subtitles": True}, "finishing.subtitles: Input should be 'none', 'burned' or"),
        ({"fsp": 48}, "unknown key 'finishing.fsp' (did you mean 'fps'?)"),
        ({"interpolation": "slow"}, "finishing.interpolation: Input should be 'fast' or 'best'"),
        ("fast", "'finishing' is a mapping of options (stabilise, fps,"),
    ],
)
def test_bad_finishing_names_the_problem(finishing: object, message: str) -> None:
    with pytest.raises(BriefError) as err:
        parse_brief({**GOOD, "finishing": finishing})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_plan_json_has_the_briefs_finishing_with_the_flags_over_it(tmp_path: Path) -> None:
    path = _brief(tmp_path, "finishing:\n  fps: 50\n  subtitles: burned\n  posters: true\n")
    result = runner.invoke(app, ["plan", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["finishing"] == {
        **Finishing().model_dump(),
        "fps": 50,
        "subtitles": "burned",
        "posters": True,
    }
    # only the options given override; the rest of the brief's block stays
    result = runner.invoke(
        app, ["plan", str(path), "--json", "--fps", "60", "--no-posters", "--stabilise"]
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)["finishing"]
    assert (got["fps"], got["subtitles"], got["posters"], got["stabilise"]) == (
        60,
        "burned",
        False,
        True,
    )
    # --fps 24 and --voiceover "" turn the brief's interpolation and narration off
    voiced = _brief(tmp_path, "finishing:\n  fps: 50\n  voiceover: Hello.\n")
    result = runner.invoke(app, ["plan", str(voiced), "--json", "--fps", "24", "--voiceover", ""])
    got = json.loads(result.stdout)["finishing"]
    assert (got["fps"], got["voiceover"]) == (None, None)
    # without a block or flags: the defaults (24 fps, nothing added)
    plain = _brief(tmp_path)
    result = runner.invoke(app, ["plan", str(plain), "--json"])
    assert json.loads(result.stdout)["finishing"] == Finishing().model_dump()
    assert "Finishing: none" in runner.invoke(app, ["plan", str(plain)]).stdout


@pytest.mark.parametrize(
    ("extra", "flags", "message"),
    [
        ("finishing:\n  fps: 30\n", [], "finishing.fps: Input should be 48, 50 or 60 (got 30)"),
        (
            "finishing:\n  subtitles: yes\n",
            [],
            "YAML reads yes/no/on/off as true/false",
        ),
        ("finishing:\n  posterz: true\n", [], "unknown key 'finishing.posterz'"),
        ("", ["--fps", "30"], "--fps takes 48, 50 or 60"),
        ("", ["--subtitles", "yes"], "--subtitles: Input should be 'none', 'burned' or"),
        ("", ["--interpolation", "slow"], "--interpolation: Input should be 'fast' or 'best'"),
    ],
)
def test_bad_finishing_exits_2_with_one_line_and_writes_nothing(
    extra: str, flags: list[str], message: str, tmp_path: Path
) -> None:
    path = _brief(tmp_path, extra)
    out = tmp_path / "o"
    for command in (["plan", str(path), *flags], ["make", str(path), "--out", str(out), *flags]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], lines
    assert _store_rows(tmp_path / "data") == 0
    assert not out.exists()


@pytest.mark.ffmpeg
def test_make_finishes_as_the_flags_say(tmp_path: Path) -> None:
    # the brief asks for 60 fps and burned subtitles; the flags override both and add posters
    path = _brief(
        tmp_path,
        "finishing:\n  fps: 60\n  subtitles: burned\n",
        formats='["16:9", "1:1"]',
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "make",
            str(path),
            "--out",
            str(out),
            "--takes",
            "1",
            "--json",
            "--fps",
            "48",
            "--posters",
            "--subtitles",
            "sidecar",
            "--voiceover",
            "Hello from the roof.",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    videos = sorted((out / "rev-1").glob("*.mp4"))
    assert [p.name for p in videos] == ["tiny-16x9.mp4", "tiny-1x1.mp4"]
    for video in videos:
        info = probe(video)
        assert info.fps == 48 and info.frames == 96  # two seconds, interpolated
        assert probe(video.with_suffix(".jpg")).width == info.width  # a poster per export
        srt = video.with_suffix(".srt")  # subtitles from the voice-over text
        assert "Hello from the roof." in srt.read_text() and str(srt) in data["exports"]
    assert "note: interpolated to 48 fps" in result.stderr

    want = Finishing(fps=48, posters=True, subtitles="sidecar", voiceover="Hello from the roof.")
    shown = runner.invoke(app, ["show", data["project_id"], "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["finishing"] == want.model_dump()
    services = Services.open(Settings(data_dir=tmp_path / "data"))
    try:
        revision = services.store.latest(data["project_id"])
        assert revision is not None and revision.production.finishing == want
        assert revision.production.brief.finishing == want
    finally:
        services.store.close()


@pytest.mark.ffmpeg
def test_sidecar_subtitles_need_words(tmp_path: Path) -> None:
    """No dialogue and no voice-over: no .srt, and a note says why."""
    path = _brief(tmp_path, duration=1, formats='["1:1"]')
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["make", str(path), "--out", str(out), "--takes", "1", "--subtitles", "sidecar"]
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in (out / "rev-1").iterdir()] == ["tiny-1x1.mp4"]
    assert "no subtitles: no shot has dialogue and there is no voice-over text" in result.stderr
