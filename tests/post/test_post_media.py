"""Post-production on real (tiny) media with the bundled ffmpeg, checked with PyAV and numpy."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest
from typer.testing import CliRunner

from memory.models import Grade
from tools.post import ops, otio_export, qc, sound
from tools.post import picture as p
from tools.post.builders import ClipSpec, ebur128_measure, media_arg, parse_ebur128_summary
from tools.post.finish import finish
from tools.post.probe import probe
from tools.post.runner import run

from .conftest import make_clip

pytestmark = pytest.mark.ffmpeg


def gray_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.float64) for f in container.decode(video=0)]


def rgb_mean(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return np.mean(np.stack(frames), axis=(0, 1, 2))


def shake(path: Path) -> float:
    """Mean global shift (px) between consecutive frames, by phase correlation."""
    frames = gray_frames(path)
    shifts = []
    for a, b in zip(frames, frames[1:], strict=False):
        cross = np.fft.fft2(a - a.mean()) * np.conj(np.fft.fft2(b - b.mean()))
        surface = np.fft.ifft2(cross / (np.abs(cross) + 1e-9)).real
        y, x = np.unravel_index(int(np.argmax(surface)), surface.shape)
        h, w = surface.shape
        shifts.append(np.hypot(x - w if x > w // 2 else x, y - h if y > h // 2 else y))
    return float(np.mean(shifts))


def loudness(path: Path) -> tuple[float, float]:
    found = parse_ebur128_summary(run(ebur128_measure(path)))
    return found["I"], found["true_peak"]


# --------------------------------------------------------------------------- picture


def test_upscale_reaches_uhd(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "small.mp4", "testsrc2=size=192x108:rate=24", duration=0.5)
    out = asyncio.run(ops.upscale(src, tmp_path / "uhd.mp4"))
    info = probe(out)
    assert (info.width, info.height) == (3840, 2160)
    assert info.has_audio


@pytest.mark.parametrize(("quality", "fps"), [("fast", 60), ("best", 48)])
def test_interpolation_hits_the_rate_without_dropping_frames(
    clips: dict[str, Path], tmp_path: Path, quality: str, fps: int
) -> None:
    src = clips["good"]
    out = asyncio.run(
        ops.interpolate(src, tmp_path / "i.mp4", fps=fps, quality=quality)  # type: ignore[arg-type]
    )
    info = probe(out)
    assert info.fps == fps
    frames = gray_frames(out)
    assert len(frames) == round(1.5 * fps)
    # new frames are not copies: every output frame differs from the one before
    diffs = [np.abs(a - b).mean() for a, b in zip(frames, frames[1:], strict=False)]
    assert min(diffs) > 0


@pytest.mark.parametrize("method", ["vidstab", "deshake"])
def test_stabilised_clip_is_steadier(shaky: Path, tmp_path: Path, method: str) -> None:
    out = tmp_path / f"{method}.mp4"
    used = asyncio.run(ops.stabilise(shaky, out, method=method))  # type: ignore[arg-type]
    assert used == method
    before, after = shake(shaky), shake(out)
    assert before > 4
    assert after < before * (0.25 if method == "vidstab" else 0.85)
    assert probe(out).frames == probe(shaky).frames


def test_luts_change_colour_the_way_they_say(clips: dict[str, Path], tmp_path: Path) -> None:
    src = clips["good"]
    base = rgb_mean(src)
    warm = rgb_mean(asyncio.run(ops.grade(src, tmp_path / "w.mp4", Grade(lut="warm"))))
    moody = rgb_mean(asyncio.run(ops.grade(src, tmp_path / "m.mp4", Grade(lut="moody"))))
    assert warm[0] - warm[2] > base[0] - base[2] + 10  # redder against blue
    assert moody.mean() < base.mean() - 5  # darker


def test_titles_and_subtitles_draw_pixels(clips: dict[str, Path], tmp_path: Path) -> None:
    src = clips["black"]
    titled = asyncio.run(
        ops.burn_text(src, tmp_path / "t.mp4", [p.Cue(0, 1.5, "it's: [50%], ok; yes\\no")])
    )
    srt = ops.write_srt([p.Cue(0, 1.5, "Hello, world")], tmp_path / "it's [a]: subs.srt")
    subbed = tmp_path / "s.mp4"
    run(p.burn_subtitles(src, subbed, srt))
    for out in (titled, subbed):
        lower = gray_frames(out)[10][45:, :]
        assert lower.max() > 100, out.name  # light text on a black frame


def test_crossfade_length_and_audio(clips: dict[str, Path], tmp_path: Path) -> None:
    joined = asyncio.run(
        ops.crossfade(
            [ClipSpec(clips["good"], 1.0), ClipSpec(clips["silent"], 1.0)],
            tmp_path / "x.mp4",
            overlap_s=0.5,
        )
    )
    info = probe(joined)
    assert info.video_duration_s == pytest.approx(1.5, abs=1 / 24)
    assert info.has_audio


# --------------------------------------------------------------------------- QC


def test_qc_catches_black_frozen_silent_and_flicker(clips: dict[str, Path]) -> None:
    reports = {
        name: qc.check(path, duration_s=1.5, aspect="16:9", expect_audio=True)
        for name, path in clips.items()
    }
    assert reports["good"].flags == () and reports["good"].score == 1.0
    assert reports["black"].has("black")
    assert reports["frozen"].has("frozen") and not reports["frozen"].has("black")
    assert reports["silent"].has("silent") and not reports["silent"].has("frozen")
    assert reports["flicker"].has("flicker")
    for name in ("black", "frozen", "silent", "flicker"):
        assert reports[name].score < reports["good"].score, name
    assert not qc.check(clips["frozen"], allow_still=True).has("frozen")
    wrong = qc.check(clips["good"], duration_s=4, aspect="9:16")
    assert wrong.has("duration") and wrong.has("aspect")


def test_qc_cli_json_and_bad_input(clips: dict[str, Path]) -> None:
    from agent.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["post", "qc", str(clips["black"]), "--json"])
    assert result.exit_code == 0, result.output
    assert '"kind": "black"' in result.output
    missing = runner.invoke(app, ["post", "upscale", "nope.mp4", "out.mp4"])
    assert missing.exit_code == 2
    bad = runner.invoke(app, ["post", "grade", str(clips["good"]), "o.mp4", "--look", "sepia"])
    assert bad.exit_code == 2


# --------------------------------------------------------------------------- sound and delivery


def _band_level(samples: np.ndarray, rate: int, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    band = (freqs > hz * 0.9) & (freqs < hz * 1.1)
    return float(spectrum[band].max())


def test_music_ducks_under_the_voice(tmp_path: Path) -> None:
    music = tmp_path / "music.wav"
    voice = tmp_path / "voice.wav"
    run(["-f", "lavfi", "-i", "sine=f=220:sample_rate=48000:duration=3", media_arg(music)])
    speech = "sine=f=1000:sample_rate=48000:duration=1,volume=4"  # about -9 dBFS RMS
    run(["-f", "lavfi", "-i", speech, media_arg(voice)])
    out = tmp_path / "mix.wav"
    run(sound.mix(out, duration_s=3, music=music, voice=voice, voice_start_s=1.0))
    with wave.open(str(out)) as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, 2)[:, 0]
    during = _band_level(data[int(1.3 * rate) : int(1.9 * rate)].astype(float), rate, 220)
    after = _band_level(data[int(2.5 * rate) : int(3.0 * rate)].astype(float), rate, 220)
    assert 20 * np.log10(after / during) > 10  # music at least 10 dB down under speech


def test_finished_exports_meet_loudness_with_voice_and_native_audio(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    voice = tmp_path / "vo.wav"
    run(
        [
            "-f",
            "lavfi",
            "-i",
            "sine=f=600:sample_rate=48000:duration=2,volume='0.6*lt(mod(t,0.5),0.3)':eval=frame",
            media_arg(voice),
        ]
    )
    exports = {"9:16": tmp_path / "v.mp4", "16:9": tmp_path / "h.mp4"}
    result = asyncio.run(
        finish(
            [ClipSpec(clips["good"], 1.5), ClipSpec(clips["black"], 1.0)],
            None,
            work_dir=tmp_path / "work",
            exports=exports,
            master_aspect="16:9",
            grade=Grade(lut="moody"),
            mood="calm",
            music=None,
            seed=3,
            voiceover=voice,
            posters=True,
        )
    )
    assert result.loudness_ok(), result.measured
    for aspect, path in exports.items():
        integrated, true_peak = loudness(path)
        assert integrated == pytest.approx(-14.0, abs=1.0)
        assert true_peak <= -1.0
        assert result.measured[aspect] == (integrated, true_peak)
        poster = result.posters[aspect]
        assert poster.suffix == ".jpg" and probe(poster).width == probe(path).width


def test_voice_over_without_espeak_is_an_error_not_silence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sound.shutil, "which", lambda name: None)
    with pytest.raises(sound.VoiceOverUnavailable):
        asyncio.run(ops.voice_over("hello there", tmp_path / "vo.wav"))
    assert not (tmp_path / "vo.wav").exists()


def test_otio_timeline_points_at_the_takes(clips: dict[str, Path], tmp_path: Path) -> None:
    takes = [
        otio_export.TimelineClip("shot 1", clips["good"], 1.5, {"take_id": "t-1"}),
        otio_export.TimelineClip("shot 2", clips["silent"], 1.0, {"take_id": "t-2"}),
    ]
    out = otio_export.write(
        otio_export.build_timeline("Golden Hour", takes, fps=24, audio=clips["good"]),
        tmp_path / "cut.otio",
    )
    timeline = otio.adapters.read_from_file(str(out))
    video = timeline.video_tracks()[0]
    assert [c.name for c in video] == ["shot 1", "shot 2"]
    assert timeline.duration().to_frames() == 36 + 24
    for clip in timeline.find_clips():
        media = Path(otio.url_utils.filepath_from_url(clip.media_reference.target_url))
        assert media.is_absolute() and media.is_file()
        assert clip.source_range.start_time.rate == 24
    assert video[0].metadata["reelforge"]["take_id"] == "t-1"
    with pytest.raises(otio_export.OTIOExportError):
        otio_export.build_timeline("x", [otio_export.TimelineClip("s", tmp_path / "gone.mp4", 1)])
