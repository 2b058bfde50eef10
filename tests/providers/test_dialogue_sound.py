"""Build 4 of issue 12, last sentence: a shot's dialogue, word for word, feeds the subtitles of the
export and, where the shot's video model does not speak, a voice-over line over that shot, planned
and priced before the export. Veo speaks its own lines: it gets subtitles, never a second voice.
Every provider (Kling, Veo, OpenAI's voice) is the loopback sandbox."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent.cli.main import plan_json
from agent.conversation import words
from memory.models import Finishing, Production
from tools.post.finishing import DialogueLine, FinishingRun
from tools.post.probe import probe
from tools.production import Services
from tools.production.pricing import quote_sound
from tools.production.soundtrack import (
    Soundtrack,
    dialogue_to_voice,
    speaks_itself,
    stem_path,
    stem_price,
)
from tools.settings import Settings
from tools.studio import Studio

KLING_LINE = 'You came back, "after all these years".'
VEO_LINE = "I never really left."

pytestmark = pytest.mark.ffmpeg


def plan(services: Services, tmp_path: Path) -> Studio:
    studio = Studio(services, "t", out_dir=tmp_path / "out")
    studio.update_brief(
        title="The Pier",
        story="A daughter meets her father on the pier.",
        mood="tender",
        style="cinematic",
        duration=4,
        formats=["16:9"],
        audience="families",
        scenes=[
            {
                "description": "On the pier the daughter talks to her father",
                "dialogue": KLING_LINE,
                "provider": "kling",
                "duration": 2,
            },
            {
                "description": "The father answers her, smiling",
                "dialogue": VEO_LINE,
                "provider": "veo",
                "duration": 2,
            },
        ],
    )
    studio.plan()
    return studio


def test_dialogue_becomes_subtitles_and_a_voice_only_where_the_model_is_silent(
    sandbox_settings: Settings, tmp_path: Path
) -> None:
    services = Services.open(sandbox_settings)
    studio = plan(services, tmp_path)
    project, production = studio._require_project()
    shots = production.shots()
    assert shots[0].provider == "kling"
    # Veo, here through Runway's veo3.1 (the sandbox's keys), speaks the line itself
    assert (shots[1].provider, shots[1].model) == ("runway", "veo3.1")
    assert speaks_itself(shots[1]) and not speaks_itself(shots[0])
    assert [s.dialogue for s in shots] == [KLING_LINE, VEO_LINE]

    planned = [shot for scene in plan_json(production, 1)["scenes"] for shot in scene["shots"]]
    assert [s["dialogue_voice"] for s in planned] == ["voice-over", "native audio"]
    # planned and priced: one voice line, the Kling shot's, on the first voice engine (OpenAI)
    assert dialogue_to_voice(shots) == [("1.1", KLING_LINE)]
    quote = quote_sound(production, sandbox_settings, project.id)
    price = stem_price("voice", "openai", KLING_LINE)
    assert price > 0
    assert quote.parts == {"dialogue voice-over (openai)": price}
    assert quote.cost_usd == pytest.approx(price)

    async def render_and_export() -> tuple[str, Production]:
        try:
            await studio.generate(1)
            said = words.exported(await studio.export())
            return said, studio._require_project()[1]
        finally:
            await services.aclose()

    said, production = asyncio.run(render_and_export())

    # the voice engine spoke the Kling line and nothing else
    work = sandbox_settings.media_dir / "work" / project.id
    assert stem_path(work, "voice", "openai", KLING_LINE).exists()
    assert not stem_path(work, "voice", "openai", VEO_LINE).exists()
    assert len(list(work.glob("voice-track-*.wav"))) == 1
    assert "dialogue of shot(s) 1.1 spoken as voice-over" in said
    assert "dialogue of shot(s) 2.1 is spoken by the video model itself" in said

    # both lines are subtitled, word for word, each over its own shot
    (srt,) = [p for p in production.exports if p.suffix == ".srt"]
    text = srt.read_text(encoding="utf-8")
    assert KLING_LINE in text and VEO_LINE in text
    blocks = [b.splitlines() for b in text.strip().split("\n\n")]
    assert [b[2] for b in blocks] == [KLING_LINE, VEO_LINE]
    assert blocks[0][1].startswith("00:00:00,000 --> 00:00:02")
    assert blocks[1][1].startswith("00:00:02,000 --> 00:00:04")
    assert "subtitles written as .srt" in said


def test_no_voice_for_a_silent_models_line_is_said_never_faked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tools.post.sound as sound

    monkeypatch.setattr(sound.shutil, "which", lambda _name: None)  # no espeak-ng, no keys
    settings = Settings(data_dir=tmp_path / "data")
    run = FinishingRun(
        Finishing(),
        tmp_path / "work",
        settings,
        lambda _name, _f: None,
        stems=Soundtrack(settings, tmp_path / "work"),
    )
    lines = [
        DialogueLine("1.1", 0.0, KLING_LINE, voiced=True),
        DialogueLine("2.1", 2.0, VEO_LINE, voiced=False),
    ]
    assert asyncio.run(run.dialogue(lines, 4.0)) is None
    assert run.voice_file is None
    said = "\n".join(run.notes)
    assert "no voice-over:" in said and "espeak-ng" in said
    assert "dialogue of shot 1.1 is not spoken (no voice, see above)" in said
    assert "dialogue of shot(s) 2.1 is spoken by the video model itself" in said
    assert not list((tmp_path / "work").glob("voice-track-*"))


@pytest.mark.skipif(
    not (shutil.which("espeak-ng") or shutil.which("espeak")), reason="espeak-ng is not installed"
)
def test_offline_the_animatics_line_is_spoken_by_espeak_over_its_shot(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    run = FinishingRun(
        Finishing(),
        tmp_path / "work",
        settings,
        lambda _name, _f: None,
        stems=Soundtrack(settings, tmp_path / "work"),
    )
    track = asyncio.run(run.dialogue([DialogueLine("2.1", 1.5, VEO_LINE, voiced=True)], 4.0))
    assert track is not None and track.name.startswith("voice-track-")
    info = probe(track)
    assert info.has_audio and info.duration_s == pytest.approx(4.0, abs=0.05)
    assert "dialogue of shot(s) 2.1 spoken as voice-over" in "\n".join(run.notes)
    assert "voice-over spoken by espeak-ng" in "\n".join(run.notes)


@pytest.mark.parametrize(
    ("provider", "model", "speaks"),
    [
        ("veo", None, True),  # Veo directly (Gemini API or Vertex)
        ("runway", "veo3.1", True),  # Veo through Runway
        ("runway", "veo3.1_fast", True),
        ("runway", "gen4.5", False),
        ("kling", None, False),  # reelforge does not ask Kling for sound
        ("luma", None, False),
        ("pika", None, False),
        ("animatic", None, False),  # offline: espeak-ng speaks the line, if installed
    ],
)
def test_who_speaks_a_line(provider: str, model: str | None, speaks: bool, tmp_path: Path) -> None:
    from memory.briefs import parse_brief
    from tools.planner import plan_scenes
    from tools.providers.registry import Registry

    brief = parse_brief(
        {"title": "t", "story": "s", "mood": "calm", "style": "cinematic", "duration": 2,
         "formats": ["16:9"], "audience": "a",
         "scenes": [{"description": "she says hello", "dialogue": VEO_LINE}]}
    )  # fmt: skip
    shot = plan_scenes(brief, Registry(Settings(data_dir=tmp_path)))[0].shots[0]
    shot = shot.model_copy(update={"provider": provider, "model": model})
    assert speaks_itself(shot) is speaks
    assert dialogue_to_voice([shot]) == ([] if speaks else [(shot.id, VEO_LINE)])


def test_a_model_the_catalogue_says_speaks_is_one_export_treats_as_speaking() -> None:
    """The catalogue's `native_audio` (which puts the spoken line in a model's prompt) and the
    export's `speaks_itself` (which skips the voice-over) agree for every model: a line is never
    written for a model that stays silent, nor voiced twice over one that speaks."""
    from tools.providers.registry import catalogue

    for provider, models in catalogue().items():
        for profile in models:
            shot = SimpleNamespace(provider=provider, model=profile.model)
            assert speaks_itself(shot) is profile.native_audio, (provider, profile.model)  # type: ignore[arg-type]
