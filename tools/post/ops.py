"""Single post-production steps on files: the builders run through the one runner.

Every step writes `NAME.part.EXT` and renames it when ffmpeg succeeds, so an interrupted step
never leaves a file that looks finished. Progress is a fraction of the input's duration.
"""

from __future__ import annotations

import asyncio
import math
import os
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from memory.models import Grade
from tools.post import builders as b
from tools.post import picture as p
from tools.post import sound as s
from tools.post.builders import ClipSpec
from tools.post.probe import probe
from tools.post.runner import arun, has_filter

Progress = Callable[[float], None]
StabiliseMethod = Literal["auto", "vidstab", "deshake"]


class PostError(RuntimeError):
    """A post step cannot run on this input; the message says why."""


def part(path: Path) -> Path:
    return path.with_name(f"{path.stem}.part{path.suffix}")


async def produce(
    out: Path,
    args_for: Callable[[Path], list[str]],
    *,
    ffmpeg: str | None = None,
    duration_s: float | None = None,
    on_progress: Progress | None = None,
) -> Path:
    """Run builder output into `out`'s .part twin, then rename it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = part(out)
    try:
        await arun(args_for(tmp), ffmpeg=ffmpeg, duration_s=duration_s, on_progress=on_progress)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _duration(src: Path) -> float:
    info = probe(src)
    if not info.has_video:
        raise PostError(f"{src}: no video stream")
    return info.video_duration_s or info.duration_s


async def upscale(
    src: Path,
    out: Path,
    *,
    size: tuple[int, int] = p.UHD,
    ffmpeg: str | None = None,
    on_progress: Progress | None = None,
) -> Path:
    duration = await asyncio.to_thread(_duration, src)
    return await produce(
        out,
        lambda tmp: p.upscale(src, tmp, size=size),
        ffmpeg=ffmpeg,
        duration_s=duration,
        on_progress=on_progress,
    )


async def interpolate(
    src: Path,
    out: Path,
    *,
    fps: int,
    quality: p.InterpolationQuality = "fast",
    ffmpeg: str | None = None,
    on_progress: Progress | None = None,
) -> Path:
    duration = await asyncio.to_thread(_duration, src)
    return await produce(
        out,
        lambda tmp: p.interpolate(src, tmp, fps=fps, duration_s=duration, quality=quality),
        ffmpeg=ffmpeg,
        duration_s=duration,
        on_progress=on_progress,
    )


async def grade(
    src: Path,
    out: Path,
    look: Grade,
    *,
    ffmpeg: str | None = None,
    on_progress: Progress | None = None,
) -> Path:
    duration = await asyncio.to_thread(_duration, src)
    return await produce(
        out,
        lambda tmp: p.grade(src, tmp, look),
        ffmpeg=ffmpeg,
        duration_s=duration,
        on_progress=on_progress,
    )


def stabilise_method(wanted: StabiliseMethod = "auto", ffmpeg: str | None = None) -> str:
    """vidstab when the build has it (two passes, much steadier), else deshake."""
    vidstab = has_filter("vidstabdetect", ffmpeg) and has_filter("vidstabtransform", ffmpeg)
    if wanted == "vidstab" and not vidstab:
        raise PostError("this ffmpeg has no vidstab filters; use --method deshake")
    if wanted == "deshake" or not vidstab:
        return "deshake"
    return "vidstab"


async def stabilise(
    src: Path,
    out: Path,
    *,
    method: StabiliseMethod = "auto",
    smoothing: int = 12,
    ffmpeg: str | None = None,
    on_progress: Progress | None = None,
    work_dir: Path | None = None,
) -> str:
    """Stabilise `src` into `out`; returns the method used ("vidstab" or "deshake").

    vidstab's transforms file is temporary, or kept as `work_dir/OUT.trf` when given.
    """
    duration = await asyncio.to_thread(_duration, src)
    used = stabilise_method(method, ffmpeg)
    if used == "deshake":
        await produce(
            out,
            lambda tmp: p.deshake(src, tmp),
            ffmpeg=ffmpeg,
            duration_s=duration,
            on_progress=on_progress,
        )
        return used

    def half(offset: float) -> Progress | None:
        if on_progress is None:
            return None
        report = on_progress
        return lambda fraction: report(offset + fraction / 2)

    async def two_pass(transforms: Path) -> None:
        await arun(
            p.stabilise_detect(src, transforms),
            ffmpeg=ffmpeg,
            duration_s=duration,
            on_progress=half(0.0),
        )
        await produce(
            out,
            lambda tmp: p.stabilise_transform(src, transforms, tmp, smoothing=smoothing),
            ffmpeg=ffmpeg,
            duration_s=duration,
            on_progress=half(0.5),
        )

    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
        await two_pass(work_dir / f"{out.stem}.trf")
    else:
        with tempfile.TemporaryDirectory(prefix="reelforge-vidstab-") as scratch:
            await two_pass(Path(scratch) / "transforms.trf")
    return used


async def crossfade(
    clips: Sequence[ClipSpec],
    out: Path,
    *,
    transition: str = "fade",
    overlap_s: float = 0.5,
    fps: int = 24,
    ffmpeg: str | None = None,
    on_progress: Progress | None = None,
) -> Path:
    """Join clips with a transition; size from the first clip, audio kept if all have it."""
    infos = await asyncio.to_thread(lambda: [probe(c.path) for c in clips])
    width, height = infos[0].width, infos[0].height
    if not width or not height:
        raise PostError(f"{clips[0].path}: no video stream")
    size = (width // 2 * 2, height // 2 * 2)
    audio = all(i.has_audio for i in infos)
    total = sum(c.duration_s for c in clips) - overlap_s * (len(clips) - 1)
    return await produce(
        out,
        lambda tmp: p.crossfade(
            clips,
            tmp,
            transition=transition,
            overlap_s=overlap_s,
            fps=fps,
            size=size,
            audio=audio,
        ),
        ffmpeg=ffmpeg,
        duration_s=total,
        on_progress=on_progress,
    )


async def burn_text(
    src: Path,
    out: Path,
    cues: Sequence[p.Cue],
    *,
    safe: p.SafeArea = p.DEFAULT_SAFE,
    ffmpeg: str | None = None,
    on_progress: Progress | None = None,
) -> Path:
    duration = await asyncio.to_thread(_duration, src)
    return await produce(
        out,
        lambda tmp: p.burn_text(src, tmp, cues, safe=safe),
        ffmpeg=ffmpeg,
        duration_s=duration,
        on_progress=on_progress,
    )


def write_srt(cues: Sequence[p.Cue], path: Path) -> Path:
    """A sidecar .srt next to a delivery file."""
    path.write_text(p.srt(cues), encoding="utf-8")
    return path


async def posters(
    videos: Sequence[Path], *, at_fraction: float = 0.33, ffmpeg: str | None = None
) -> dict[Path, Path]:
    """A JPEG poster next to each video (`name.jpg`), all from one ffmpeg run."""
    if not videos:
        return {}
    durations = await asyncio.to_thread(lambda: [probe(v).duration_s for v in videos])
    jobs = [
        (v, d * at_fraction, v.with_suffix(".jpg")) for v, d in zip(videos, durations, strict=True)
    ]
    temps = [(v, at, part(jpg)) for v, at, jpg in jobs]
    try:
        await arun(p.poster_frames(temps), ffmpeg=ffmpeg)
        for (_, _, tmp), (_, _, jpg) in zip(temps, jobs, strict=True):
            os.replace(tmp, jpg)
    finally:
        for _, _, tmp in temps:
            tmp.unlink(missing_ok=True)
    return {v: jpg for v, _, jpg in jobs}


async def voice_track(
    lines: Sequence[tuple[Path, float]],
    out_wav: Path,
    *,
    duration_s: float,
    ffmpeg: str | None = None,
) -> Path:
    """Spoken lines, each at its start second, as one voice stem of the cut's length."""
    return await produce(
        out_wav,
        lambda tmp: s.voice_track(tmp, lines, duration_s=duration_s),
        ffmpeg=ffmpeg,
        duration_s=duration_s,
    )


