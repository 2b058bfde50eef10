"""Finishing: master -> audio bed -> loudness -> every delivery format, through the one runner.

Intermediates and the delivery files themselves live in `work_dir`, named by a hash of their
inputs, and are reused when present (exports are then hard-linked, or copied, to where they were
asked for); every file is written under a temporary name and renamed when ffmpeg succeeds. The
master is the ungraded conform: the grade runs in the export pass, so a regrade re-encodes only
the deliveries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

from memory.models import EXPORT_SIZES, Grade, Shot, stable_hash
from tools.post import builders as b
from tools.post import ops, sound
from tools.post.picture import InterpolationQuality
from tools.post.probe import probe
from tools.post.runner import arun

log = logging.getLogger(__name__)

StepProgress = Callable[[str, float], None]
STEPS = ("master", "audio", "loudness", "export")
_CACHE_VERSION = 1
LOUDNESS_TOLERANCE_LU = 1.0
MAX_TRUE_PEAK_DBTP = -1.0


class FinishError(RuntimeError):
    """Finishing cannot proceed with these inputs (e.g. a silent music file)."""


@dataclass(frozen=True)
class Loudness:
    """The normalised bed as loudnorm measured it in pass 2."""

    integrated_lufs: float
    true_peak_dbtp: float
    lra_lu: float
    input_lufs: float
    pre_gain_db: float
    normalization_type: str


@dataclass(frozen=True)
class FinishResult:
    master: Path
    audio: Path
    exports: dict[str, Path]
    loudness: Loudness
    duration_s: float
    reused: tuple[str, ...] = ()
    measured: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per aspect: (integrated LUFS, true peak dBTP) of the delivered file, by ebur128."""
    posters: dict[str, Path] = field(default_factory=dict)
    voiceover: Path | None = None
    export_keys: dict[str, str] = field(default_factory=dict)
    """Per aspect: the hash of everything the delivered file was made from."""

    def loudness_ok(self) -> bool:
        """Every measured export is -14 +/- 1 LUFS with a true peak <= -1 dBTP."""
        return all(
            abs(i - b.TARGET_I) <= LOUDNESS_TOLERANCE_LU and tp <= MAX_TRUE_PEAK_DBTP
            for i, tp in self.measured.values()
        )


def segments_from_shots(shots: Sequence[Shot], fps: int = 24) -> list[b.SegmentSpec]:
    """One segment per shot, on the frame grid the master uses, with the shot's reframe."""
    segments: list[b.SegmentSpec] = []
    frame = 0
    for shot in shots:
        n = b.frame_count(shot.duration, fps)
        segments.append(b.SegmentSpec(frame / fps, (frame + n) / fps, shot.reframe, shot.subject_x))
        frame += n
    return segments


def _default_segments(clips: Sequence[b.ClipSpec], fps: int) -> list[b.SegmentSpec]:
    segments: list[b.SegmentSpec] = []
    frame = 0
    for clip in clips:
        n = b.frame_count(clip.duration_s, fps)
        segments.append(b.SegmentSpec(frame / fps, (frame + n) / fps))
        frame += n
    return segments


def _fingerprint(path: Path) -> list[Any]:
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def _master_size(aspect: str, clips: Sequence[b.ClipSpec]) -> tuple[int, int]:
    """The export size for `aspect`, scaled down to the largest clip so nothing is upscaled twice."""
    width, height = EXPORT_SIZES[aspect]
    scale = 0.0
    for clip in clips:
        info = probe(clip.path)
        if info.width and info.height:
            scale = max(scale, min(info.width / width, info.height / height))
    scale = min(1.0, scale) or 1.0
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def place(src: Path, dest: Path) -> Path:
    """Put cached `src` at `dest` (a hard link when possible, else a copy), atomically."""
    tmp = dest.with_name(f".{dest.name}.part")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copy2(src, tmp)
    os.replace(tmp, dest)
    return dest


def _part(path: Path) -> Path:
    return path.with_name(f"{path.stem}.part{path.suffix}")


