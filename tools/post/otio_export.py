"""OpenTimelineIO export: the cut as a timeline whose clips point at the source take files,
so an editor can re-cut it in Resolve or Premiere (both import .otio, or convert it with the
otio adapters to FCP XML / EDL)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped]

from memory.models import Production, Take, Transition
from tools.post.builders import ClipSpec, frame_count, transition_halves
from tools.post.probe import ProbeError, probe


@dataclass(frozen=True)
class TimelineClip:
    """One picked take on the timeline: `duration_s` of it from its start, and how the cut goes
    into it (`transition`, as in `ClipSpec`)."""

    name: str
    path: Path
    duration_s: float
    metadata: dict[str, Any] | None = None
    transition: Transition = "cut"


class OTIOExportError(RuntimeError):
    pass


def _available(path: Path, fps: int) -> otio.opentime.TimeRange | None:
    try:
        info = probe(path)
    except ProbeError:
        return None
    seconds = info.video_duration_s or info.duration_s
    return otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, fps),
        otio.opentime.RationalTime(frame_count(seconds, fps), fps),
    )


def build_timeline(
    title: str,
    clips: Sequence[TimelineClip],
    *,
    fps: int = 24,
    audio: Path | None = None,
    metadata: dict[str, Any] | None = None,
) -> otio.schema.Timeline:
    """A timeline with one video track (a clip per take) and optionally the finished
    soundtrack on an audio track. Media references are absolute, percent-encoded file:// URLs
    (`Path.as_uri`; otio's own url_from_filepath leaves `#` and `%` unescaped).

    Dissolves are otio SMPTE_Dissolve transitions centred on the cut, as long as in the master;
    a fade through black has no standard otio type, so it is a cut with `"transition": "fade"`
    in the incoming clip's reelforge metadata."""
    if not clips:
        raise OTIOExportError("nothing to export: the project has no picked takes")
    missing = [str(c.path) for c in clips if not c.path.is_file()]
    if missing:
        raise OTIOExportError(f"take files are missing: {', '.join(missing)}")
    timeline = otio.schema.Timeline(name=title)
    timeline.global_start_time = otio.opentime.RationalTime(0, fps)
    timeline.metadata["reelforge"] = dict(metadata or {})
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    halves = transition_halves([ClipSpec(c.path, c.duration_s, c.transition) for c in clips], fps)
    total = 0
    for clip, half in zip(clips, halves, strict=True):
        if half and clip.transition == "dissolve":
            video.append(
                otio.schema.Transition(
                    name="dissolve",
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=otio.opentime.RationalTime(half, fps),
                    out_offset=otio.opentime.RationalTime(half, fps),
                )
            )
        frames = frame_count(clip.duration_s, fps)
        total += frames
        ref = otio.schema.ExternalReference(
            target_url=clip.path.resolve().as_uri(),
            available_range=_available(clip.path, fps),
        )
        item = otio.schema.Clip(
            name=clip.name,
            media_reference=ref,
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, fps), otio.opentime.RationalTime(frames, fps)
            ),
        )
        item.metadata["reelforge"] = dict(clip.metadata or {})
        if half:
            item.metadata["reelforge"]["transition"] = clip.transition
        video.append(item)
    timeline.tracks.append(video)
    if audio is not None and audio.is_file():
        track = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
        track.append(
            otio.schema.Clip(
                name=audio.name,
                media_reference=otio.schema.ExternalReference(
                    target_url=audio.resolve().as_uri(),
                    available_range=_available(audio, fps),
                ),
                source_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(0, fps), otio.opentime.RationalTime(total, fps)
                ),
            )
        )
        timeline.tracks.append(track)
    return timeline


def write(timeline: otio.schema.Timeline, out: Path) -> Path:
    """Write `.otio` (native JSON); other extensions use the matching installed adapter."""
    out.parent.mkdir(parents=True, exist_ok=True)
    otio.adapters.write_to_file(timeline, str(out))
    return out


def from_production(
    production: Production,
    take_of: Callable[[str], Take],
    *,
    title: str,
    fps: int = 24,
    project_id: str | None = None,
) -> otio.schema.Timeline:
    """The timeline of a production's picked takes, with the first export's sound on A1.

    `take_of` looks a take up by id (e.g. `ProjectStore.take`).
    """
    clips = []
    for shot in production.shots():
        take_id = production.picks.get(shot.id)
        if take_id is None:
            raise OTIOExportError(f"shot {shot.id} has no picked take; render it first")
        take = take_of(take_id)
        if take.file is None:
            raise OTIOExportError(f"take {take.id} of shot {shot.id} has no file")
        meta = {
            "shot_id": shot.id,
            "take_id": take.id,
            "provider": take.provider,
            "model": take.model,
            "seed": take.seed,
            "prompt": shot.prompt,
        }
        clips.append(
            TimelineClip(f"shot {shot.id}", take.file, shot.duration, meta, shot.transition)
        )
    sound = production.exports[0] if production.exports else None
    info: dict[str, Any] = {"project_id": project_id, "grade": production.grade.model_dump()}
    return build_timeline(title, clips, fps=fps, audio=sound, metadata=info)
