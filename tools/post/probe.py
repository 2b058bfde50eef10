"""Media probing with PyAV (the bundled ffmpeg has no ffprobe): stream facts, luma, faststart."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av


class ProbeError(RuntimeError):
    """The file is missing, unreadable or not the media it should be."""


@dataclass(frozen=True)
class MediaInfo:
    """What reelforge needs to know about a media file; video fields are None without video."""

    path: Path
    duration_s: float
    container: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frames: int | None = None
    video_codec: str | None = None
    profile: str | None = None
    pix_fmt: str | None = None
    video_duration_s: float | None = None
    audio_codec: str | None = None
    audio_profile: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    audio_duration_s: float | None = None

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


def _open(path: Path) -> Any:
    if not path.is_file():
        raise ProbeError(f"{path}: no such file")
    try:
        return av.open(str(path))
    except av.FFmpegError as exc:
        raise ProbeError(f"{path}: not readable media ({exc})") from exc


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def probe(path: Path | str) -> MediaInfo:
    """Probe the first video and first audio stream of `path`."""
    path = Path(path)
    with _open(path) as container:
        fields: dict[str, Any] = {}
        if container.streams.video:
            v = container.streams.video[0]
            ctx = v.codec_context
            rate = v.average_rate or v.guessed_rate
            fields.update(
                width=ctx.width,
                height=ctx.height,
                fps=float(rate) if rate else None,
                frames=v.frames or None,
                video_codec=ctx.name,
                profile=ctx.profile,
                pix_fmt=ctx.pix_fmt,
                video_duration_s=_seconds(v.duration, v.time_base),
            )
        if container.streams.audio:
            a = container.streams.audio[0]
            fields.update(
                audio_codec=a.codec_context.name,
                audio_profile=a.codec_context.profile,
                sample_rate=a.codec_context.sample_rate,
                channels=a.layout.nb_channels,
                audio_duration_s=_seconds(a.duration, a.time_base),
            )
        if not fields:
            raise ProbeError(f"{path}: no audio or video stream")
        if container.duration is not None:
            duration = container.duration / av.time_base
        else:
            known = [fields.get("video_duration_s"), fields.get("audio_duration_s")]
            duration = max((d for d in known if d is not None), default=0.0)
        return MediaInfo(path=path, duration_s=duration, container=container.format.name, **fields)


def mean_luma(path: Path | str, samples: int = 5) -> float:
    """Mean Y (0..255) over up to `samples` frames spread evenly through the video."""
    path = Path(path)
    with _open(path) as container:
        if not container.streams.video:
            raise ProbeError(f"{path}: no video stream")
        stream = container.streams.video[0]
        total = stream.frames or 0
        step = max(1, total // max(1, samples)) if total else 1
        means: list[float] = []
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index % step:
                    continue
                is_yuv = frame.format.name.startswith(("yuv", "nv"))
                plane = (frame if is_yuv else frame.reformat(format="gray")).planes[0]
                data = bytes(plane)
                width, height, stride = plane.width, plane.height, plane.line_size
                rows = (data[r * stride : r * stride + width] for r in range(height))
                means.append(sum(sum(row) for row in rows) / (width * height))
                if len(means) >= samples:
                    break
        except av.FFmpegError as exc:
            raise ProbeError(f"{path}: decoding failed ({exc})") from exc
        if not means:
            raise ProbeError(f"{path}: no decodable frames")
        return sum(means) / len(means)


def moov_before_mdat(path: Path | str) -> bool:
    """True if an MP4/MOV file's `moov` atom precedes `mdat` (the faststart layout)."""
    path = Path(path)
    if not path.is_file():
        raise ProbeError(f"{path}: no such file")
    size = path.stat().st_size
    with path.open("rb") as fh:
        offset = 0
        while offset + 8 <= size:
            fh.seek(offset)
            atom_size, kind = struct.unpack(">I4s", fh.read(8))
            if atom_size == 1:
                (atom_size,) = struct.unpack(">Q", fh.read(8))
            elif atom_size == 0:
                atom_size = size - offset
            if kind == b"moov":
                return True
            if kind == b"mdat":
                return False
            if atom_size < 8:
                break
            offset += atom_size
    raise ProbeError(f"{path}: no moov or mdat atom at the top level")
