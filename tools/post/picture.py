"""Pure ffmpeg argument builders for picture work: upscale, interpolate, grade, stabilise,
transitions, titles, subtitles and poster frames.

Like `builders`, each returns the argv after the binary; media paths are single `file:`
arguments. The few paths a filter must name (LUT, font, vidstab transforms, subtitles) are
escaped with `builders.filter_value`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from memory.models import Grade
from tools.post.builders import (
    BT709,
    ClipSpec,
    _num,
    filter_value,
    frame_count,
    grade_filters,
    media_arg,
)

InterpolationQuality = Literal["fast", "best"]
FONT_DIR = Path(__file__).resolve().parent / "assets" / "fonts"
FONT = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
UHD = (3840, 2160)

WORK_VIDEO = [
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-crf",
    "18",
    "-pix_fmt",
    "yuv420p",
    "-color_primaries",
    "bt709",
    "-color_trc",
    "bt709",
    "-colorspace",
    "bt709",
]
"""Intermediate encode for single-step outputs: visually lossless enough to feed the next step."""
KEEP_AUDIO = ["-map", "0:a:0?", "-c:a", "copy"]
MP4 = ["-movflags", "+faststart"]


def _video_out(out: Path, *, audio: bool = True) -> list[str]:
    return [*WORK_VIDEO, *(KEEP_AUDIO if audio else ["-an"]), *MP4, media_arg(out)]


def upscale(
    src: Path,
    out: Path,
    *,
    size: tuple[int, int] = UHD,
    scaler: Literal["lanczos", "spline"] = "lanczos",
) -> list[str]:
    """Scale into `size` (default 3840x2160) with a quality scaler; pad if the aspect differs."""
    width, height = size
    if width % 2 or height % 2:
        raise ValueError(f"size must be even, got {width}x{height}")
    if scaler not in ("lanczos", "spline"):
        raise ValueError(f"scaler must be lanczos or spline, got {scaler!r}")
    chain = (
        f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2"
        f":flags={scaler}+accurate_rnd+full_chroma_int,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,setparams={BT709}"
    )
    return ["-i", media_arg(src), "-map", "0:v:0", "-vf", chain, *_video_out(out)]


def interpolate(
    src: Path,
    out: Path,
    *,
    fps: int,
    duration_s: float,
    quality: InterpolationQuality = "fast",
) -> list[str]:
    """Retime to `fps` with exactly round(duration_s * fps) frames.

    "fast" blends neighbouring frames (`framerate`, ~80x quicker); "best" is motion-compensated
    (`minterpolate` mci, single-threaded). The tail is padded by cloning, then trimmed, because
    minterpolate drops the last few output frames; `-frames:v` caps the count because the cfr
    muxer can repeat the last frame to fill the source's final frame duration.
    """
    if not 1 <= fps <= 240:
        raise ValueError(f"fps must be within 1..240, got {fps}")
    if quality == "fast":
        retime = f"framerate=fps={fps}"
    elif quality == "best":
        retime = f"minterpolate=fps={fps}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1"
    else:
        raise ValueError(f"quality must be fast or best, got {quality!r}")
    frames = frame_count(duration_s, fps)
    chain = (
        f"setpts=PTS-STARTPTS,tpad=stop=2:stop_mode=clone,{retime},"
        f"trim=end_frame={frames},setpts=N/({fps}*TB)"
    )
    return [
        "-i",
        media_arg(src),
        "-map",
        "0:v:0",
        "-vf",
        chain,
        "-fps_mode",
        "cfr",
        "-r",
        str(fps),
        "-frames:v",
        str(frames),
        *_video_out(out),
    ]


def grade(src: Path, out: Path, grade: Grade) -> list[str]:
    """Apply `grade` (eq, colour temperature, LUT) to a whole file."""
    filters = grade_filters(grade) or ["null"]
    chain = ",".join([*filters, "format=yuv420p", f"setparams={BT709}"])
    return ["-i", media_arg(src), "-map", "0:v:0", "-vf", chain, *_video_out(out)]


def stabilise_detect(
    src: Path, transforms: Path, *, shakiness: int = 8, accuracy: int = 15
) -> list[str]:
    """vidstab pass 1: measure the camera path into `transforms` (no video is written)."""
    if not 1 <= shakiness <= 10 or not 1 <= accuracy <= 15:
        raise ValueError("shakiness must be 1..10 and accuracy 1..15")
    chain = (
        f"vidstabdetect=shakiness={shakiness}:accuracy={accuracy}:result={filter_value(transforms)}"
    )
    return ["-i", media_arg(src), "-map", "0:v:0", "-vf", chain, "-f", "null", "-"]


def stabilise_transform(
    src: Path, transforms: Path, out: Path, *, smoothing: int = 12
) -> list[str]:
    """vidstab pass 2: smooth the path over `smoothing` frames each side, crop-zoom the edges."""
    chain = (
        f"vidstabtransform=input={filter_value(transforms)}:smoothing={smoothing}"
        ":zoom=0:optzoom=1:interpol=bicubic,unsharp=5:5:0.6:3:3:0.3,format=yuv420p"
    )
    return ["-i", media_arg(src), "-map", "0:v:0", "-vf", chain, *_video_out(out)]


def deshake(src: Path, out: Path) -> list[str]:
    """Single-pass stabilisation, for an ffmpeg built without vidstab."""
    chain = "deshake,format=yuv420p"
    return ["-i", media_arg(src), "-map", "0:v:0", "-vf", chain, *_video_out(out)]


XFADE_TRANSITIONS = frozenset(
    "fade fadeblack fadewhite dissolve wipeleft wiperight slideleft slideright circleopen"
    " circleclose radial smoothleft smoothright zoomin".split()
)


def crossfade(
    clips: Sequence[ClipSpec],
    out: Path,
    *,
    transition: str = "fade",
    overlap_s: float = 0.5,
    fps: int = 24,
    size: tuple[int, int],
    audio: bool = False,
) -> list[str]:
    """Join clips with `xfade` (and `acrossfade` when `audio`): total = sum - overlaps.

    Each clip is cut to its duration on the `fps` grid and fitted into `size` first; xfade
    needs identical sizes, rates and timebases on both inputs.
    """
    if len(clips) < 2:
        raise ValueError("crossfade needs at least two clips")
    if transition not in XFADE_TRANSITIONS:
        raise ValueError(f"unknown transition {transition!r}")
    shortest = min(c.duration_s for c in clips)
    if not 0 < overlap_s < shortest:
        raise ValueError(f"overlap must be within 0..{shortest:g}s, got {overlap_s:g}")
    width, height = size
    args: list[str] = []
    for clip in clips:
        args += ["-i", media_arg(clip.path)]
    graph: list[str] = []
    for i, clip in enumerate(clips):
        frames = frame_count(clip.duration_s, fps)
        graph.append(
            f"[{i}:v:0]setpts=PTS-STARTPTS,fps={fps},tpad=stop=-1:stop_mode=clone,"
            f"trim=end_frame={frames},scale={width}:{height}:force_original_aspect_ratio=decrease"
            f":force_divisible_by=2,pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,"
            f"format=yuv420p,settb=1/{fps * 1000}[v{i}]"
        )
        if audio:
            d = _num(frames / fps)
            graph.append(
                f"[{i}:a:0]asetpts=PTS-STARTPTS,aresample=48000,apad,atrim=end={d},"
                f"aformat=sample_rates=48000:channel_layouts=stereo[a{i}]"
            )
    offset = 0.0
    last = "v0"
    last_a = "a0"
    for i in range(1, len(clips)):
        offset += frame_count(clips[i - 1].duration_s, fps) / fps - overlap_s
        label = f"x{i}" if i < len(clips) - 1 else "vout"
        graph.append(
            f"[{last}][v{i}]xfade=transition={transition}:duration={_num(overlap_s)}"
            f":offset={_num(offset)}[{label}]"
        )
        last = label
        if audio:
            a_label = f"ax{i}" if i < len(clips) - 1 else "aout"
            graph.append(f"[{last_a}][a{i}]acrossfade=d={_num(overlap_s)}[{a_label}]")
            last_a = a_label
    maps = ["-map", "[vout]"] + (["-map", "[aout]", "-c:a", "aac", "-b:a", "192k"] if audio else [])
    return [
        *args,
        "-filter_complex",
        ";".join(graph),
        *maps,
        *WORK_VIDEO,
        "-r",
        str(fps),
        *MP4,
        media_arg(out),
    ]


@dataclass(frozen=True)
class Cue:
    """One line of on-screen text from `start_s` to `end_s`."""

    start_s: float
    end_s: float
    text: str

    def __post_init__(self) -> None:
        if self.start_s < 0 or self.end_s <= self.start_s:
            raise ValueError(f"bad cue span {self.start_s}..{self.end_s}")
        if not self.text.strip():
            raise ValueError("cue text must not be blank")


def _srt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def srt(cues: Sequence[Cue]) -> str:
    """A SubRip sidecar for `cues` (sorted by start)."""
    blocks = []
    for n, cue in enumerate(sorted(cues, key=lambda c: c.start_s), start=1):
        text = "\n".join(line.strip() for line in cue.text.strip().splitlines())
        blocks.append(f"{n}\n{_srt_time(cue.start_s)} --> {_srt_time(cue.end_s)}\n{text}\n")
    return "\n".join(blocks)


@dataclass(frozen=True)
class SafeArea:
    """Margins, as fractions of the frame, that captions and titles must stay inside."""

    top: float = 0.05
    bottom: float = 0.05
    left: float = 0.05
    right: float = 0.05


DEFAULT_SAFE = SafeArea()


def drawtext(
    text: str,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    size_frac: float = 0.06,
    position: Literal["bottom", "center", "top"] = "bottom",
    safe: SafeArea = DEFAULT_SAFE,
    bold: bool = False,
    font_px: int | None = None,
    fade_s: float = 0.0,
) -> str:
    """One `drawtext` filter: literal text (no % expansion) in our font, inside the safe area;
    `font_px` fixes the size (else a share of the frame height), `fade_s` fades it in and out
    over its span."""
    if not text.strip():
        raise ValueError("text must not be blank")
    y = {
        "bottom": f"h*{_num(1 - safe.bottom)}-text_h",
        "center": "(h-text_h)/2",
        "top": f"h*{_num(safe.top)}",
    }[position]
    x = f"w*{_num(safe.left)}+(w*{_num(1 - safe.left - safe.right)}-text_w)/2"
    parts = [
        f"fontfile={filter_value(FONT_BOLD if bold else FONT)}",
        f"text={filter_value(text.strip())}",
        "expansion=none",
        f"fontsize={font_px}" if font_px else f"fontsize=h*{_num(size_frac)}",
        "fontcolor=white",
        "borderw=2",
        "bordercolor=black@0.6",
        f"x={filter_value(x)}",
        f"y={filter_value(y)}",
    ]
    if start_s is not None or end_s is not None:
        lo = _num(start_s or 0.0)
        hi = _num(end_s) if end_s is not None else "1e9"
        parts.append(f"enable={filter_value(f'between(t,{lo},{hi})')}")
        if fade_s > 0:
            f = _num(fade_s)
            parts.append(f"alpha={filter_value(f'clip(min((t-{lo})/{f},({hi}-t)/{f}),0,1)')}")
    return "drawtext=" + ":".join(parts)


def burn_text(
    src: Path,
    out: Path,
    cues: Sequence[Cue],
    *,
    safe: SafeArea = DEFAULT_SAFE,
    position: Literal["bottom", "center", "top"] = "bottom",
) -> list[str]:
    """Burn titles or subtitles into the picture, one drawtext per cue, inside `safe`."""
    if not cues:
        raise ValueError("burn_text needs at least one cue")
    chain = ",".join(
        drawtext(c.text, start_s=c.start_s, end_s=c.end_s, safe=safe, position=position)
        for c in cues
    )
    return ["-i", media_arg(src), "-map", "0:v:0", "-vf", chain, *_video_out(out)]


def burn_subtitles(
    src: Path,
    out: Path,
    subtitle_file: Path,
    *,
    margin_v: int = 40,
    font_size: int = 18,
    safe: SafeArea | None = None,
) -> list[str]:
    """Burn an .srt/.ass file with libass, using only our bundled fonts (no system fonts).

    `font_size` is in libass script units (288 lines high); vertical frames want a smaller one.
    With `safe`, the margins keep every line inside that safe area (script units: 384 x 288)."""
    margins = f"MarginV={margin_v}"
    if safe is not None:
        margin_v = max(margin_v, math.ceil(safe.bottom * 288) + 4)
        left, right = math.ceil(safe.left * 384) + 4, math.ceil(safe.right * 384) + 4
        margins = f"MarginV={margin_v},MarginL={left},MarginR={right}"
    style = f"FontName=DejaVu Sans,FontSize={font_size},Outline=2,Shadow=0,{margins}"
    chain = (
        f"subtitles=filename={filter_value(subtitle_file)}:fontsdir={filter_value(FONT_DIR)}"
        f":force_style={filter_value(style)}"
    )
    return ["-i", media_arg(src), "-map", "0:v:0", "-vf", chain, *_video_out(out)]


def poster_frames(videos: Sequence[tuple[Path, float, Path]], *, quality: int = 3) -> list[str]:
    """One JPEG per (video, at_s, jpeg) in one ffmpeg run; input seeking keeps it cheap."""
    if not videos:
        raise ValueError("poster_frames needs at least one video")
    args: list[str] = []
    for video, at_s, _ in videos:
        args += ["-ss", _num(max(0.0, at_s)), "-i", media_arg(video)]
    for k, (_, _, jpeg) in enumerate(videos):
        args += [
            "-map",
            f"{k}:v:0",
            "-frames:v",
            "1",
            "-q:v",
            str(quality),
            "-update",
            "1",
            media_arg(jpeg),
        ]
    return args
