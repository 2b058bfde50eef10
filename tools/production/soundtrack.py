"""Paid and offline sound for the cut (voice-over, music, ambience): which engine makes each
stem, what it costs, and making it on the project's ledger under the run's cap, like takes.

A paid stem reserves its price on the project's spend ledger before it is asked for; a request
whose outcome is unknown (a timeout, a crash) keeps its charge and is not sent again for the
same words. The cap is the run's (`make --budget`, the project's), else REELFORGE_BUDGET_USD.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from memory.models import Finishing, Shot, SpendEntry, stable_hash
from memory.store import OverBudget, ProjectStore
from tools.post import ops
from tools.post.finishing import SFX_MAX_S, StemKind, Step, stem_seconds
from tools.post.sound import VoiceOverUnavailable
from tools.prompting import dialect_of
from tools.providers.base import ProviderError
from tools.providers.registry import default_profile
from tools.settings import Settings
from tools.spend import budget_problem

log = logging.getLogger(__name__)
CACHE_VERSION = 1

__all__ = [
    "SFX_MAX_S",
    "AudioQuote",
    "MusicError",
    "Soundtrack",
    "StemKind",
    "check_music_file",
    "dialogue_to_voice",
    "speaks_itself",
    "quote_audio",
    "stem_key",
    "stem_price",
    "stem_seconds",
]

TTS_USD_PER_1K_CHARS: dict[str, float] = {"openai": 0.015, "elevenlabs": 0.30, "espeak-ng": 0.0}
"""What one voice-over costs per 1,000 characters of narration. OpenAI: tts-1 is $15 per 1M
characters and gpt-4o-mini-tts about $0.015/min (providers.md, both marked uncertain there).
ElevenLabs bills credits per character by plan; $0.30 is a ceiling above the paid plans' rate."""
MUSIC_USD_PER_MINUTE = 1.00
"""ElevenLabs music, a ceiling: credit prices vary by plan and are not documented for the API."""
SFX_USD_PER_SECOND = 0.01
"""ElevenLabs sound generation (ambience, effects), a ceiling for the same reason."""


class StemRefused(RuntimeError):
    """A paid stem the budget does not allow (decided at the moment of charging)."""


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


def speaks_itself(shot: Shot) -> bool:
    """Whether the shot's video model speaks its dialogue: Veo (directly or as Runway's veo3.x),
    whose takes always carry their native audio. Kling 2.6 could, but reelforge does not ask it
    for sound, so its takes are silent and its lines get a voice."""
    return default_profile(shot.provider, shot.model).native_audio and (
        dialect_of(shot.provider, shot.model) == "veo"
    )


def dialogue_to_voice(shots: list[Shot]) -> list[tuple[str, str]]:
    """(shot id, line) of every shot whose dialogue its model does not speak: a voice-over line
    over that shot at export, word for word."""
    return [
        (shot.id, shot.dialogue.strip())
        for shot in shots
        if shot.dialogue and shot.dialogue.strip() and not speaks_itself(shot)
    ]


@dataclass(frozen=True)
class AudioQuote:
    """What the generated sound of the next export costs: nothing for what was made before
    with the same words, what only the offline voice can make, or what no engine can."""

    cost_usd: float
    parts: dict[str, float]


def quote_audio(
    look: Finishing,
    settings: Settings,
    work_dir: Path,
    *,
    duration_s: float,
    music_file: bool,
    dialogue: list[str] | None = None,
) -> AudioQuote:
    """`dialogue`: the lines a voice speaks over their shots (`dialogue_to_voice`)."""
    parts: dict[str, float] = {}
    voice = voice_engines(settings)[0]
    said = [
        line for line in dialogue or [] if not stem_path(work_dir, "voice", voice, line).exists()
    ]
    price = round(sum(stem_price("voice", voice, line) for line in said), 4)
    if price:
        parts[f"dialogue voice-over ({voice})"] = price
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


@dataclass
class Soundtrack:
    """Makes the generated stems of one export (a `tools.post.finishing.StemMaker`)."""

    settings: Settings
    work_dir: Path
    store: ProjectStore | None = None
    """With `project_id`: where a paid stem's charge is written (and the budget read)."""
    project_id: str | None = None
    budget_usd: float | None = None
    """The cap paid sound is held to: the run's, else REELFORGE_BUDGET_USD."""

    async def __call__(
        self, kind: StemKind, text: str, seconds: float, notes: list[str], step: Step
    ) -> tuple[Path, str] | None:
        return await self._stem(kind, text, seconds, notes, step)

    async def _stem(
        self, kind: StemKind, text: str, seconds: float, notes: list[str], step: Step
    ) -> tuple[Path, str] | None:
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
                except (ProviderError, VoiceOverUnavailable, ops.PostError, StemRefused) as exc:
                    problems.append(f"{engine}: {exc}")
                    log.warning("%s with %s failed: %s", label, engine, exc)
                    continue
            step("voiceover" if kind == "voice" else kind, 1.0)
            price = stem_price(kind, engine, text, seconds)
            cost = f" (${price:.4f})" if price and not reused else ""
            what = {
                "voice": f"voice-over spoken by {engine}",
                "music": f"music generated by {engine} ({seconds:g}s)",
                "ambience": f"ambience generated by {engine}",
            }[kind]
            after = "; the music ducks under it" if kind == "voice" else ""
            notes.append(what + (" (reused)" if reused else cost) + after)
            for problem in problems:
                notes.append(f"({label} fell back past {problem})")
            return dest, engine
        self._none_note(kind, problems, notes)
        return None

    def _none_note(self, kind: StemKind, problems: list[str], notes: list[str]) -> None:
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
        notes.append(note)

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
        cap = self.budget_usd if self.budget_usd is not None else self.settings.budget_usd
        return budget_problem(cap, store.total_spend(project_id), price)

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
        cap = self.budget_usd if self.budget_usd is not None else self.settings.budget_usd
        try:  # checked and charged under the project's lock, against what takes already hold
            hold = await asyncio.to_thread(store.reserve, project_id, price, cap)
        except OverBudget as exc:
            raise StemRefused(f"not asked for: {exc}") from None
        pending = _pending(dest)
        pending.write_text(entry.model_dump_json())  # until the answer is in, the outcome is open
        await asyncio.to_thread(store.settle_reservation, hold, None, entry)
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


class MusicError(ValueError):
    """A music file that is not a readable audio file; the message says which."""


def check_music_file(path: Path) -> Path:
    """`path` resolved, if it is a regular file with an audio stream (probed with PyAV);
    else `MusicError`. Special files (/proc, devices, pipes) are refused without reading."""
    from tools.post.probe import ProbeError, probe

    shown = str(path)
    try:
        resolved = path.expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        raise MusicError(f"music file {shown!r} not found") from None
    if not resolved.is_file() or resolved.parts[1:2] in (("proc",), ("sys",), ("dev",)):
        raise MusicError(f"music {shown!r} is not an audio file")
    try:
        info = probe(resolved)
    except (ProbeError, OSError, ValueError):
        raise MusicError(f"music {shown!r} is not an audio file") from None
    if not info.has_audio:
        raise MusicError(f"music {shown!r} has no sound")
    return resolved
