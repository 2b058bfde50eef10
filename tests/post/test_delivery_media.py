"""Platform presets change the delivered file itself: keyframe spacing, edit lists, audio rate."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from tools.post import builders as b
from tools.post.platforms import delivery_plan
from tools.post.runner import run

pytestmark = pytest.mark.ffmpeg


def _keyframe_gaps(path: Path) -> set[int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate)
        keys = sorted(
            round(float(packet.pts * stream.time_base) * rate)
            for packet in container.demux(stream)
            if packet.is_keyframe and packet.pts is not None
        )
    return {after - before for before, after in zip(keys, keys[1:], strict=False)}


def _audio_kbps(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        size = sum(packet.size for packet in container.demux(stream))
        return size * 8 / 1000 / float(stream.duration * stream.time_base)


def test_youtube_and_generic_exports_differ_as_the_presets_say(tmp_path: Path) -> None:
    master, audio = tmp_path / "master.mp4", tmp_path / "audio.wav"
    run(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24:duration=3", "-c:v", "libx264",
         "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(master)])  # fmt: skip
    noise = "anoisesrc=color=pink:amplitude=0.3:duration=3:sample_rate=48000"
    run(["-f", "lavfi", "-i", noise, "-ac", "2", str(audio)])
    plan = delivery_plan("youtube", ["16:9", "1:1"])
    specs = [
        b.ExportSpec(aspect, tmp_path / f"{aspect.replace(':', 'x')}.mp4", plan.delivery(aspect))
        for aspect in ("16:9", "1:1")
    ]
    run(b.export_formats(master, audio, specs, segments=[], master_aspect="16:9"))
    youtube, generic = (spec.path for spec in specs)
    # -g is the longest GOP x264 may use: half the frame rate for YouTube, two seconds otherwise
    assert max(_keyframe_gaps(youtube)) == 12
    assert 12 < max(_keyframe_gaps(generic)) <= 48
    assert b"elst" not in youtube.read_bytes()[:65536]  # no edit list in the moov
    assert b"elst" in generic.read_bytes()[:65536]
    assert _audio_kbps(youtube) > 1.15 * _audio_kbps(generic)  # 384k vs 192k asked


def test_a_title_overlay_is_drawn_only_in_its_span(tmp_path: Path) -> None:
    import numpy as np

    from tests.post.test_post_pure import _title_shot
    from tools.post.finishing import title_overlays

    master, audio = tmp_path / "master.mp4", tmp_path / "audio.wav"
    run(["-f", "lavfi", "-i", "color=c=0x202020:size=360x640:rate=24:duration=2",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(master)])  # fmt: skip
    run(["-f", "lavfi", "-i", "anoisesrc=amplitude=0.1:duration=2", "-ac", "2", str(audio)])
    plan = delivery_plan(None, ["9:16"])
    segments = [b.SegmentSpec(0.0, 1.0), b.SegmentSpec(1.0, 2.0, "pad")]
    shots = [_title_shot("animatic"), _title_shot("runway", 'It\'s 50% "off": [x]; ok')]
    overlays = title_overlays(shots, segments, plan.safe, ["9:16"])
    out = tmp_path / "titled.mp4"
    spec = b.ExportSpec("9:16", out)
    run(b.export_formats(master, audio, [spec], segments=segments, master_aspect="9:16",
                         overlays=overlays))  # fmt: skip
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    middle = slice(860, 1060), slice(100, 980)
    assert np.max(frames[12][middle]) > 200  # the animatic's clean plate is titled at export too
    assert np.max(frames[36][middle]) > 200  # white title letters over the runway plate
    assert np.max(frames[36][middle]) > np.max(frames[25][middle])  # fading in
