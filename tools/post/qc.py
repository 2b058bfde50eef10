"""Take QC: black, frozen, flickering, wrong length or shape, silent where sound was expected.

ffmpeg's own detectors (blackdetect, freezedetect, silencedetect) run in one decode; flicker,
which ffmpeg has no detector for, is the frame-to-frame jitter of mean luma read with PyAV.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np

from tools.post.builders import media_arg
from tools.post.probe import MediaInfo, ProbeError, probe
from tools.post.runner import FFmpegError, run

FlagKind = Literal["unreadable", "black", "frozen", "flicker", "duration", "aspect", "silent"]

PENALTY: dict[str, float] = {
    "unreadable": 1.0,
    "black": 0.6,
    "frozen": 0.4,
    "flicker": 0.3,
    "duration": 0.4,
    "aspect": 0.4,
    "silent": 0.4,
}
BLACK_SHARE = 0.5
"""A take that is black (or frozen) for at least this share of its length is flagged."""
FREEZE_SHARE = 0.5
FLICKER_LUMA = 4.0
"""Mean absolute second difference of per-frame mean luma (0..255) above which a take flickers."""
DURATION_TOLERANCE_S = 0.1
ASPECT_TOLERANCE = 0.02
SILENCE_DB = -50


@dataclass(frozen=True)
class Flag:
    kind: FlagKind
    message: str
    seconds: float = 0.0


@dataclass(frozen=True)
class QCReport:
    """Flags and a score in [0, 1] (1 = nothing wrong found)."""

    path: Path
    score: float
    flags: tuple[Flag, ...] = ()
    facts: dict[str, float] = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        return [f.message for f in self.flags]

    def has(self, kind: FlagKind) -> bool:
        return any(f.kind == kind for f in self.flags)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def detect_args(path: Path, *, video: bool, audio: bool) -> list[str]:
    """One decode through blackdetect + freezedetect (video) and silencedetect (audio)."""
    args = ["-i", media_arg(path)]
    chains = []
    if video:
        chains.append(
            "[0:v:0]blackdetect=d=0.1:pic_th=0.98:pix_th=0.1,freezedetect=n=0.003:d=0.4,"
            # per-frame mean luma for the flicker measure, from the same decode
            "scale=64:36,signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG[v]"
        )
    if audio:
        chains.append(f"[0:a:0]silencedetect=n={SILENCE_DB}dB:d=0.3[a]")
    args += ["-filter_complex", ";".join(chains)]
    if video:
        args += ["-map", "[v]"]
    if audio:
        args += ["-map", "[a]"]
    return [*args, "-f", "null", "-"]


def _spans(stderr: str, start_key: str, end_key: str, total: float) -> float:
    """Seconds covered by detector spans; a span still open at EOF runs to the end."""
    covered = 0.0
    events = re.findall(rf"({start_key}|{end_key})\s*[:=]\s*(-?[\d.]+)", stderr)
    opened: float | None = None
    for key, value in events:
        t = float(value)
        if key == start_key:
            opened = t
        elif opened is not None:
            covered += max(0.0, t - opened)
            opened = None
    if opened is not None:
        covered += max(0.0, total - opened)
    return min(covered, total)


def black_seconds(stderr: str, total: float) -> float:
    return _spans(stderr, "black_start", "black_end", total)


def frozen_seconds(stderr: str, total: float) -> float:
    return _spans(stderr, "freeze_start", "freeze_end", total)


def silent_seconds(stderr: str, total: float) -> float:
    return _spans(stderr, "silence_start", "silence_end", total)


YAVG = re.compile(r"lavfi\.signalstats\.YAVG=([\d.]+)")


def flicker_of(means: list[float]) -> float:
    """Mean |second difference| of per-frame mean luma: steady light, fades and one cut score
    low; light that jumps up and down between frames scores high."""
    if len(means) < 3:
        return 0.0
    second = np.diff(np.asarray(means), n=2)
    return float(np.abs(second).mean() / 2)


def luma_flicker(path: Path, *, max_frames: int = 600) -> float:
    """Mean |second difference| of per-frame mean luma: steady light, fades and one cut score
    low; light that jumps up and down between frames scores high."""
    means: list[float] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            small = frame.reformat(width=64, height=36, format="gray")
            means.append(float(small.to_ndarray().mean()))
            if len(means) >= max_frames:
                break
    if len(means) < 3:
        return 0.0
    second = np.diff(np.asarray(means), n=2)
    return float(np.abs(second).mean() / 2)


def check(
    path: Path | str,
    *,
    duration_s: float | None = None,
    aspect: str | None = None,
    expect_audio: bool = False,
    allow_still: bool = False,
    ffmpeg: str | None = None,
) -> QCReport:
    """QC one take. `allow_still` skips the frozen check (title cards are still by design)."""
    path = Path(path)
    try:
        info = probe(path)
    except ProbeError as exc:
        return QCReport(path, 0.0, (Flag("unreadable", f"unreadable: {exc}"),))
    flags: list[Flag] = []
    total = info.video_duration_s or info.duration_s
    facts: dict[str, float] = {"duration_s": round(total, 3)}
    flags += _shape_flags(info, duration_s, aspect)
    if expect_audio and not info.has_audio:
        flags.append(Flag("silent", "no audio stream, and this take should have sound", total))
    try:
        stderr = run(
            detect_args(path, video=info.has_video, audio=info.has_audio and expect_audio),
            ffmpeg=ffmpeg,
        )
    except FFmpegError as exc:
        return QCReport(path, 0.0, (Flag("unreadable", f"decoding failed: {exc}"),), facts)
    if info.has_video and total > 0:
        black = black_seconds(stderr, total)
        facts["black_s"] = round(black, 3)
        if black >= BLACK_SHARE * total:
            flags.append(Flag("black", f"black for {black:.1f}s of {total:.1f}s", black))
        frozen = frozen_seconds(stderr, total)
        facts["frozen_s"] = round(frozen, 3)
        if not allow_still and frozen >= FREEZE_SHARE * total and black < BLACK_SHARE * total:
            flags.append(Flag("frozen", f"frozen for {frozen:.1f}s of {total:.1f}s", frozen))
        means = [float(v) for v in YAVG.findall(stderr)]
        flicker = flicker_of(means) if means else luma_flicker(path)
        facts["flicker"] = round(flicker, 3)
        if flicker > FLICKER_LUMA:
            flags.append(Flag("flicker", f"flickering light (luma jitter {flicker:.1f})"))
    if expect_audio and info.has_audio:
        audio_total = info.audio_duration_s or total
        silent = silent_seconds(stderr, audio_total)
        facts["silent_s"] = round(silent, 3)
        if silent >= 0.9 * audio_total:
            flags.append(
                Flag("silent", f"silent for {silent:.1f}s where sound was expected", silent)
            )
    score = max(0.0, 1.0 - sum(PENALTY[f.kind] for f in flags))
    return QCReport(path, round(score, 3), tuple(flags), facts)


def _shape_flags(info: MediaInfo, duration_s: float | None, aspect: str | None) -> list[Flag]:
    flags: list[Flag] = []
    actual = info.duration_s
    if duration_s is not None and abs(actual - duration_s) > DURATION_TOLERANCE_S:
        flags.append(Flag("duration", f"duration {actual:.2f}s, asked {duration_s:g}s"))
    if aspect is not None and info.width and info.height:
        w, h = (int(x) for x in aspect.split(":"))
        if abs(info.width / info.height - w / h) > ASPECT_TOLERANCE:
            flags.append(Flag("aspect", f"aspect {info.width}x{info.height}, asked {aspect}"))
    return flags
