"""A production's finishing options (`memory.models.Finishing`) applied around `finish.finish`:
stabilised takes before the cut, a spoken voice-over under it, and after it subtitles (burned or
sidecar) and UHD files next to the exports.

Every output lives in the work dir, named by a hash of its inputs, and is reused when present: a
regrade does not re-stabilise, and a second export with the same finishing makes nothing new
except the delivery files themselves. What was done, reused or could not be done is collected in
`FinishingRun.notes`, in words for the person.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import astuple, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from memory.models import EXPORT_SIZES, Finishing, Shot, stable_hash
from tools.post import ops
from tools.post import picture as p
from tools.post.builders import ClipSpec, SegmentSpec
from tools.post.finish import FinishResult, place
from tools.post.platforms import GENERIC_SAFE
from tools.post.probe import ProbeError, probe
from tools.post.runner import has_filter
from tools.settings import Settings

log = logging.getLogger(__name__)

Step = Callable[[str, float], None]
CACHE_VERSION = 1
SMOOTHING = 12
UHD_SIZES: dict[str, tuple[int, int]] = {
    "9:16": (2160, 3840),
    "16:9": (3840, 2160),
    "1:1": (2160, 2160),
}
MAX_CUE_CHARS = 84


StemKind = Literal["voice", "music", "ambience"]


class StemMaker(Protocol):
    """Makes (or reuses) a generated stem: a voice-over, music or ambience, paid or not; the
    engine's soundtrack (tools.production.soundtrack) on the project's ledger and cap."""

    async def __call__(
        self, kind: StemKind, text: str, seconds: float, notes: list[str], step: Step
    ) -> tuple[Path, str] | None: ...


def stem_seconds(kind: StemKind, duration_s: float) -> float:
    """How long a generated stem is asked to be for a cut of `duration_s` (0 for a voice)."""
    if kind == "voice":
        return 0.0
    if kind == "music":
        return round(min(600.0, max(3.0, duration_s)), 2)
    return round(min(SFX_MAX_S, max(0.5, duration_s)), 2)


SFX_MAX_S = 30.0
"""The longest sound ElevenLabs generates; a longer cut loops it (asked for as a loop)."""


def fingerprint(path: Path) -> list[Any]:
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def _chunks(text: str) -> list[str]:
    """Sentences, with long ones split at word boundaries into readable pieces."""
    pieces: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
        line = ""
        for word in sentence.split():
            if line and len(line) + 1 + len(word) > MAX_CUE_CHARS:
                pieces.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        if line:
            pieces.append(line)
    return pieces


def subtitle_cues(
    shots: Sequence[Shot],
    segments: Sequence[SegmentSpec],
    *,
    narration: str | None,
    narration_s: float | None,
    total_s: float,
) -> list[p.Cue]:
    """Each shot's dialogue, word for word, over its shot; and narration text spread over the
    voice-over's length (or the film's) by length of text. In order of start."""
    lines = [
        p.Cue(seg.start_s, seg.end_s, shot.dialogue.strip())
        for shot, seg in zip(shots, segments, strict=True)
        if shot.dialogue and shot.dialogue.strip()
    ]
    if narration and narration.strip():
        pieces = _chunks(narration)
        span = min(narration_s or total_s, total_s)
        weight = sum(len(piece) for piece in pieces)
        cues: list[p.Cue] = []
        start = 0.0
        for piece in pieces:
            end = start + span * len(piece) / weight
            cues.append(p.Cue(round(start, 3), round(max(end, start + 0.04), 3), piece))
            start = end
        return sorted([*cues, *lines], key=lambda c: c.start_s)
    return lines


def title_overlays(
    shots: Sequence[Shot],
    segments: Sequence[SegmentSpec],
    safe_for: Callable[[str], p.SafeArea],
    aspects: Sequence[str],
) -> dict[str, str]:
    """Per format, the drawtext chain that sets the titles of title shots: every title shot is a
    clean plate (a video model misspells lettering; the animatic leaves it to the export), so
    titles are set for each aspect, never baked into the master. Centred in each format's safe
    area, sized to fit, faded."""
    titled = [
        (shot.text_overlay.strip(), seg)
        for shot, seg in zip(shots, segments, strict=True)
        if shot.kind == "title" and shot.text_overlay and shot.text_overlay.strip()
    ]
    overlays: dict[str, str] = {}
    for aspect in aspects:
        if not titled:
            break
        width, height = EXPORT_SIZES[aspect]
        safe = safe_for(aspect)
        room = width * (1 - safe.left - safe.right) * 0.9
        chain = []
        for text, seg in titled:
            # DejaVu Sans Bold averages about 0.62 em per character
            px = int(min(height * 0.07, room / (0.62 * len(text))))
            chain.append(
                p.drawtext(
                    text,
                    start_s=seg.start_s,
                    end_s=seg.end_s,
                    position="center",
                    safe=safe,
                    bold=True,
                    font_px=max(12, px),
                    fade_s=min(0.5, (seg.end_s - seg.start_s) / 4),
                )
            )
        overlays[aspect] = ",".join(chain)
    return overlays


@dataclass(frozen=True)
class DialogueLine:
    """A shot's dialogue, word for word, where the cut puts it: spoken by the voice engine when
    the shot's model does not speak it (`voiced`), subtitled either way."""

    shot_id: str
    start_s: float
    text: str
    voiced: bool


