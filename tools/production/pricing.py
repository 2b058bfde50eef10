"""One price for every paid thing: takes, generated sound, re-renders, revisions and edits.

`Quote` is the one type chat approvals, `make`'s estimate and `plan --json` read. A take that an
identical success can be reused for, or that this project already holds a row for (in flight,
unknown, failed), costs nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memory.models import Production, Shot, TakeStatus
from memory.store import ProjectStore
from tools.providers.registry import default_profile
from tools.settings import Settings
from tools.takes import take_input_hash, takes_for


@dataclass(frozen=True)
class Quote:
    """The price and time of work before it is done."""

    cost_usd: float
    seconds: float
    shots: list[str] = field(default_factory=list)
    reused: int = 0
    # Generated sound: what each paid stem costs, e.g. {"voice (openai)": 0.01}.
    parts: dict[str, float] = field(default_factory=dict)

    def plus(self, other: Quote) -> Quote:
        return Quote(
            round(self.cost_usd + other.cost_usd, 4),
            max(self.seconds, other.seconds),
            [*self.shots, *(s for s in other.shots if s not in self.shots)],
            self.reused + other.reused,
            {**self.parts, **other.parts},
        )


# Kept for callers of the old name.
Estimate = Quote


def estimate_shot(shot: Shot, takes: int) -> Quote:
    """Price and wall time of `takes` takes of one shot on its routed provider."""
    profile = default_profile(shot.provider, shot.model)
    billed = profile.fit_duration(shot.duration) or shot.duration
    if shot.provider == "animatic":
        seconds = 1.0 + 0.6 * billed * takes / 2
    else:
        seconds = profile.typical_latency_s * max(1, takes / profile.max_concurrency)
    return Quote(round(profile.price(billed) * takes, 4), round(seconds, 1), [shot.id])


def quote_takes(
    shots: list[Shot],
    takes: int | None,
    store: ProjectStore,
    project_id: str | None = None,
    *,
    retry_failed: bool = True,
) -> Quote:
    """What the takes not rendered yet would cost (`takes` None: the default per shot). A
    failed take of the project is sent again (and paid again) when `retry_failed`, as `make`
    and chat do; `resume` leaves failed takes failed."""
    cost = seconds = 0.0
    priced: list[str] = []
    reused = 0
    held = (
        {
            t.input_hash
            for t in store.takes(project_id)
            if not (retry_failed and t.status is TakeStatus.FAILED)
        }
        if project_id
        else set()
    )
    for shot in shots:
        wanted = takes_for(shot, takes)
        fresh = sum(
            1
            for i in range(wanted)
            if (h := take_input_hash(shot, i)) not in held and store.find_take_by_hash(h) is None
        )
        reused += wanted - fresh
        if fresh:
            est = estimate_shot(shot, fresh)
            cost += est.cost_usd
            seconds = max(seconds, est.seconds)
            priced.append(shot.id)
    return Quote(round(cost, 4), round(seconds, 1), priced, reused)


def estimate_fresh(
    shots: list[Shot], takes: int | None, store: ProjectStore, project_id: str | None = None
) -> Quote:
    """The old name of `quote_takes`."""
    return quote_takes(shots, takes, store, project_id)


def quote_sound(production: Production, settings: Settings, project_id: str | None = None) -> Quote:
    """What the generated sound of the next export would cost (a paid voice-over, the dialogue
    lines a voice speaks for shots whose model does not, music and ambience): 0 for what was made before, what only the offline voice makes, what no engine
    can make."""
    from tools.production.services import work_dir_of
    from tools.production.soundtrack import dialogue_to_voice, quote_audio

    audio = quote_audio(
        production.finishing,
        settings,
        work_dir_of(settings, project_id),
        duration_s=sum(s.duration for s in production.shots()),
        music_file=production.brief.music is not None,
        dialogue=[line for _, line in dialogue_to_voice(production.shots())],
    )
    return Quote(audio.cost_usd, 5.0 if audio.cost_usd else 0.0, [], 0, dict(audio.parts))


def estimate_audio(
    production: Production, settings: Settings, project_id: str | None = None
) -> Quote:
    """The old name of `quote_sound`."""
    return quote_sound(production, settings, project_id)


def quote_production(
    production: Production,
    takes: int | None,
    store: ProjectStore,
    settings: Settings,
    project_id: str | None = None,
    *,
    retry_failed: bool = True,
) -> Quote:
    """Takes and generated sound of a production: what `make`, `plan --json` and chat show."""
    return quote_takes(
        production.shots(), takes, store, project_id, retry_failed=retry_failed
    ).plus(quote_sound(production, settings, project_id))


def takes_wanted(takes: int | None, settings: Settings) -> int | None:
    """Takes per shot for chat and `make` alike: the number asked, else REELFORGE_TAKES when
    set, else None (the per-shot default: 5 of a paid shot, 1 of the free animatic)."""
    if takes is not None:
        return takes
    return settings.takes if "takes" in settings.model_fields_set else None