async def voice_over(
    text: str, out_wav: Path, *, voice: str = "en-us", words_per_minute: int = 160
) -> Path:
    """Speak `text` offline with espeak-ng into `out_wav`.

    Raises VoiceOverUnavailable when espeak-ng is missing: the caller says so instead of
    laying silence that pretends to be a voice-over.
    """
    exe = s.espeak_exe()
    out_wav.parent.mkdir(parents=True, exist_ok=True)
    tmp = part(out_wav)
    argv = s.espeak_argv(exe, tmp, voice=voice, words_per_minute=words_per_minute)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        try:
            _, err = await asyncio.wait_for(proc.communicate(text.encode()), timeout=120)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise PostError("espeak-ng timed out after 120s") from None
        if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size <= 44:
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no audio written"]
            raise PostError(f"espeak-ng failed ({proc.returncode}): {tail[0]}")
        os.replace(tmp, out_wav)
    finally:
        tmp.unlink(missing_ok=True)
    return out_wav


# --------------------------------------------------------------------------- one-file finishing
# Loudness, the voice-over mix, subtitles and posters on a single file (`reelforge post ...`).

DELIVERY_PEAK_DBTP = -1.0
TRUE_PEAK_MARGIN_DB = DELIVERY_PEAK_DBTP - b.TARGET_TP
"""How far under a true-peak ceiling the linear gain aims, for the encoder's overshoot: the
builders aim at -1.5 dBTP for a -1 dBTP delivery ceiling."""
MIN_PEAK_TO_LOUDNESS_DB = 6.0
_GAIN_ROUNDS = 4
_MAX_GAIN_DB = 40.0
_SILENT_LUFS = -70.0
AUDIO_ONLY_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac"})
"""Outputs that get the levelled sound only, even from a video."""
_AUDIO_CODECS: dict[str, list[str]] = {
    ".wav": ["-c:a", "pcm_s16le"],
    ".flac": ["-c:a", "flac"],
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "192k"],
    ".ogg": ["-c:a", "libopus", "-b:a", "160k"],
    ".opus": ["-c:a", "libopus", "-b:a", "160k"],
    ".webm": ["-c:a", "libopus", "-b:a", "160k"],
}
_FASTSTART_SUFFIXES = (".mp4", ".mov", ".m4a")