@dataclass
class FinishingRun:
    """One assembly's finishing: `clips` and `voice` before `finish.finish` (given `voice_file`
    and the options' fps, interpolation and posters), `deliver` after; then read `notes`."""

    look: Finishing
    work_dir: Path
    settings: Settings
    step: Step
    notes: list[str] = field(default_factory=list)
    voice_file: Path | None = None
    """The cut's voice stem: the narration, with any dialogue lines laid in (`dialogue`)."""
    voice_engine: str | None = None
    narration_file: Path | None = None
    stems: StemMaker | None = None
    """Who makes generated sound (the engine's soundtrack); None: no generated sound."""

    @property
    def ffmpeg(self) -> str | None:
        return self.settings.ffmpeg

    def _report(self, name: str, share: tuple[int, int]) -> Callable[[float], None]:
        done, total = share
        return lambda fraction: self.step(name, min(1.0, (done + fraction) / total))

    # -- before the cut ---------------------------------------------------------------------

    async def clips(self, clips: Sequence[ClipSpec]) -> list[ClipSpec]:
        """The picked takes, stabilised when asked (each cached by its file and settings)."""
        if not self.look.stabilise:
            return list(clips)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        method = await asyncio.to_thread(ops.stabilise_method, "auto", self.ffmpeg)
        out: list[ClipSpec] = []
        reused = 0
        for i, clip in enumerate(clips):
            source = await asyncio.to_thread(fingerprint, clip.path)
            key = stable_hash([CACHE_VERSION, "stabilise", source, method, SMOOTHING])
            dest = self.work_dir / f"stable-{key}.mp4"
            if dest.exists():
                reused += 1
            else:
                await ops.stabilise(
                    clip.path,
                    dest,
                    method="deshake" if method == "deshake" else "vidstab",
                    smoothing=SMOOTHING,
                    ffmpeg=self.ffmpeg,
                    on_progress=self._report("stabilise", (i, len(clips))),
                )
            out.append(replace(clip, path=dest))
            self.step("stabilise", (i + 1) / len(clips))
        made = len(clips) - reused
        self.notes.append(
            f"stabilised {len(clips)} take(s) with {method}"
            + (f" ({reused} reused, {made} new)" if reused else "")
        )
        return out

    async def voice(self) -> Path | None:
        """The narration spoken: OpenAI TTS, else ElevenLabs, else espeak-ng, else none (and a
        note saying so: never silence pretending to be a voice-over)."""
        text = self.look.voiceover
        if not text:
            return None
        made = await self._stem("voice", text, 0.0)
        if made is not None:
            self.voice_file, self.voice_engine = made
            self.narration_file = made[0]
            return made[0]
        return None

    async def dialogue(self, lines: Sequence[DialogueLine], duration_s: float) -> Path | None:
        """Each line a shot's model does not speak, spoken by the voice engine at its shot's
        start and laid with the narration (if any) into the cut's voice stem, music ducked under
        it. A shot whose model speaks keeps its own sound (no second voice). Without a voice,
        a note says the line is not spoken (its subtitles still carry it)."""
        voiced = [line for line in lines if line.voiced and line.text.strip()]
        native = [line.shot_id for line in lines if not line.voiced]
        if native:
            self.notes.append(
                f"dialogue of shot(s) {', '.join(native)} is spoken by the video model itself "
                "(its native audio; no voice-over is added)"
            )
        if not voiced:
            return self.voice_file
        placed: list[tuple[Path, float]] = []
        if self.voice_file is not None:
            placed.append((self.voice_file, 0.0))
        spoken: list[str] = []
        for line in voiced:
            made = await self._stem("voice", line.text.strip(), 0.0)
            if made is None:
                self.notes.append(
                    f"dialogue of shot {line.shot_id} is not spoken (no voice, see above); its "
                    "subtitles carry the line"
                )
                continue
            placed.append((made[0], line.start_s))
            spoken.append(line.shot_id)
            self.voice_engine = self.voice_engine or made[1]
        if not spoken:
            return self.voice_file
        self.work_dir.mkdir(parents=True, exist_ok=True)
        inputs = await asyncio.to_thread(lambda: [[*fingerprint(f), t] for f, t in placed])
        key = stable_hash([CACHE_VERSION, "voice-track", inputs, round(duration_s, 3)])
        track = self.work_dir / f"voice-track-{key}.wav"
        if not track.exists():
            await ops.voice_track(placed, track, duration_s=duration_s, ffmpeg=self.ffmpeg)
        self.voice_file = track
        self.notes.append(
            f"dialogue of shot(s) {', '.join(spoken)} spoken as voice-over over its shot (the "
            "model does not speak); the music ducks under it"
        )
        return track

    async def music(self, duration_s: float, *, music_file: bool) -> Path | None:
        """Music generated from the finishing's `music_prompt` (ElevenLabs) unless the brief
        gives a music file; without an engine, the synthesized bed plays and a note says so."""
        text = self.look.music_prompt
        if not text or music_file:
            if text:
                self.notes.append("music: the brief's music file plays; music_prompt is unused")
            return None
        made = await self._stem("music", text, stem_seconds("music", duration_s))
        return made[0] if made else None

    async def ambience(self, duration_s: float) -> Path | None:
        """Ambience and effects generated from the finishing's `ambience` words (ElevenLabs
        sound generation, looped under a long cut); without an engine, none and a note."""
        text = self.look.ambience
        if not text:
            return None
        made = await self._stem("ambience", text, stem_seconds("ambience", duration_s))
        return made[0] if made else None

    async def _stem(self, kind: StemKind, text: str, seconds: float) -> tuple[Path, str] | None:
        if self.stems is None:
            self.notes.append(f"no generated {kind}: nothing here makes generated sound")
            return None
        return await self.stems(kind, text, seconds, self.notes, self.step)

    # -- after the cut ----------------------------------------------------------------------

    async def deliver(
        self,
        result: FinishResult,
        shots: Sequence[Shot],
        segments: Sequence[SegmentSpec],
    ) -> list[Path]:
        """Subtitles and UHD files for the exports of `result`; returns the extra files."""
        look = self.look
        if look.fps:
            reused = "interpolate" in result.reused
            self.notes.append(
                f"interpolated to {look.fps} fps ({look.interpolation})"
                + (" (reused)" if reused else "")
            )
        if result.reused:
            self.notes.append(f"reused from earlier exports: {', '.join(result.reused)}")
        if result.posters:
            self.notes.append(
                "posters: " + ", ".join(str(path) for path in result.posters.values())
            )
        keys = result.export_keys
        extra: list[Path] = []
        cues: list[p.Cue] = []
        mode = look.subtitles
        if mode == "none" and any(shot.dialogue and shot.dialogue.strip() for shot in shots):
            mode = "sidecar"  # dialogue is always captioned; "burned" sets it in the picture
        if mode != "none":
            narration_s = None
            if self.narration_file is not None:
                try:
                    narration_s = (await asyncio.to_thread(probe, self.narration_file)).duration_s
                except ProbeError:
                    narration_s = None
                if narration_s and narration_s > result.duration_s + 0.05:
                    self.notes.append(
                        f"the voice-over runs {narration_s:.1f}s, longer than the "
                        f"{result.duration_s:.1f}s cut: its end is cut off"
                    )
            cues = subtitle_cues(
                shots,
                segments,
                narration=look.voiceover,
                narration_s=narration_s,
                total_s=result.duration_s,
            )
            if not cues:
                self.notes.append(
                    "no subtitles: no shot has dialogue and there is no voice-over text"
                )
            elif mode == "sidecar":
                for path in result.exports.values():
                    extra.append(ops.write_srt(cues, path.with_suffix(".srt")))
                self.step("subtitles", 1.0)
                self.notes.append(
                    f"subtitles written as .srt next to each export ({len(cues)} cue(s))"
                )
            else:
                await self._burn(result.exports, keys, cues)
        if look.uhd:
            burned = [astuple(c) for c in cues] if mode == "burned" else []
            extra += await self._uhd(result.exports, keys, burned)
        return extra

    async def _burn(
        self, exports: Mapping[str, Path], keys: Mapping[str, str], cues: Sequence[p.Cue]
    ) -> None:
        srt = self.work_dir / f"subs-{stable_hash([astuple(c) for c in cues])}.srt"
        if not srt.exists():
            ops.write_srt(cues, srt)
        libass = await asyncio.to_thread(has_filter, "subtitles", self.ffmpeg)
        reused = 0
        for i, (aspect, path) in enumerate(exports.items()):
            safe = GENERIC_SAFE.get(aspect, p.DEFAULT_SAFE)  # the strictest of its platforms
            key = stable_hash([keys[aspect], "burn", srt.name, libass, astuple(safe)])
            cached = self.work_dir / f"subbed-{key}.mp4"
            if cached.exists():
                reused += 1
            elif libass:
                # libass sizes by the frame's shape (`ops.subtitle_font_size`) so lines fit
                await ops.burn_subtitles(
                    path,
                    cached,
                    srt,
                    safe=safe,
                    ffmpeg=self.ffmpeg,
                    on_progress=self._report("subtitles", (i, len(exports))),
                )
            else:
                await ops.burn_text(
                    path,
                    cached,
                    cues,
                    ffmpeg=self.ffmpeg,
                    on_progress=self._report("subtitles", (i, len(exports))),
                )
            place(cached, path)
            self.step("subtitles", (i + 1) / len(exports))
        self.notes.append(
            f"subtitles burned into {len(exports)} export(s) ({len(cues)} cue(s))"
            + (f", {reused} reused" if reused else "")
        )

    async def _uhd(
        self, exports: Mapping[str, Path], keys: Mapping[str, str], burned: list[Any]
    ) -> list[Path]:
        made: list[Path] = []
        reused = 0
        for i, (aspect, path) in enumerate(exports.items()):
            size = UHD_SIZES[aspect]
            cached = self.work_dir / f"uhd-{stable_hash([keys[aspect], burned, size])}.mp4"
            if cached.exists():
                reused += 1
            else:
                await ops.upscale(
                    path,
                    cached,
                    size=size,
                    ffmpeg=self.ffmpeg,
                    on_progress=self._report("uhd", (i, len(exports))),
                )
            made.append(place(cached, path.with_name(f"{path.stem}-uhd{path.suffix}")))
            self.step("uhd", (i + 1) / len(exports))
        self.notes.append(
            f"UHD files: {', '.join(str(m) for m in made)}"
            + (f" ({reused} reused)" if reused else "")
        )
        return made
