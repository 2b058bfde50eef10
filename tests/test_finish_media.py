"""End-to-end finishing with the bundled ffmpeg on tiny clips; checked with PyAV and ebur128."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from memory.models import EXPORT_SIZES, Grade, aspect_tag
from tools.post import builders as b
from tools.post.finish import STEPS, FinishResult, finish
from tools.post.probe import ProbeError, mean_luma, moov_before_mdat, probe
from tools.post.runner import run

pytestmark = pytest.mark.ffmpeg

FPS = 24
CLIPS = [("testsrc2", 0.75, 24), ("smptehdbars", 1.0, 30), ("testsrc", 0.5, 25)]
TOTAL_S = sum(d for _, d, _ in CLIPS)
FRAME = 1 / FPS


@pytest.fixture(scope="module")
def clip_specs(tmp_path_factory: pytest.TempPathFactory) -> list[b.ClipSpec]:
    folder = tmp_path_factory.mktemp("clips") / 'it\'s a "clip" dir'
    folder.mkdir()
    specs = []
    for i, (source, duration, rate) in enumerate(CLIPS):
        path = folder / f"-take {i}:v.mp4"
        run(
            [
                "-f",
                "lavfi",
                "-i",
                f"{source}=size=640x360:rate={rate}:duration=1.2",
                "-f",
                "lavfi",
                "-i",
                "sine=f=330:duration=1.2",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                b.media_arg(path),
            ]
        )
        specs.append(b.ClipSpec(path, duration))
    return specs


def ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of `path`, measured by ffmpeg's ebur128."""
    stderr = run(["-i", str(path), "-map", "0:a:0", "-af", "ebur128=peak=true", "-f", "null", "-"])
    summary = stderr[stderr.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"True peak:\s+Peak:\s+(-?[\d.]+) dBFS", summary)
    assert integrated and peak, summary
    return float(integrated.group(1)), float(peak.group(1))


def assert_delivery(path: Path, aspect: str) -> None:
    info = probe(path)
    assert (info.width, info.height) == EXPORT_SIZES[aspect]
    assert info.video_codec == "h264" and info.profile == "High"
    assert info.pix_fmt == "yuv420p"
    assert info.fps == FPS
    assert info.audio_codec == "aac" and info.sample_rate == 48000 and info.channels == 2
    assert moov_before_mdat(path)
    assert info.video_duration_s == pytest.approx(TOTAL_S, abs=FRAME)
    assert info.duration_s == pytest.approx(TOTAL_S, abs=FRAME)
    integrated, true_peak = ebur128(path)
    assert integrated == pytest.approx(-14.0, abs=1.0)
    assert true_peak <= -1.0


GRADE = Grade(brightness=-0.05, saturation=1.1, temperature=0.3)
SEGMENTS = [
    b.SegmentSpec(0.0, 0.75, "crop", 0.3),
    b.SegmentSpec(0.75, 1.75, "pad"),
    b.SegmentSpec(1.75, 2.25, "crop", 0.7),
]


@pytest.fixture(scope="module")
def finished(
    clip_specs: list[b.ClipSpec], tmp_path_factory: pytest.TempPathFactory
) -> tuple[FinishResult, dict[str, float], Path]:
    root = tmp_path_factory.mktemp("finish")
    seen: dict[str, float] = {}
    exports = {a: root / "exports dir" / f"reel {aspect_tag(a)}.mp4" for a in EXPORT_SIZES}
    result = asyncio.run(
        finish(
            clip_specs,
            SEGMENTS,
            work_dir=root / "work",
            exports=exports,
            master_aspect="16:9",
            grade=GRADE,
            mood="dark and tense",
            music=None,
            seed=11,
            on_progress=lambda step, fraction: seen.__setitem__(step, fraction),
        )
    )
    return result, seen, root


@pytest.mark.parametrize("aspect", list(EXPORT_SIZES))
def test_every_format_is_a_delivery_file(
    finished: tuple[FinishResult, dict[str, float], Path], aspect: str
) -> None:
    result = finished[0]
    assert_delivery(result.exports[aspect], aspect)


def test_master_audio_and_progress(finished: tuple[FinishResult, dict[str, float], Path]) -> None:
    result, seen, root = finished
    assert seen == dict.fromkeys(STEPS, 1.0)
    master = probe(result.master)
    assert (master.width, master.height) == (640, 360)
    assert master.frames == round(TOTAL_S * FPS)
    assert not master.has_audio
    assert result.loudness.normalization_type == "linear"
    assert result.loudness.integrated_lufs == pytest.approx(-14.0, abs=0.5)
    assert probe(result.audio).audio_duration_s == pytest.approx(TOTAL_S, abs=1e-3)
    assert not list((root / "exports dir").glob("*.part.*"))


