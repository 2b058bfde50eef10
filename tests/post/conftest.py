"""Tiny generated clips for the post-production media tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.post.builders import media_arg
from tools.post.runner import run

X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def make_clip(
    path: Path,
    video: str,
    *,
    audio: str | None = "sine=f=440:sample_rate=48000:duration={d}",
    duration: float = 1.0,
) -> Path:
    """Encode lavfi `video` (and `audio`, formatted with d=duration) into `path`."""
    args = ["-f", "lavfi", "-i", video.format(d=duration)]
    if audio is not None:
        args += ["-f", "lavfi", "-i", audio.format(d=duration)]
    args += [*X264, "-t", str(duration)]
    args += ["-c:a", "aac"] if audio is not None else ["-an"]
    run([*args, media_arg(path)])
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """good / black / frozen / silent / flicker takes, 160x90 at 24 fps, 1.5 s."""
    folder = tmp_path_factory.mktemp("post clips")
    src = "testsrc2=size=160x90:rate=24:duration={d}"
    specs = {
        "good": (src, "sine=f=440:sample_rate=48000:duration={d}"),
        "black": ("color=black:size=160x90:rate=24:duration={d}", None),
        "frozen": (src + ",trim=end_frame=1,loop=loop=-1:size=1", None),
        "silent": (src, "anullsrc=r=48000:cl=stereo:d={d}"),
        "flicker": (src + ",eq=brightness='0.15*(2*mod(n,2)-1)':eval=frame", None),
    }
    return {
        name: make_clip(folder / f"{name}.mp4", video, audio=audio, duration=1.5)
        for name, (video, audio) in specs.items()
    }


@pytest.fixture(scope="session")
def shaky(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A still picture seen through a window jumping by up to +/-8 px per frame, 2 s."""
    still = "testsrc2=size=320x180:rate=24:duration=2,trim=end_frame=1,loop=loop=47:size=1"
    jitter = ",crop=w=240:h=136:x='40+8*sin(n*7.3)*cos(n*2.9)':y='22+8*cos(n*5.1)*sin(n*1.7)'"
    path = tmp_path_factory.mktemp("shaky") / "shaky.mp4"
    return make_clip(path, still + jitter, audio=None, duration=2.0)
