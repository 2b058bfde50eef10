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
from typing import Any, Literal

from memory.models import EXPORT_SIZES, Finishing, Shot, SpendEntry, stable_hash
from memory.store import ProjectStore
from tools.post import ops
from tools.post import picture as p
from tools.post.builders import ClipSpec, SegmentSpec
from tools.post.finish import FinishResult, place
from tools.post.platforms import GENERIC_SAFE
from tools.post.probe import ProbeError, probe
from tools.post.runner import has_filter
from tools.post.sound import VoiceOverUnavailable
from tools.providers.base import ProviderError
from tools.settings import Settings
from tools.spend import budget_problem

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

TTS_USD_PER_1K_CHARS: dict[str, float] = {"openai": 0.015, "elevenlabs": 0.30, "espeak-ng": 0.0}
"""What one voice-over costs per 1,000 characters of narration. OpenAI: tts-1 is $15 per 1M
characters and gpt-4o-mini-tts about $0.015/min (providers.md, both marked uncertain there).
ElevenLabs bills credits per character by plan; $0.30 is a ceiling above the paid plans' rate."""
MUSIC_USD_PER_MINUTE = 1.00
"""ElevenLabs music, a ceiling: credit prices vary by plan and are not documented for the API."""
SFX_USD_PER_SECOND = 0.01
"""ElevenLabs sound generation (ambience, effects), a ceiling for the same reason."""
SFX_MAX_S = 30.0
"""The longest sound ElevenLabs generates; a longer cut loops it (asked for as a loop)."""


def voice_engines(settings: Settings) -> list[str]:
    """Who may speak a voice-over, in the order they are tried."""
    engines = []
    if settings.openai_api_key is not None:
        engines.append("openai")
    if settings.elevenlabs_api_key is not None:
        engines.append("elevenlabs")
    return [*engines, "espeak-ng"]


def stem_engines(kind: StemKind, settings: Settings) -> list[str]:
    """Who may make a stem, in the order they are tried (music and ambience: ElevenLabs only)."""
    if kind == "voice":
        return voice_engines(settings)
    return ["elevenlabs"] if settings.elevenlabs_api_key is not None else []


def stem_seconds(kind: StemKind, duration_s: float) -> float:
    """How long a generated stem is asked to be for a cut of `duration_s` (0 for a voice)."""
    if kind == "voice":
        return 0.0
    if kind == "music":
        return round(min(600.0, max(3.0, duration_s)), 2)
    return round(min(SFX_MAX_S, max(0.5, duration_s)), 2)


def stem_key(kind: StemKind, engine: str, text: str, seconds: float = 0.0) -> str:
    if kind == "voice":
        return stable_hash([CACHE_VERSION, engine, text])
    return stable_hash([CACHE_VERSION, kind, engine, text, seconds])


def stem_path(work_dir: Path, kind: StemKind, engine: str, text: str, seconds: float = 0.0) -> Path:
    ext = "wav" if engine == "espeak-ng" else "mp3"
    return work_dir / f"{kind}-{stem_key(kind, engine, text, seconds)}.{ext}"


def stem_price(kind: StemKind, engine: str, text: str, seconds: float = 0.0) -> float:
    if kind == "voice":
        return round(TTS_USD_PER_1K_CHARS[engine] * len(text) / 1000, 4)
    if kind == "music":
        return round(MUSIC_USD_PER_MINUTE * seconds / 60, 4)
    return round(SFX_USD_PER_SECOND * seconds, 4)


def _pending(stem: Path) -> Path:
    """Marks a paid request sent whose answer has not been written (a crash or a timeout)."""
    return stem.with_name(f"{stem.name}.pending")


def wanted_stems(look: Finishing, *, music_file: bool) -> dict[StemKind, str]:
    """The generated sound the finishing asks for: a voice-over, music (unless the brief gives
    a music file) and ambience, each by its text."""
    wanted: dict[StemKind, str] = {}
    if look.voiceover:
        wanted["voice"] = look.voiceover
    if look.music_prompt and not music_file:
        wanted["music"] = look.music_prompt
    if look.ambience:
        wanted["ambience"] = look.ambience
    return wanted