def test_identical_inputs_reuse_intermediates(
    finished: tuple[FinishResult, dict[str, float], Path], clip_specs: list[b.ClipSpec]
) -> None:
    result, _, root = finished
    again = asyncio.run(
        finish(
            clip_specs,
            SEGMENTS,
            work_dir=root / "work",
            exports={"16:9": root / "again.mp4"},
            master_aspect="16:9",
            grade=GRADE,
            mood="dark and tense",
            music=None,
            seed=11,
        )
    )
    assert again.reused == ("master", "audio", "loudness", "export")
    assert (again.master, again.audio) == (result.master, result.audio)
    assert again.loudness == result.loudness
    assert (root / "again.mp4").read_bytes() == result.exports["16:9"].read_bytes()


def test_a_regrade_reencodes_only_the_exports(
    finished: tuple[FinishResult, dict[str, float], Path], clip_specs: list[b.ClipSpec]
) -> None:
    result, _, root = finished
    master_made = result.master.stat().st_mtime_ns
    darker = GRADE.model_copy(update={"brightness": GRADE.brightness - 0.2})
    seen: list[str] = []
    again = asyncio.run(
        finish(
            clip_specs,
            SEGMENTS,
            work_dir=root / "work",
            exports={"16:9": root / "darker.mp4"},
            master_aspect="16:9",
            grade=darker,
            mood="dark and tense",
            music=None,
            seed=11,
            on_progress=lambda step, fraction: seen.append(step),
        )
    )
    assert again.reused == ("master", "audio", "loudness")
    assert again.master == result.master and result.master.stat().st_mtime_ns == master_made
    assert mean_luma(root / "darker.mp4") < mean_luma(result.exports["16:9"]) - 10


def test_finish_with_peaky_short_music(clip_specs: list[b.ClipSpec], tmp_path: Path) -> None:
    music = tmp_path / "song (demo).m4a"
    clicks = "0.03*sin(2*PI*220*t)+0.95*sin(2*PI*1500*t)*lt(mod(t,0.4),0.004)"
    run(["-f", "lavfi", "-i", f"aevalsrc='{clicks}':s=44100:d=1.1", "-c:a", "aac", str(music)])
    out = tmp_path / "vertical.mp4"
    result = asyncio.run(
        finish(
            clip_specs,
            None,
            work_dir=tmp_path / "work",
            exports={"9:16": out},
            master_aspect="16:9",
            grade=Grade(),
            mood="",
            music=music,
            seed=0,
        )
    )
    assert result.loudness.pre_gain_db > 0
    assert_delivery(out, "9:16")


def test_darker_grade_lowers_luma(clip_specs: list[b.ClipSpec], tmp_path: Path) -> None:
    master = tmp_path / "master.mp4"
    run(b.assemble_master(clip_specs[:1], master, width=320, height=180))
    audio = tmp_path / "a.wav"
    run(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "1", str(audio)])
    lumas = {}
    for name, grade in (("neutral", Grade()), ("dark", Grade(brightness=-0.2))):
        out = tmp_path / f"{name}.mp4"
        spec = b.ExportSpec("16:9", out)
        run(b.export_formats(master, audio, [spec], segments=[], master_aspect="16:9", grade=grade))
        lumas[name] = mean_luma(out)
    assert lumas["dark"] < lumas["neutral"] - 20


def test_probe_errors_are_clear(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video" * 64)
    with pytest.raises(ProbeError, match="no such file"):
        probe(tmp_path / "missing.mp4")
    with pytest.raises(ProbeError, match="not readable"):
        probe(junk)
    with pytest.raises(ProbeError):
        moov_before_mdat(junk)


def test_a_silent_music_file_is_a_clear_error(clip_specs: list[b.ClipSpec], tmp_path: Path) -> None:
    from tools.post.finish import FinishError

    music = tmp_path / "quiet.wav"
    run(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "2", str(music)])
    with pytest.raises(FinishError, match=r"the audio bed .* is silent"):
        asyncio.run(
            finish(
                clip_specs[:1],
                None,
                work_dir=tmp_path / "work",
                exports={"16:9": tmp_path / "x.mp4"},
                master_aspect="16:9",
                grade=Grade(),
                mood="",
                music=music,
                seed=0,
                keep_native_audio=False,  # the clips' own sine would make the mix audible
            )
        )
    assert not (tmp_path / "x.mp4").exists()
