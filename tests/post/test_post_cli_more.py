"""`reelforge post loudness|voiceover|mix|subtitles|title|poster` on tiny generated media."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner, Result

from agent.cli.main import app
from tools.post import ops, sound
from tools.post import picture as p
from tools.post.builders import ebur128_measure, media_arg, parse_ebur128_summary
from tools.post.probe import probe
from tools.post.runner import run

from .conftest import make_clip

pytestmark = pytest.mark.ffmpeg

runner = CliRunner()
SPEECHY = (
    "sine=f=440:sample_rate=48000:duration={d},"
    "volume='0.25*(0.6+0.4*sin(2*PI*0.5*t))':eval=frame,aformat=channel_layouts=stereo"
)
HOSTILE = '50% off: it\'s "quoted" [x]; \\n'


def post(*args: str | Path) -> Result:
    return runner.invoke(app, ["post", *(str(a) for a in args)])


def assert_one_line_error(result: Result, code: int = 2) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.stdout == ""


def loudness(path: Path) -> tuple[float, float]:
    found = parse_ebur128_summary(run(ebur128_measure(path)))
    return found["I"], found["true_peak"]


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(pkt) for pkt in container.demux(video=0) if pkt.size]


def gray(path: Path, frame: int) -> np.ndarray:
    with av.open(str(path)) as container:
        for n, image in enumerate(container.decode(video=0)):
            if n == frame:
                return image.to_ndarray(format="gray").astype(np.float64)
    raise AssertionError(f"{path} has no frame {frame}")


def band_level(samples: np.ndarray, rate: int, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[(freqs > hz * 0.9) & (freqs < hz * 1.1)].max())


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """talky (3 s, quiet modulated sound), mute (no audio), voice and music (audio only)."""
    folder = tmp_path_factory.mktemp("post cli more")
    picture = "testsrc2=size=160x90:rate=24:duration={d}"
    voice, music = folder / "voice.wav", folder / "music.wav"
    speech = "sine=f=1000:sample_rate=48000:duration=1,volume=4"
    run(["-f", "lavfi", "-i", speech, media_arg(voice)])
    run(["-f", "lavfi", "-i", "sine=f=220:sample_rate=48000:duration=2", media_arg(music)])
    return {
        "talky": make_clip(folder / "talky.mp4", picture, audio=SPEECHY, duration=3.0),
        "mute": make_clip(folder / "mute.mp4", picture, audio=None, duration=1.5),
        "voice": voice,
        "music": music,
    }


# --------------------------------------------------------------------------- loudness


def test_loudness_levels_a_video_and_copies_its_picture(
    media: dict[str, Path], tmp_path: Path
) -> None:
    src, out = media["talky"], tmp_path / "levelled.mp4"
    result = post("loudness", src, out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert "before: " in result.stderr and "after: " in result.stderr
    integrated, true_peak = loudness(out)
    assert integrated == pytest.approx(-14.0, abs=1.0)
    assert true_peak <= -1.0
    assert loudness(src)[0] < -20  # it was quiet: the command did the work
    assert video_packets(out) == video_packets(src)  # stream copy, not a re-encode
    assert probe(out).has_audio


def test_loudness_other_target_into_an_audio_file(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "levelled.wav"
    result = post("loudness", media["talky"], out, "--lufs", "-18", "--true-peak", "-2")
    assert result.exit_code == 0, result.stderr
    info = probe(out)
    assert info.has_audio and not info.has_video
    integrated, true_peak = loudness(out)
    assert integrated == pytest.approx(-18.0, abs=1.0)
    assert true_peak <= -2.0


def test_loudness_bad_input(media: dict[str, Path], clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    assert_one_line_error(post("loudness", tmp_path / "missing.mp4", out))
    assert_one_line_error(post("loudness", media["mute"], out))  # no audio stream
    assert_one_line_error(post("loudness", media["talky"], media["talky"]))
    assert_one_line_error(post("loudness", media["talky"], out, "--lufs", "-5"))
    silent = post("loudness", clips["silent"], out)  # an audio stream of digital silence
    assert silent.exit_code == 2
    assert silent.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "silent" in silent.stderr
    assert not out.exists()


# --------------------------------------------------------------------------- voice-over


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_voiceover_speaks_offline(tmp_path: Path) -> None:
    out = tmp_path / "vo.wav"
    result = post("voiceover", "The city wakes up before the sun does.", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    info = probe(out)
    assert info.has_audio and info.duration_s > 1.0
    assert loudness(out)[0] > -40  # speech, not silence


def test_voiceover_without_an_engine_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sound.shutil, "which", lambda name: None)
    out = tmp_path / "vo.wav"
    result = post("voiceover", "hello there", out)
    assert_one_line_error(result, code=1)
    assert "espeak-ng" in result.stderr
    assert not out.exists()


def test_voiceover_bad_input(tmp_path: Path) -> None:
    assert_one_line_error(post("voiceover", "   ", tmp_path / "vo.wav"))
    assert_one_line_error(post("voiceover", "hello", tmp_path / "vo.mp3"))
    assert_one_line_error(post("voiceover", "hello", tmp_path / "vo.wav", "--engine", "openai"))


def test_voiceover_help_says_paid_voices_go_through_the_ledger() -> None:
    result = post("voiceover", "--help")
    assert result.exit_code == 0
    assert "ledger" in result.stdout and "ElevenLabs" in result.stdout


# --------------------------------------------------------------------------- mix


def test_mix_ducks_music_under_the_voice_and_levels(media: dict[str, Path], tmp_path: Path) -> None:
    src, out = media["talky"], tmp_path / "mixed.mp4"
    result = post("mix", src, out, "--voice", media["voice"], "--music", media["music"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    integrated, true_peak = loudness(out)
    assert integrated == pytest.approx(-14.0, abs=1.0)
    assert true_peak <= -1.0
    assert video_packets(out) == video_packets(src)
    with av.open(str(out)) as container:
        rate = container.streams.audio[0].rate
        left = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    assert len(left) / rate == pytest.approx(3.0, abs=0.1)
    voice_on = band_level(left[int(0.3 * rate) : int(0.9 * rate)], rate, 220)
    voice_off = band_level(left[int(2.2 * rate) : int(2.8 * rate)], rate, 220)
    assert 20 * np.log10(voice_off / voice_on) > 8  # music ducked while the voice speaks
    assert band_level(left[int(0.3 * rate) : int(0.9 * rate)], rate, 1000) > voice_on


def test_mix_over_a_mute_video_is_the_voice(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "mixed.mp4"
    result = post("mix", media["mute"], out, "--voice", media["voice"])
    assert result.exit_code == 0, result.stderr
    assert "no sound of its own" in result.stderr
    assert probe(out).has_audio


def test_mix_bad_input(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    video, voice, mute = media["talky"], media["voice"], media["mute"]
    assert_one_line_error(post("mix", video, out, "--voice", tmp_path / "missing.wav"))
    assert_one_line_error(post("mix", video, out, "--voice", mute))  # voice without audio
    assert_one_line_error(post("mix", video, out, "--voice", voice, "--music", mute))
    assert_one_line_error(post("mix", voice, out, "--voice", voice))  # no picture
    assert_one_line_error(post("mix", video, video, "--voice", voice))
    assert_one_line_error(post("mix", video, voice, "--voice", voice))
    assert not out.exists()


# --------------------------------------------------------------------------- subtitles, title


def test_subtitles_burn_and_sidecar(clips: dict[str, Path], tmp_path: Path) -> None:
    src = clips["black"]
    srt = ops.write_srt([p.Cue(0, 1.5, "Hello, world")], tmp_path / "it's [a]: subs.srt")
    burned = tmp_path / "burned.mp4"
    result = post("subtitles", src, burned, "--srt", srt)
    assert result.exit_code == 0, result.stderr
    assert gray(burned, 10)[45:, :].max() > 100  # light text on a black frame
    kept = tmp_path / "kept.mp4"
    result = post("subtitles", src, kept, "--srt", srt, "--sidecar")
    assert result.exit_code == 0, result.stderr
    sidecar = tmp_path / "kept.srt"
    assert sidecar.read_text(encoding="utf-8") == srt.read_text(encoding="utf-8")
    assert video_packets(kept) == video_packets(src)
    assert result.stdout.strip() == f"{kept}\t{sidecar}"


def test_subtitles_bad_input(clips: dict[str, Path], tmp_path: Path) -> None:
    src, out = clips["black"], tmp_path / "o.mp4"
    empty = tmp_path / "empty.srt"
    empty.write_text("no cues here\n", encoding="utf-8")
    assert_one_line_error(post("subtitles", src, out, "--srt", tmp_path / "missing.srt"))
    assert_one_line_error(post("subtitles", src, out, "--srt", empty))
    assert_one_line_error(post("subtitles", src, src, "--srt", empty))


def test_title_draws_hostile_text_literally_in_its_span(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    src, out = clips["black"], tmp_path / "titled.mp4"
    result = post("title", src, out, "--text", HOSTILE, "--start", "0.5", "--end", "1.0")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    before, during = 6, 18  # 0.25 s and 0.75 s at 24 fps
    region = (slice(45, None), slice(None))
    assert np.abs(gray(out, during)[region] - gray(src, during)[region]).mean() > 2
    assert np.abs(gray(out, before)[region] - gray(src, before)[region]).max() < 30
    assert probe(out).frames == probe(src).frames


def test_title_bad_input(clips: dict[str, Path], tmp_path: Path) -> None:
    src, out = clips["black"], tmp_path / "o.mp4"
    assert_one_line_error(post("title", src, out, "--text", "  "))
    assert_one_line_error(post("title", src, src, "--text", "Hi"))
    assert_one_line_error(post("title", src, out, "--text", "Hi", "--start", "1", "--end", "0.5"))
    assert_one_line_error(post("title", src, out, "--text", "Hi", "--start", "9"))
    assert_one_line_error(post("title", tmp_path / "missing.mp4", out, "--text", "Hi"))


# --------------------------------------------------------------------------- poster


def test_poster_writes_a_jpeg_frame(clips: dict[str, Path], tmp_path: Path) -> None:
    src = clips["good"]
    for at in (["--at", "0.5"], []):
        out = tmp_path / f"poster{len(at)}.jpg"
        result = post("poster", src, out, *at)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == str(out)
        info = probe(out)
        assert (info.width, info.height) == (160, 90)
    last = tmp_path / "last.jpg"
    assert post("poster", src, last, "--at", "1.5").exit_code == 0  # the very end: last frame
    assert last.stat().st_size > 0


def test_poster_bad_input(clips: dict[str, Path], tmp_path: Path) -> None:
    src = clips["good"]
    assert_one_line_error(post("poster", src, tmp_path / "p.png"))
    assert_one_line_error(post("poster", src, tmp_path / "p.jpg", "--at", "99"))
    assert_one_line_error(post("poster", tmp_path / "missing.mp4", tmp_path / "p.jpg"))
    assert not (tmp_path / "p.jpg").exists()