@dataclass(frozen=True)
class AudioQuote:
    """What the generated sound of the next export costs: nothing for what was made before
    with the same words, what only the offline voice can make, or what no engine can."""

    cost_usd: float
    parts: dict[str, float]


def quote_audio(
    look: Finishing, settings: Settings, work_dir: Path, *, duration_s: float, music_file: bool
) -> AudioQuote:
    parts: dict[str, float] = {}
    for kind, text in wanted_stems(look, music_file=music_file).items():
        engines = stem_engines(kind, settings)
        if not engines:
            continue
        seconds = stem_seconds(kind, duration_s)
        if stem_path(work_dir, kind, engines[0], text, seconds).exists():
            continue
        price = stem_price(kind, engines[0], text, seconds)
        if price:
            parts[f"{kind} ({engines[0]})"] = price
    return AudioQuote(round(sum(parts.values()), 4), parts)


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
    """Narration text spread over the voice-over's length (or the film's) by length of text;
    without narration, each shot's dialogue over its shot."""
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
        return cues
    return [
        p.Cue(seg.start_s, seg.end_s, shot.dialogue.strip())
        for shot, seg in zip(shots, segments, strict=True)
        if shot.dialogue and shot.dialogue.strip()
    ]


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
    voice_engine: str | None = None
    store: ProjectStore | None = None
    """With `project_id`: where a paid voice-over's charge is written (and the budget read)."""
    project_id: str | None = None

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
            return made[0]
        return None

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
        """Make (or reuse) one generated stem with the first engine that can.

        A paid stem is held to the budget and written to the spend ledger before it is asked
        for; a request whose outcome is unknown (a timeout, a crash) keeps its charge and is
        not sent again for the same words."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        label = {"voice": "voice-over", "music": "music", "ambience": "ambience"}[kind]
        problems: list[str] = []
        for engine in stem_engines(kind, self.settings):
            dest = stem_path(self.work_dir, kind, engine, text, seconds)
            reused = dest.exists()
            if not reused:
                refusal = await asyncio.to_thread(self._refusal, kind, engine, text, seconds)
                if refusal:
                    problems.append(f"{engine}: {refusal}")
                    continue
                try:
                    await self._paid(kind, engine, text, seconds, dest)
                except (ProviderError, VoiceOverUnavailable, ops.PostError) as exc:
                    problems.append(f"{engine}: {exc}")
                    log.warning("%s with %s failed: %s", label, engine, exc)
                    continue
            self.step("voiceover" if kind == "voice" else kind, 1.0)
            price = stem_price(kind, engine, text, seconds)
            cost = f" (${price:.4f})" if price and not reused else ""
            what = {
                "voice": f"voice-over spoken by {engine}",
                "music": f"music generated by {engine} ({seconds:g}s)",
                "ambience": f"ambience generated by {engine}",
            }[kind]
            after = "; the music ducks under it" if kind == "voice" else ""
            self.notes.append(what + (" (reused)" if reused else cost) + after)
            for problem in problems:
                self.notes.append(f"({label} fell back past {problem})")
            return dest, engine
        self._none_note(kind, problems)
        return None

    def _none_note(self, kind: StemKind, problems: list[str]) -> None:
        if kind == "voice":
            tried = "no OPENAI_API_KEY or ELEVENLABS_API_KEY is set and espeak-ng is not installed"
            if len(problems) > 1 or not problems[0].startswith("espeak-ng: no voice-over"):
                tried = "; ".join(problems)
            note = (
                f"no voice-over: {tried}. The cut has no voice (music and the takes' own "
                "sound); the narration text is kept and will be spoken once a voice is "
                "available (set OPENAI_API_KEY or ELEVENLABS_API_KEY, or apt install espeak-ng)"
            )
        else:
            why = "; ".join(problems) or "ELEVENLABS_API_KEY is not set"
            instead = (
                "the synthesized bed plays instead"
                if kind == "music"
                else "the cut has no added ambience"
            )
            note = f"no generated {kind}: {why}; {instead} (the words are kept for later)"
        log.warning("%s", note)
        self.notes.append(note)

    def _ledger(self) -> tuple[ProjectStore, str] | None:
        if self.store is None or self.project_id is None:
            return None
        return self.store, self.project_id

    def _refusal(self, kind: StemKind, engine: str, text: str, seconds: float) -> str | None:
        """Why a paid stem must not be asked for now (over budget, or sent before with an
        unknown outcome), or None."""
        price = stem_price(kind, engine, text, seconds)
        ledger = self._ledger()
        if not price or ledger is None:
            return None
        if _pending(stem_path(self.work_dir, kind, engine, text, seconds)).exists():
            return (
                "this was sent before and its result never came back (it may have been "
                "charged); it is not sent again. Change the words to ask for a new one"
            )
        store, project_id = ledger
        return budget_problem(self.settings.budget_usd, store.total_spend(project_id), price)

    async def _paid(
        self, kind: StemKind, engine: str, text: str, seconds: float, dest: Path
    ) -> None:
        """Make the stem, with its charge in the ledger first and released if it surely failed."""
        price = stem_price(kind, engine, text, seconds)
        ledger = self._ledger()
        if not price or ledger is None:
            await self._make(kind, engine, text, seconds, dest)
            return
        store, project_id = ledger
        entry = SpendEntry(
            project_id=project_id,
            kind="submit",
            amount_usd=price,
            provider=engine,
            job_id=f"{kind}-{stem_key(kind, engine, text, seconds)}",
            note=f"{kind}, {len(text)} characters" + (f", {seconds:g}s" if seconds else ""),
        )
        pending = _pending(dest)
        pending.write_text(entry.model_dump_json())  # until the answer is in, the outcome is open
        await asyncio.to_thread(store.record_spend, entry)
        try:
            await self._make(kind, engine, text, seconds, dest)
        except ProviderError as exc:
            if exc.kind != "timeout":  # a timeout may have been charged: keep it open
                refund = entry.model_copy(update={"kind": "refund", "note": f"failed: {exc}"})
                await asyncio.to_thread(store.record_spend, refund)
                pending.unlink(missing_ok=True)
            raise
        pending.unlink(missing_ok=True)

    async def _make(
        self, kind: StemKind, engine: str, text: str, seconds: float, dest: Path
    ) -> None:
        """One request to the engine that makes this stem (espeak-ng runs here, offline)."""
        if engine == "espeak-ng":
            await ops.voice_over(text, dest)
            return
        if engine == "openai":
            from tools.providers.openai_media import OpenAIMedia

            openai = OpenAIMedia(self.settings)
            try:
                await openai.speak(text, dest)
            finally:
                await openai.aclose()
            return
        from tools.providers.elevenlabs import ElevenLabs

        eleven = ElevenLabs(self.settings)
        try:
            if kind == "voice":
                await eleven.speak(text, dest)
            elif kind == "music":
                await eleven.music(text, dest, length_s=seconds)
            else:
                await eleven.sound_effect(text, dest, duration_s=seconds, loop=True)
        finally:
            await eleven.aclose()

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
        if look.subtitles != "none":
            narration_s = None
            if self.voice_file is not None:
                try:
                    narration_s = (await asyncio.to_thread(probe, self.voice_file)).duration_s
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
            elif look.subtitles == "sidecar":
                for path in result.exports.values():
                    extra.append(ops.write_srt(cues, path.with_suffix(".srt")))
                self.step("subtitles", 1.0)
                self.notes.append(
                    f"subtitles written as .srt next to each export ({len(cues)} cue(s))"
                )
            else:
                await self._burn(result.exports, keys, cues)
        if look.uhd:
            burned = [astuple(c) for c in cues] if look.subtitles == "burned" else []
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