class PostInputError(PostError):
    """The input itself is unusable for this step (no sound, only silence, ...)."""


@dataclass(frozen=True)
class Levelled:
    """A levelled file with ebur128 readings of its sound: (integrated LUFS, true peak dBTP)."""

    out: Path
    before: tuple[float, float]
    after: tuple[float, float]
    pre_gain_db: float
    """Gain into the peak limiter before the linear pass; 0 when none was needed."""
    normalization: str
    """loudnorm's pass-2 mode: "linear" unless it had to fall back to "dynamic"."""

    def on_target(
        self, lufs: float, true_peak: float = DELIVERY_PEAK_DBTP, tolerance_lu: float = 1.0
    ) -> bool:
        integrated, peak = self.after
        return abs(integrated - lufs) <= tolerance_lu and peak <= true_peak


def _share(on_progress: Progress | None, start: float, width: float) -> Progress | None:
    """Report a sub-step's 0..1 as `start .. start + width` of the whole step."""
    if on_progress is None:
        return None
    report = on_progress
    return lambda fraction: report(min(1.0, start + width * fraction))


def check_level_targets(lufs: float, true_peak: float) -> None:
    """ValueError unless one linear gain can put sound at `lufs` under a `true_peak` ceiling."""
    if not -40.0 <= lufs <= -5.0:
        raise ValueError(f"the loudness target must be within -40..-5 LUFS, got {lufs:g}")
    if not -9.0 <= true_peak <= 0.0:
        raise ValueError(f"the true-peak ceiling must be within -9..0 dBTP, got {true_peak:g}")
    if true_peak - TRUE_PEAK_MARGIN_DB - lufs < MIN_PEAK_TO_LOUDNESS_DB:
        need = MIN_PEAK_TO_LOUDNESS_DB + TRUE_PEAK_MARGIN_DB
        raise ValueError(
            f"a {true_peak:g} dBTP ceiling is too close to {lufs:g} LUFS: keep the ceiling at "
            f"least {need:g} dB above the loudness target"
        )


