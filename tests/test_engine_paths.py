"""Nothing a tool (or a brief) can be talked into: timelines only under the project's output
folder, references only from the folders the person chose (revealing nothing else), music
only from real audio files, probed before anything renders; output folders checked before
anything is paid; `show --json` gives the brief."""

from __future__ import annotations

import asyncio
import json
import os
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from memory.models import Brief
from tests.refs.conftest import make_png
from tests.test_cli import GOOD, _store_rows
from tools.production import Services
from tools.settings import Settings
from tools.studio import Studio, StudioError

runner = CliRunner()


def _wav(path: Path, seconds: float = 0.5) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x01" * int(8000 * seconds))
    return path


@pytest.fixture
def planned(tmp_path: Path) -> Iterator[Studio]:
    services = Services.open(Settings(data_dir=tmp_path / "data"))
    try:
        studio = Studio(services, "t", out_dir=tmp_path / "out", read_dirs=(tmp_path / "mine",))
        studio.update_brief(
            story="A girl stands on a rooftop at sunset.",
            mood="hopeful",
            style="cinematic",
            duration=1,
            formats=["16:9"],
            audience="travellers",
        )
        studio.plan()
        yield studio
    finally:
        asyncio.run(services.aclose())


@pytest.mark.parametrize("where", ["../../../x.otio", "/tmp/reelforge-escape/x.otio", "../x.otio"])
def test_export_timeline_outside_the_output_folder_is_refused(
    planned: Studio, tmp_path: Path, where: str
) -> None:
    with pytest.raises(StudioError, match="must be written under"):
        planned.export_timeline(where)
    assert not Path("/tmp/reelforge-escape").exists()
    assert not (tmp_path / "out").exists()  # no folder was made


def test_add_reference_reads_only_the_chosen_folders_and_reveals_nothing(
    planned: Studio, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    exists = make_png(secret / "a.png", "a")
    with pytest.raises(StudioError) as there:
        planned.add_reference(str(exists), "character", "Mia")
    with pytest.raises(StudioError) as missing:
        planned.add_reference(str(secret / "b.png"), "character", "Mia")
    # the same answer whether or not the file exists
    assert str(there.value).replace("a.png", "?") == str(missing.value).replace("b.png", "?")
    with pytest.raises(StudioError):
        planned.add_reference("../secret/a.png", "character", "Mia")
    mine = tmp_path / "mine"
    mine.mkdir()
    make_png(mine / "mia.png", "mia")
    added = planned.add_reference("mia.png", "character", "Mia")
    assert (added.kind, added.name, added.created) == ("character", "Mia", True)


def test_update_brief_music_must_be_an_audio_file(planned: Studio, tmp_path: Path) -> None:
    for bad in ("/proc/self/environ", "/etc/passwd", str(tmp_path / "none.mp3")):
        with pytest.raises(StudioError, match="music"):
            planned.update_brief(music=bad)
    text = tmp_path / "notes.mp3"
    text.write_text("not audio")
    with pytest.raises(StudioError, match="not an audio file"):
        planned.update_brief(music=str(text))
    assert "music" not in planned.session.draft
    song = _wav(tmp_path / "song.wav")
    planned.update_brief(music=str(song))
    assert planned.session.draft["music"] == str(song.resolve())


def test_a_brief_whose_music_is_not_audio_fails_plan_and_make_before_anything(
    tmp_path: Path,
) -> None:
    brief = tmp_path / "brief.yaml"
    brief.write_text(GOOD + "music: /etc/passwd\n")
    for command in (["plan", str(brief)], ["make", str(brief), "--out", str(tmp_path / "o")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "not an audio file" in lines[0]
    assert _store_rows(tmp_path / "data") == 0
    song = _wav(tmp_path / "song.wav")
    brief.write_text(GOOD + f"music: {song}\n")
    assert runner.invoke(app, ["plan", str(brief)]).exit_code == 0


@pytest.mark.parametrize("kind", ["file", "unwritable"])
def test_an_unusable_out_folder_is_refused_before_anything_is_paid(
    tmp_path: Path, kind: str
) -> None:
    brief = tmp_path / "brief.yaml"
    brief.write_text(GOOD)
    if kind == "file":
        out = tmp_path / "taken"
        out.write_text("a file")
    elif os.geteuid() == 0:  # root may write anywhere but where nothing can be written
        out = Path("/proc/reelforge-out/o")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        out = locked / "o"
    try:
        for command in (["make", str(brief), "--out", str(out)], ["chat", "--out", str(out)]):
            result = runner.invoke(app, command, input="")
            assert result.exit_code == 2, result.output
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and str(out) in lines[0], result.stderr
    finally:
        if (tmp_path / "locked").exists():
            (tmp_path / "locked").chmod(0o700)
    assert _store_rows(tmp_path / "data") == 0


def test_show_json_gives_the_brief(tmp_path: Path) -> None:
    services = Services.open(Settings(data_dir=tmp_path / "data"))
    try:
        studio = Studio(services, "t")
        studio.update_brief(
            story="A cat naps in the sun.",
            mood="calm",
            style="warm",
            duration=3,
            formats=["1:1"],
            audience="cat people",
            platform="instagram feed",
            title="Nap",
        )
        studio.plan()
        project = studio.project()
        assert project is not None
    finally:
        asyncio.run(services.aclose())
    shown = runner.invoke(app, ["show", project.id, "--json"])
    assert shown.exit_code == 0, shown.output
    brief = json.loads(shown.stdout)["brief"]
    assert brief == {
        "title": "Nap",
        "story": "A cat naps in the sun.",
        "mood": "calm",
        "style": "warm",
        "duration": 3.0,
        "formats": ["1:1"],
        "audience": "cat people",
        "platform": "instagram feed",
    }


def test_resume_refuses_an_unusable_out_folder_in_one_line(tmp_path: Path) -> None:
    from memory.models import Production
    from memory.store import ProjectStore
    from tools.production import RunSpec

    taken = tmp_path / "taken"
    taken.write_text("a file")
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    store = ProjectStore(settings.db_path)
    try:
        project = store.create_project("Test", Production(brief=_brief_model()))
        store.save_run(project.id, RunSpec(takes=1, out_dir=taken).model_dump_json())
    finally:
        store.close()
    for _ in range(2):  # and again: no traceback the second time either
        result = runner.invoke(app, ["resume", project.id])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith("error: --out") and "is a file" in lines[-1]
        assert "Traceback" not in result.output


def _brief_model() -> Brief:
    from memory.briefs import parse_brief

    return parse_brief(
        {
            "title": "Test",
            "story": "A girl on a roof.",
            "mood": "calm",
            "style": "cinematic",
            "duration": 6,
            "formats": ["9:16"],
            "audience": "everyone",
        }
    )
