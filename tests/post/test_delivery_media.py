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