def level_mux_args(
    audio: Path, out: Path, *, picture: Path | None = None, gain_db: float = 0.0
) -> list[str]:
    """Levelled `audio` (trimmed by `gain_db`) into `out`, with `picture`'s video stream copied.

    The audio codec follows OUT's suffix: PCM for .wav, FLAC, MP3, Opus, else AAC 192k."""
    args = [] if picture is None else ["-i", b.media_arg(picture)]
    args += ["-i", b.media_arg(audio)]
    if picture is not None:
        args += ["-map", "0:v:0", "-c:v", "copy"]
    args += ["-map", f"{0 if picture is None else 1}:a:0"]
    if gain_db:
        args += ["-af", f"volume={b._num(gain_db)}dB"]
    args += _AUDIO_CODECS.get(out.suffix.lower(), b.DELIVERY_AUDIO)
    if out.suffix.lower() in _FASTSTART_SUFFIXES:
        args += p.MP4
    return [*args, b.media_arg(out)]


async def meter(
    path: Path,
    *,
    ffmpeg: str | None = None,
    duration_s: float | None = None,
    on_progress: Progress | None = None,
) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of the first audio stream of `path`, by ebur128."""
    stderr = await arun(
        b.ebur128_measure(path), ffmpeg=ffmpeg, duration_s=duration_s, on_progress=on_progress
    )
    summary = b.parse_ebur128_summary(stderr)
    return summary["I"], summary["true_peak"]


async def linear_gain(
    audio: Path,
    *,
    max_ratio: float = b.TARGET_TP - b.TARGET_I,
    ffmpeg: str | None = None,
    duration_s: float | None = None,
    progress_of: Callable[[int], Progress | None] | None = None,
) -> tuple[dict[str, str], float, float]:
    """Loudnorm pass 1, and the gain into the peak limiter that makes one linear pass possible.

    One linear gain to -14 LUFS must leave the true peak at most `max_ratio` dB above the
    loudness; while it would not, measure again pushing harder into the limiter (at most
    _GAIN_ROUNDS more times), so transient-heavy sound converges on a linear pass. Returns the
    last measurement, that pre-gain and the input's own loudness (LUFS); a silent input is a
    PostInputError."""

    def measure(gain: float, round_: int) -> Awaitable[str]:
        progress = progress_of(round_) if progress_of else None
        args = b.loudnorm_measure(audio, pre_gain_db=gain)
        return arun(args, ffmpeg=ffmpeg, duration_s=duration_s, on_progress=progress)

    def ratio(stats: dict[str, str]) -> float:
        return b.loudness_value(stats, "input_tp") - b.loudness_value(stats, "input_i")

    measured = b.parse_loudnorm_json(await measure(0.0, 0))
    level = b.loudness_value(measured, "input_i")
    if not math.isfinite(level) or level <= _SILENT_LUFS:
        raise PostInputError(f"{audio.name} is silent ({measured['input_i']} LUFS)")
    gain = 0.0
    for round_ in range(1, _GAIN_ROUNDS + 1):
        if b.linear_feasible(measured) and ratio(measured) <= max_ratio:
            break
        lacks = max(
            b.TARGET_I - b.loudness_value(measured, "input_i"), ratio(measured) - max_ratio + 1.0
        )
        gain = round(min(_MAX_GAIN_DB, gain + lacks), 2)
        measured = b.parse_loudnorm_json(await measure(gain, round_))
    return measured, gain, level


async def _level(
    audio: Path,
    out: Path,
    *,
    picture: Path | None,
    lufs: float,
    true_peak: float,
    duration_s: float,
    ffmpeg: str | None,
    on_progress: Progress | None,
) -> Levelled:
    """finish's two-pass linear loudnorm, then a trim from its -14 LUFS to `lufs` on the way
    into `out` (a linear gain keeps the peak-to-loudness ratio the limiter rounds secured)."""
    check_level_targets(lufs, true_peak)
    slot = 1 / 5  # meter, measure (all rounds), apply, mux, meter

    async def run_slot(args: list[str], start: float, width: float = slot) -> str:
        return await arun(
            args,
            ffmpeg=ffmpeg,
            duration_s=duration_s,
            on_progress=_share(on_progress, start, width),
        )

    before = await meter(
        audio, ffmpeg=ffmpeg, duration_s=duration_s, on_progress=_share(on_progress, 0, slot)
    )
    if not math.isfinite(before[0]) or before[0] <= _SILENT_LUFS:
        raise PostInputError(f"{audio.name}: the sound is silent ({before[0]:g} LUFS)")
    max_ratio = min(b.TARGET_TP - b.TARGET_I, true_peak - TRUE_PEAK_MARGIN_DB - lufs)
    round_slot = slot / (_GAIN_ROUNDS + 1)
    measured, gain, _ = await linear_gain(
        audio,
        max_ratio=max_ratio,
        ffmpeg=ffmpeg,
        duration_s=duration_s,
        progress_of=lambda round_: _share(on_progress, slot + round_ * round_slot, round_slot),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".reelforge-level-", dir=out.parent) as scratch:
        levelled = Path(scratch) / "levelled.wav"
        applied = b.parse_loudnorm_json(
            await run_slot(b.loudnorm_apply(audio, levelled, measured, pre_gain_db=gain), 2 * slot)
        )
        await produce(
            out,
            lambda tmp: level_mux_args(levelled, tmp, picture=picture, gain_db=lufs - b.TARGET_I),
            ffmpeg=ffmpeg,
            duration_s=duration_s,
            on_progress=_share(on_progress, 3 * slot, slot),
        )
    after = await meter(
        out, ffmpeg=ffmpeg, duration_s=duration_s, on_progress=_share(on_progress, 4 * slot, slot)
    )
    return Levelled(
        out=out,
        before=before,
        after=after,
        pre_gain_db=gain,
        normalization=applied.get("normalization_type", ""),
    )


async def loudness(
    src: Path,
    out: Path,
    *,
    lufs: float = b.TARGET_I,
    true_peak: float = DELIVERY_PEAK_DBTP,
    ffmpeg: str | None = None,
    on_progress: Progress | None = None,
) -> Levelled:
    """Level the sound of `src` (a video or an audio file) to `lufs` under `true_peak` dBTP.

    A video keeps its picture stream as it is (copied) unless OUT is an audio-only file
    (.wav, .flac, .mp3, .m4a, ...). Raises PostInputError when `src` has no sound or silence.
    """
    info = await asyncio.to_thread(probe, src)
    if not info.has_audio:
        raise PostInputError(f"{src}: no audio stream")
    picture = src if info.has_video and out.suffix.lower() not in AUDIO_ONLY_SUFFIXES else None
    return await _level(
        src,
        out,
        picture=picture,
        lufs=lufs,
        true_peak=true_peak,
        duration_s=info.audio_duration_s or info.duration_s,
        ffmpeg=ffmpeg,
        on_progress=on_progress,
    )


async def mix_over(
    video: Path,
    out: Path,
    *,
    voice: Path,
    music: Path | None = None,
    voice_start_s: float = 0.0,
    lufs: float = b.TARGET_I,
    true_peak: float = DELIVERY_PEAK_DBTP,
    ffmpeg: str | None = None,
    on_progress: Progress | None = None,
) -> Levelled:
    """A voice-over over `video`'s own sound (when it has any) and `music` ducked under the
    voice (`sound.mix`), levelled like `loudness`, with the video stream copied into `out`."""
    paths = [video, voice] + ([music] if music is not None else [])
    infos = await asyncio.to_thread(lambda: [probe(path) for path in paths])
    if not infos[0].has_video:
        raise PostInputError(f"{video}: no video stream")
    for path, info in zip(paths[1:], infos[1:], strict=True):
        if not info.has_audio:
            raise PostInputError(f"{path}: no audio stream")
    duration = infos[0].video_duration_s or infos[0].duration_s
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".reelforge-mix-", dir=out.parent) as scratch:
        mixed = Path(scratch) / "mix.wav"
        await arun(
            s.mix(
                mixed,
                duration_s=duration,
                music=music,
                voice=voice,
                native=video if infos[0].has_audio else None,
                voice_start_s=voice_start_s,
            ),
            ffmpeg=ffmpeg,
            duration_s=duration,
            on_progress=_share(on_progress, 0, 1 / 6),
        )
        return await _level(
            mixed,
            out,
            picture=video,
            lufs=lufs,
            true_peak=true_peak,
            duration_s=duration,
            ffmpeg=ffmpeg,
            on_progress=_share(on_progress, 1 / 6, 5 / 6),
        )


def subtitle_font_size(width: int, height: int) -> int:
    """libass font size (script units) for a frame shape: smaller on vertical frames."""
    shape = width / height
    return 11 if shape < 0.8 else 14 if shape < 1.25 else 18


async def burn_subtitles(
    src: Path,
    out: Path,
    subtitle_file: Path,
    *,
    font_size: int | None = None,
    safe: p.SafeArea | None = None,
    ffmpeg: str | None = None,
    on_progress: Progress | None = None,
) -> Path:
    """Burn an .srt/.ass file into `src` with libass (font size from the frame's shape, lines
    inside `safe`)."""
    info = await asyncio.to_thread(probe, src)
    if not info.has_video or not info.width or not info.height:
        raise PostInputError(f"{src}: no video stream")
    if not await asyncio.to_thread(has_filter, "subtitles", ffmpeg):
        raise PostError("this ffmpeg has no libass (subtitles filter); use --sidecar")
    size = font_size or subtitle_font_size(info.width, info.height)
    return await produce(
        out,
        lambda tmp: p.burn_subtitles(src, tmp, subtitle_file, font_size=size, safe=safe),
        ffmpeg=ffmpeg,
        duration_s=info.video_duration_s or info.duration_s,
        on_progress=on_progress,
    )


async def remux(
    src: Path, out: Path, *, ffmpeg: str | None = None, on_progress: Progress | None = None
) -> Path:
    """`src`'s first video and audio streams copied, untouched, into `out`."""
    duration = await asyncio.to_thread(_duration, src)
    faststart = p.MP4 if out.suffix.lower() in _FASTSTART_SUFFIXES else []
    return await produce(
        out,
        lambda tmp: [
            "-i",
            b.media_arg(src),
            *["-map", "0:v:0", "-map", "0:a:0?", "-c", "copy"],
            *faststart,
            b.media_arg(tmp),
        ],
        ffmpeg=ffmpeg,
        duration_s=duration,
        on_progress=on_progress,
    )


async def poster(
    src: Path, out: Path, *, at_s: float | None = None, ffmpeg: str | None = None
) -> Path:
    """One JPEG of `src` at `at_s` seconds (default: a third of the way in) into `out`."""
    info = await asyncio.to_thread(probe, src)
    if not info.has_video:
        raise PostInputError(f"{src}: no video stream")
    duration = info.video_duration_s or info.duration_s
    at = duration * 0.33 if at_s is None else at_s
    if not 0 <= at <= duration:
        raise PostInputError(f"{at:g} s is outside {src.name} (0..{duration:.2f} s)")
    at = min(at, max(0.0, duration - 1 / (info.fps or 24)))  # the last frame, not past it
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = part(out)
    try:
        await arun(p.poster_frames([(src, at, tmp)]), ffmpeg=ffmpeg)
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise PostError(f"ffmpeg wrote no frame of {src.name} at {at:.2f} s")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
