"""OpenAI TTS/images and ElevenLabs speech, sound effects and music against the sandbox."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.providers.conftest import FakeSleep
from tools.providers.base import ProviderError
from tools.providers.elevenlabs import ElevenLabs
from tools.providers.openai_media import OpenAIMedia
from tools.providers.sandbox import Sandbox
from tools.settings import Settings


def is_mp3(path: Path) -> bool:
    head = path.read_bytes()[:3]
    return path.stat().st_size > 500 and (head == b"ID3" or head[:2] == b"\xff\xfb")


async def test_openai_speech_and_concept_art(
    sandbox: Sandbox, sandbox_settings: Settings, tmp_path: Path
) -> None:
    media = OpenAIMedia(sandbox_settings)
    try:
        voice = await media.speak("Once upon a time.", tmp_path / "vo.mp3", voice="coral")
        art = await media.image("a lighthouse at dusk", tmp_path / "art.png")
    finally:
        await media.aclose()
    assert is_mp3(voice)
    assert art.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sandbox.stats()["submissions"] == {"openai": 2}


async def test_elevenlabs_speech_sound_and_music(
    sandbox: Sandbox, sandbox_settings: Settings, tmp_path: Path
) -> None:
    voice = ElevenLabs(sandbox_settings)
    try:
        outs = [
            await voice.speak("Hello there.", tmp_path / "vo.mp3"),
            await voice.sound_effect("waves on rocks", tmp_path / "sfx.mp3", duration_s=2),
            await voice.music("calm piano", tmp_path / "music.mp3", length_s=4),
        ]
    finally:
        await voice.aclose()
    assert all(is_mp3(p) for p in outs)
    assert sandbox.stats()["submissions"] == {"elevenlabs": 3}


@pytest.mark.parametrize(
    ("kind", "expected", "words"),
    [
        ("out_of_credits", "credits", "out of credits"),
        ("retired", "retired", "pick another model"),
        ("moderation", "moderation", "rephrase"),
        ("bad_key", "auth", "OPENAI_API_KEY"),
    ],
)
async def test_openai_errors_are_actionable(
    kind: str,
    expected: str,
    words: str,
    sandbox: Sandbox,
    sandbox_settings: Settings,
    tmp_path: Path,
    fake_sleep: FakeSleep,
) -> None:
    sandbox.fault("openai", kind)
    media = OpenAIMedia(sandbox_settings, sleep=fake_sleep)
    try:
        with pytest.raises(ProviderError) as exc:
            await media.image("a lighthouse", tmp_path / "art.png")
    finally:
        await media.aclose()
    assert exc.value.kind == expected and words in str(exc.value)
    assert fake_sleep.waits == [] and not (tmp_path / "art.png").exists()


@pytest.mark.parametrize(
    ("kind", "expected", "words"),
    [
        ("out_of_credits", "credits", "out of credits"),  # ElevenLabs says 401 quota_exceeded
        ("bad_key", "auth", "ELEVENLABS_API_KEY"),
        ("retired", "retired", "pick another model"),
    ],
)
async def test_elevenlabs_errors_are_actionable(
    kind: str,
    expected: str,
    words: str,
    sandbox: Sandbox,
    sandbox_settings: Settings,
    tmp_path: Path,
) -> None:
    sandbox.fault("elevenlabs", kind)
    voice = ElevenLabs(sandbox_settings)
    try:
        with pytest.raises(ProviderError) as exc:
            await voice.speak("Hello.", tmp_path / "vo.mp3")
    finally:
        await voice.aclose()
    assert exc.value.kind == expected and words in str(exc.value)


async def test_rate_limits_are_waited_out(
    sandbox: Sandbox, sandbox_settings: Settings, tmp_path: Path, fake_sleep: FakeSleep
) -> None:
    sandbox.fault("openai", "rate_limit", retry_after=2)
    sandbox.fault("elevenlabs", "rate_limit", retry_after=3)
    media = OpenAIMedia(sandbox_settings, sleep=fake_sleep)
    voice = ElevenLabs(sandbox_settings, sleep=fake_sleep)
    try:
        await media.speak("Hi.", tmp_path / "a.mp3")
        await voice.speak("Hi.", tmp_path / "b.mp3")
    finally:
        await media.aclose()
        await voice.aclose()
    assert fake_sleep.waits == [2.0, 3.0]


def test_missing_keys_name_the_env_var(settings: Settings) -> None:
    with pytest.raises(ProviderError, match="OPENAI_API_KEY"):
        OpenAIMedia(settings)
    with pytest.raises(ProviderError, match="ELEVENLABS_API_KEY"):
        ElevenLabs(settings)


def test_faults_and_stats_over_http(sandbox: Sandbox) -> None:
    with httpx.Client(base_url=sandbox.url) as client:
        bad = client.post("/_sandbox/faults", json={"provider": "runway", "kind": "typo"})
        ok = client.post(
            "/_sandbox/faults", json=[{"provider": "luma", "kind": "rate_limit", "times": 2}]
        )
        stats = client.get("/_sandbox/stats").json()
        cleared = client.delete("/_sandbox/faults").json()
    assert bad.status_code == 400 and "unknown fault kind" in bad.json()["error"]
    assert ok.status_code == 200
    assert [(f["provider"], f["kind"], f["times"]) for f in stats["faults"]] == [
        ("luma", "rate_limit", 2)
    ]
    assert cleared["faults"] == []