async def _produce(
    path: Path,
    args_for: Callable[[Path], list[str]],
    *,
    ffmpeg: str | None,
    duration_s: float | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> str:
    tmp = _part(path)
    try:
        stderr = await arun(
            args_for(tmp), ffmpeg=ffmpeg, duration_s=duration_s, on_progress=on_progress
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return stderr


async def _normalize(
    bed: Path, out: Path, *, ffmpeg: str | None
) -> tuple[Loudness, dict[str, str]]:
    """Two-pass loudnorm; if one linear gain would break the peak limit, limit harder first
    (`ops.linear_gain`)."""
    try:
        measured, gain, input_i = await ops.linear_gain(bed, ffmpeg=ffmpeg)
    except ops.PostInputError as exc:
        raise FinishError(f"the audio bed {exc}") from None
    applied = b.parse_loudnorm_json(
        await _produce(
            out,
            lambda tmp: b.loudnorm_apply(bed, tmp, measured, pre_gain_db=gain),
            ffmpeg=ffmpeg,
        )
    )
    if b.is_dynamic_fallback(applied) or not b.on_target(applied):
        log.warning("loudnorm missed the linear target for %s: %s", bed.name, applied)
    loudness = Loudness(
        integrated_lufs=b.loudness_value(applied, "output_i"),
        true_peak_dbtp=b.loudness_value(applied, "output_tp"),
        lra_lu=b.loudness_value(applied, "output_lra"),
        input_lufs=input_i,
        pre_gain_db=gain,
        normalization_type=applied.get("normalization_type", ""),
    )
    return loudness, applied


async def finish(
    clips: Sequence[b.ClipSpec],
    segments: Sequence[b.SegmentSpec] | None,
    *,
    work_dir: Path,
    exports: Mapping[str, Path],
    master_aspect: str,
    grade: Grade,
    mood: str,
    music: Path | None,
    seed: int,
    ffmpeg: str | None = None,
    on_progress: StepProgress | None = None,
    fps: int = 24,
    master_size: tuple[int, int] | None = None,
    voiceover: Path | None = None,
    ambience: Path | None = None,
    keep_native_audio: bool = True,
    posters: bool = False,
    verify: bool = True,
    out_fps: int | None = None,
    interpolation: InterpolationQuality = "fast",
    deliveries: Mapping[str, b.Delivery] | None = None,
    overlays: Mapping[str, str] | None = None,
) -> FinishResult:
    """Assemble, score, normalise to -14 LUFS / -1.5 dBTP and export every format in one run.

    The soundtrack is the music (or a synthesized bed) ducked under `voiceover`, plus
    `ambience` and the takes' own audio when they have any (`keep_native_audio`). With
    `verify`, each export is measured with ebur128 (`FinishResult.measured`); with `posters`,
    a JPEG is written next to each export. With `out_fps`, the master is interpolated to that
    rate (`interpolation` "fast" or "best", cached like the master) and exported at it.
    """
    if not clips:
        raise ValueError("finish needs at least one clip")
    if not exports:
        raise ValueError("finish needs at least one export")
    stems = [path for path in (music, voiceover, ambience) if path is not None]
    inputs = [c.path for c in clips] + stems
    missing = [str(path) for path in inputs if not path.is_file()]
    if missing:
        raise FinishError(f"missing input files: {', '.join(missing)}")
    work_dir.mkdir(parents=True, exist_ok=True)
    frames = sum(b.frame_count(c.duration_s, fps) for c in clips)
    duration = frames / fps
    reused: list[str] = []

    def progress(step: str) -> Callable[[float], None] | None:
        if on_progress is None:
            return None
        report = on_progress
        return lambda fraction: report(step, fraction)

    async def cached(step: str, path: Path, make: Callable[[], Awaitable[object]]) -> None:
        if path.exists():
            reused.append(step)
            if on_progress:
                on_progress(step, 1.0)
            return
        await make()

    if master_size is None:
        master_size = await asyncio.to_thread(_master_size, master_aspect, clips)
    width, height = master_size
    prints = await asyncio.to_thread(lambda: [_fingerprint(c.path) for c in clips])
    master_key = stable_hash(
        [
            _CACHE_VERSION,
            prints,
            [(c.duration_s, c.transition) for c in clips],
            width,
            height,
            fps,
        ]
    )
    master = work_dir / f"master-{master_key}.mp4"
    await cached(
        "master",
        master,
        lambda: _produce(
            master,
            lambda tmp: b.assemble_master(clips, tmp, width=width, height=height, fps=fps),
            ffmpeg=ffmpeg,
            duration_s=duration,
            on_progress=progress("master"),
        ),
    )

    export_fps = fps
    if out_fps is not None and out_fps != fps:
        smooth = master.with_name(f"{master.stem}-{out_fps}{interpolation}.mp4")
        source = master
        await cached(
            "interpolate",
            smooth,
            lambda: ops.interpolate(
                source,
                smooth,
                fps=out_fps,
                quality=interpolation,
                ffmpeg=ffmpeg,
                on_progress=progress("interpolate"),
            ),
        )
        master, export_fps = smooth, out_fps

    if music is not None:
        music_print = await asyncio.to_thread(_fingerprint, music)
        bed_key = stable_hash([_CACHE_VERSION, "music", music_print, frames, fps])

        def bed_args(tmp: Path) -> list[str]:
            assert music is not None
            return b.audio_bed_music(music, tmp, duration_s=duration)
    else:
        bed_key = stable_hash([_CACHE_VERSION, "synth", mood, seed, frames, fps])

        def bed_args(tmp: Path) -> list[str]:
            return b.audio_bed_synth(tmp, duration_s=duration, mood=mood, seed=seed)

    bed = work_dir / f"bed-{bed_key}.wav"
    audio_cached = bed.exists()
    await _produce_if_missing(
        bed, bed_args, ffmpeg=ffmpeg, duration_s=duration, on_progress=progress("audio")
    )

    native: Path | None = None
    if keep_native_audio:
        has_audio = await asyncio.to_thread(lambda: [probe(c.path).has_audio for c in clips])
        if any(has_audio):
            native = work_dir / f"native-{stable_hash([_CACHE_VERSION, prints, frames, fps])}.wav"
            audio_cached &= native.exists()
            await _produce_if_missing(
                native,
                lambda tmp: sound.native_audio(clips, has_audio, tmp, fps=fps),
                ffmpeg=ffmpeg,
            )
    if voiceover is not None or ambience is not None or native is not None:
        extra = await asyncio.to_thread(
            lambda: [_fingerprint(x) if x else None for x in (voiceover, ambience, native)]
        )
        bed_key = stable_hash([_CACHE_VERSION, "mix", bed_key, extra])
        mixed = work_dir / f"mix-{bed_key}.wav"
        audio_cached &= mixed.exists()
        await _produce_if_missing(
            mixed,
            lambda tmp: sound.mix(
                tmp,
                duration_s=duration,
                music=bed,
                voice=voiceover,
                ambience=ambience,
                native=native,
            ),
            ffmpeg=ffmpeg,
        )
        bed = mixed
    if audio_cached:
        reused.append("audio")
    if on_progress:
        on_progress("audio", 1.0)

    audio = work_dir / f"audio-{bed_key}.wav"
    stats_file = audio.with_suffix(".json")
    if audio.exists() and stats_file.exists():
        reused.append("loudness")
        loudness = Loudness(**json.loads(stats_file.read_text()))
    else:
        loudness, _ = await _normalize(bed, audio, ffmpeg=ffmpeg)
        stats_file.write_text(json.dumps(loudness.__dict__))
    if on_progress:
        on_progress("loudness", 1.0)

    deliveries = deliveries or {}
    overlays = overlays or {}
    specs = [
        b.ExportSpec(aspect, Path(path), deliveries.get(aspect, b.Delivery()))
        for aspect, path in exports.items()
    ]
    cut = list(segments) if segments else _default_segments(clips, fps)
    # An export is fixed by the master and the levelled audio (both named by the hash of their
    # inputs), the grade, how it is cut and reframed, its overlays and its encode settings.
    common = [
        _CACHE_VERSION,
        master.name,
        audio.name,
        grade.model_dump(),
        [astuple(seg) for seg in cut],
        export_fps,
    ]
    keys = {
        s.aspect: stable_hash([*common, s.aspect, astuple(s.delivery), overlays.get(s.aspect)])
        for s in specs
    }
    cache = {s.aspect: work_dir / f"export-{keys[s.aspect]}.mp4" for s in specs}
    todo = [s for s in specs if not cache[s.aspect].exists()]
    if todo:
        temps = [b.ExportSpec(s.aspect, _part(cache[s.aspect]), s.delivery) for s in todo]
        args = b.export_formats(
            master,
            audio,
            temps,
            segments=cut,
            master_aspect=master_aspect,
            fps=export_fps,
            grade=grade,
            overlays={s.aspect: overlays[s.aspect] for s in todo if s.aspect in overlays},
        )
        try:
            await arun(args, ffmpeg=ffmpeg, duration_s=duration, on_progress=progress("export"))
            for tmp, spec in zip(temps, todo, strict=True):
                os.replace(tmp.path, cache[spec.aspect])
        finally:
            for tmp in temps:
                tmp.path.unlink(missing_ok=True)
    if len(todo) < len(specs):
        reused.append("export" if not todo else f"export ({len(specs) - len(todo)} file(s))")
    for spec in specs:
        spec.path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(place, cache[spec.aspect], spec.path)
    if on_progress:
        on_progress("export", 1.0)

    measured: dict[str, tuple[float, float]] = {}
    if verify:
        for spec in specs:
            summary = b.parse_ebur128_summary(
                await arun(b.ebur128_measure(spec.path), ffmpeg=ffmpeg)
            )
            measured[spec.aspect] = (summary["I"], summary["true_peak"])
    poster_files: dict[str, Path] = {}
    if posters:
        made = await ops.posters([s.path for s in specs], ffmpeg=ffmpeg)
        poster_files = {s.aspect: made[s.path] for s in specs}
    result = FinishResult(
        master=master,
        audio=audio,
        exports={s.aspect: s.path for s in specs},
        loudness=loudness,
        duration_s=duration,
        reused=tuple(reused),
        measured=measured,
        posters=poster_files,
        voiceover=voiceover,
        export_keys=keys,
    )
    if not result.loudness_ok():
        log.warning("exports miss -14 LUFS / -1 dBTP: %s", measured)
    return result


async def _produce_if_missing(
    path: Path,
    args_for: Callable[[Path], list[str]],
    *,
    ffmpeg: str | None,
    duration_s: float | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> None:
    if not path.exists():
        await _produce(
            path, args_for, ffmpeg=ffmpeg, duration_s=duration_s, on_progress=on_progress
        )
