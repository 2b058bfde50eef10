"""Single post-production steps on files: the builders run through the one runner.

Every step writes `NAME.part.EXT` and renames it when ffmpeg succeeds, so an interrupted step
never leaves a file that looks finished. Progress is a fraction of the input's duration.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from memory.models import Grade
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
