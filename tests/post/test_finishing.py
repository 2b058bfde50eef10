"""Finishing options from chat reach the export: stabilised takes, interpolated frame rate, UHD
files, voice-over (or a clear note that there is none), subtitles, all cached so a second export
with the same options makes nothing new but the delivery files; and the OTIO timeline, from the
chat tool and from `reelforge export --otio`."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from agent.conversation import words
from memory.models import Finishing
from tools.post.finishing import FinishingRun, subtitle_cues
from tools.post.probe import probe
from tools.production import Services
from tools.production.soundtrack import Soundtrack
from tools.settings import Settings
from tools.studio import Studio


@pytest.fixture
def planned(tmp_path: Path) -> Iterator[Studio]:
    """A one-second, one-shot 16:9 project, planned."""
    services = Services.open(Settings(data_dir=tmp_path / "data"))
    try:
        studio = Studio(services, "t", out_dir=tmp_path / "out")
        studio.update_brief(
            story="A girl stands on a rooftop at sunset.",
            mood="hopeful",
            style="cinematic",
            duration=1,
            formats=["16:9"],
            audience="travellers",
            scenes=[{"description": "a girl on a rooftop at sunset", "duration": 1}],
        )
        studio.plan()
        yield studio
    finally:
        asyncio.run(services.aclose())


@pytest.fixture
def studio(planned: Studio) -> Studio:
    """The planned project with one animatic take."""
    asyncio.run(planned.generate(1))
    return planned


def _ffmpeg_runs(log: Path) -> list[str]:
    if not log.exists():
        return []
    return [" ".join(json.loads(line)["argv"]) for line in log.read_text().splitlines()]


@pytest.mark.ffmpeg
def test_finishing_applies_then_is_reused(
    studio: Studio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "ffmpeg.jsonl"
    monkeypatch.setenv("REELFORGE_FFMPEG_LOG", str(log))
    said = words.finishing_changed(
        studio.set_finishing(stabilise=True, fps=48, uhd=True, subtitles="sidecar")
    )
    assert "Free" in said and "no new renders" in said
    work = studio.services.settings.media_dir / "work" / studio.session.project_id  # type: ignore[operator]

    first = words.exported(asyncio.run(studio.export()))
    stable = sorted(work.glob("stable-*.mp4"))
    assert len(stable) == 1  # one picked take, stabilised
    project, production = studio._require_project()
    export, uhd = production.exports[0], production.exports[1]
    info = probe(export)
    assert info.fps == 48 and info.frames == 48  # one second, interpolated, no dropped frames
    assert info.has_audio
    assert uhd.name.endswith("-uhd.mp4") and str(uhd) in first
    big = probe(uhd)
    assert (big.width, big.height) == (3840, 2160) and big.fps == 48
    # the shot has no dialogue and there is no voice-over: nothing to subtitle, and it says so
    assert "no subtitles" in first
    runs = _ffmpeg_runs(log)
    assert any("vidstab" in r or "deshake" in r for r in runs)
    assert any("framerate=fps=48" in r for r in runs)

    log.unlink()
    stamps = {p: p.stat().st_mtime_ns for p in [*stable, uhd]}
    second = words.exported(asyncio.run(studio.export()))
    again = _ffmpeg_runs(log)
    # nothing is stabilised, interpolated, assembled, encoded or upscaled again: only the
    # delivered file's loudness check runs
    assert not any("vidstab" in r or "deshake" in r for r in again)
    assert not any("framerate=" in r or "lanczos+accurate_rnd" in r for r in again)
    assert len(again) == 1 and "ebur128" in again[0], again
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert "reused from earlier exports: master, interpolate, audio, loudness, export" in second
    assert "stabilised 1 take(s) with" in second and "(1 reused, 0 new)" in second
    assert "(1 reused)" in second  # the UHD file

    # a regrade with narration subtitles burned in: the takes are not stabilised again and
    # the master is not cut or interpolated again (the grade runs in the export pass); no
    # voice is available, and the export says so
    import tools.post.sound as sound

    monkeypatch.setattr(sound.shutil, "which", lambda _name: None)
    studio.set_finishing(uhd=False, subtitles="burned", voiceover="Hello there.")
    log.unlink()
    studio.revise("make it moodier")
    third = words.exported(asyncio.run(studio.apply_revision("regrade")))
    runs = _ffmpeg_runs(log)
    assert not any("vidstab" in r or "deshake" in r for r in runs)
    assert any("subtitles=filename=" in r for r in runs)
    assert not any("[master]" in r or "framerate=" in r for r in runs)
    assert any("eq=brightness=" in r and "split" not in r for r in runs)  # graded export
    assert "no voice-over:" in third and "subtitles burned into 1 export(s)" in third
    assert probe(studio._require_project()[1].exports[0]).fps == 48


def test_set_finishing_validates_and_keeps_the_rest(planned: Studio) -> None:
    studio = planned
    studio.set_finishing(stabilise=True)
    said = words.finishing_changed(studio.set_finishing(fps=60, interpolation="best"))
    _, production = studio._require_project()
    assert production.finishing == Finishing(stabilise=True, fps=60, interpolation="best")
    assert "frame rate" in said and "Free" in said
    with pytest.raises(ValueError, match="fps"):
        studio.set_finishing(fps=30)
    studio.set_finishing(fps=24)
    assert studio._require_project()[1].finishing.fps is None
    # a re-plan keeps the finishing options
    studio.plan()
    assert studio._require_project()[1].finishing.stabilise


def test_no_voice_is_said_never_faked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.post.sound as sound

    monkeypatch.setattr(sound.shutil, "which", lambda _name: None)  # no espeak-ng
    steps: list[str] = []
    settings = Settings(data_dir=tmp_path / "data")
    run = FinishingRun(
        Finishing(voiceover="Hello there."),
        tmp_path / "work",
        settings,
        lambda name, _f: steps.append(name),
        stems=Soundtrack(settings, tmp_path / "work"),
    )
    assert asyncio.run(run.voice()) is None
    assert run.voice_file is None and "voiceover" not in steps
    (note,) = run.notes
    assert note.startswith("no voice-over:")
    assert "OPENAI_API_KEY" in note and "espeak-ng" in note
    assert not list((tmp_path / "work").glob("voice-*"))


@pytest.mark.ffmpeg
@pytest.mark.skipif(
    not (shutil.which("espeak-ng") or shutil.which("espeak")), reason="espeak-ng is not installed"
)
def test_espeak_voice_is_mixed(studio: Studio) -> None:
    studio.set_finishing(voiceover="Hello.", subtitles="burned")
    said = words.exported(asyncio.run(studio.export()))
    assert "voice-over spoken by espeak-ng" in said
    _, production = studio._require_project()
    assert probe(production.exports[0]).has_audio
    assert "subtitles burned" in said


def test_narration_subtitles_follow_the_voice() -> None:
    cues = subtitle_cues([], [], narration="One. Two words here.", narration_s=2.0, total_s=5.0)
    assert [c.text for c in cues] == ["One.", "Two words here."]
    assert cues[0].start_s == 0 and cues[-1].end_s == pytest.approx(2.0)


@pytest.mark.ffmpeg
def test_export_timeline_tool_writes_a_loadable_otio(studio: Studio, tmp_path: Path) -> None:
    from langchain_core.messages import AIMessage, ToolMessage

    from agent.runtime import ChatRuntime
    from tests.fakes.scripted import ScriptedChatModel, call

    target = tmp_path / "cut.otio"
    model = ScriptedChatModel(
        script=[call("export_timeline", "c0", out=str(target)), AIMessage("done")]
    )

    async def chat() -> None:
        settings = studio.services.settings
        async with ChatRuntime.open(settings, model=model, out_dir=tmp_path) as rt:
            await rt.send("t", "give me the timeline")

    asyncio.run(chat())
    (result,) = [str(m.content) for m in model.calls[-1] if isinstance(m, ToolMessage)]
    assert str(target) in result
    _assert_timeline(target)


def _assert_timeline(path: Path) -> None:
    import opentimelineio as otio  # type: ignore[import-untyped]

    timeline = otio.adapters.read_from_file(str(path))
    clips = list(timeline.find_clips())
    assert clips
    for clip in clips:
        media = Path(unquote(urlparse(clip.media_reference.target_url).path))
        assert media.is_file(), media


@pytest.mark.ffmpeg
def test_cli_export_otio_after_make(tmp_path: Path) -> None:
    brief = tmp_path / "tiny.yaml"
    brief.write_text(
        "title: Tiny Roof\nstory: A girl on a rooftop.\nmood: calm\nstyle: cinematic\n"
        'duration: 1\nformats: ["1:1"]\naudience: anyone\n'
        "scenes:\n  - description: a girl on a rooftop\n    duration: 1\n"
    )
    cli = [sys.executable, "-c", "from agent.cli.main import run; run()"]
    made = subprocess.run(
        [*cli, "make", str(brief), "--takes", "1", "--out", str(tmp_path / "o"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    project_id = json.loads(made.stdout)["project_id"]
    out = tmp_path / "cut.otio"
    exported = subprocess.run(
        [*cli, "export", project_id, "--otio", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == str(out)
    _assert_timeline(out)
