"""One conversation's production: the operations every front end (chat, Slack, the board) runs.

A `Studio` is bound to a thread. It gathers the brief, plans, prices, renders takes, picks, exports
and revises, keeping its state in the project store so a thread can be resumed after a restart.
Words up, logic down: every method returns a small typed result (`BriefView`, `PlanView`,
`GenerateResult`, ...), which the front ends put in words with `agent.conversation.words`; failures
a person can fix raise `StudioError` with one line saying what to do.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from memory.briefs import BriefError, parse_brief
from memory.models import (
    ASPECTS,
    Aspect,
    Brief,
    ChatSession,
    Finishing,
    Production,
    Project,
    SpendEntry,
    TakeStatus,
)
from memory.store import slugify
from tools.planner import PlanError, with_takes
from tools.production.assembly import (
    OutputError,
    assemble_and_export,
    confined,
    export_dir,
    output_root,
    publish_latest,
    write_timeline,
)
from tools.production.planning import plan as plan_production
from tools.production.planning import replace_shots, subset
from tools.production.pricing import (
    Quote,
    estimate_shot,
    quote_sound,
    quote_takes,
    takes_wanted,
)
from tools.production.rendering import ranked_takes, render_takes
from tools.production.revision import RevisionPlan, RevisionPlanError
from tools.production.services import ProductionError, Reporter, Services, project_dir
from tools.production.sheets import contact_sheets
from tools.production.soundtrack import MusicError, check_music_file
from tools.providers.registry import UnknownProvider, check_provider_id
from tools.references import has_reference_store, score_consistency
from tools.revisions import RevisionNotUnderstood
from tools.spend import budget_problem

REQUIRED = ("story", "mood", "style", "duration", "formats", "audience")
TEXT_FIELDS = ("title", "story", "mood", "style", "audience", "platform")
MAX_TEXT = {
    "title": 200,
    "story": 5000,
    "mood": 200,
    "style": 300,
    "audience": 300,
    "platform": 100,
}

# A platform implies a format; the person can always ask for others.
PLATFORM_FORMATS: dict[str, Aspect] = {
    "tiktok": "9:16",
    "reels": "9:16",
    "shorts": "9:16",
    "stories": "9:16",
    "snapchat": "9:16",
    "youtube": "16:9",
    "vimeo": "16:9",
    "linkedin": "1:1",
    "feed": "1:1",
    "facebook": "1:1",
    "instagram": "9:16",
    "twitter": "16:9",
}
FORMAT_WORDS: dict[str, Aspect] = {
    "vertical": "9:16",
    "portrait": "9:16",
    "horizontal": "16:9",
    "landscape": "16:9",
    "widescreen": "16:9",
    "square": "1:1",
}


class StudioError(ValueError):
    """Something the person (or the model) can fix; the message says how."""


class PriceChanged(StudioError):
    """The price shown for a new take is no longer the price; nothing was rendered (the front
    end says so from `shot_id`, `now_usd` and `shown_usd`)."""

    def __init__(self, shot_id: str, now_usd: float, shown_usd: float) -> None:
        super().__init__(f"price of a take of shot {shot_id}: {now_usd:.4f} > {shown_usd:.4f}")
        self.shot_id, self.now_usd, self.shown_usd = shot_id, now_usd, shown_usd


@dataclass(frozen=True)
class Snapshot:
    """What a thread's project holds at one moment: to tell what a turn added."""

    project_id: str | None
    revisions: int
    takes: frozenset[str]


@dataclass(frozen=True)
class News:
    """What a turn added: new successful takes, and new revisions with their exports."""

    takes: frozenset[str]
    revisions: list[tuple[int, list[Path]]]


@dataclass(frozen=True)
class TakeChoice:
    """A shot's takes to choose from: (number, score, picked) best first, and one take's price."""

    shot_id: str
    description: str
    takes: list[tuple[int, float | None, bool]]
    one_take_usd: float


@dataclass(frozen=True)
class BriefView:
    """The brief gathered so far: its fields, what is still required (in order), and the format
    a platform implied this time (if it did)."""

    draft: dict[str, Any]
    missing: list[str]
    implied_format: Aspect | None = None


@dataclass(frozen=True)
class PlanView:
    """A plan: the planned production, the takes per shot it was priced for, and that price."""

    production: Production
    takes: int | None
    quote: Quote


@dataclass(frozen=True)
class ShotTakes:
    """One shot after rendering: how many takes it has, which one (best first) was picked with
    its score and QC notes, and the reference drift found, if any."""

    shot_id: str
    takes: int
    picked: int
    score: float
    qc_notes: list[str]
    drift: str | None = None
    best: int | None = None
    """Set when the shot kept its earlier pick (`picked`) and take `best` scored higher; the
    score and QC notes are then `best`'s."""


@dataclass(frozen=True)
class GenerateResult:
    """What a render added: each shot's takes, what it spent, and each shot's contact sheet (or
    why none could be drawn)."""

    shots: list[ShotTakes]
    spent_usd: float
    sheets: list[tuple[str, Path]]
    sheet_error: str | None = None


@dataclass(frozen=True)
class PickResult:
    shot_id: str
    take_number: int
    take_id: str


@dataclass(frozen=True)
class ExportResult:
    """A committed revision: its number, its note, its files, and what the engine noted."""

    revision: int
    note: str
    files: list[Path]
    notes: list[str]


@dataclass(frozen=True)
class FinishingView:
    """The finishing options after a change, the options that changed, and what the next export
    would spend on generated sound."""

    finishing: Finishing
    changed: list[str]
    sound: Quote


@dataclass(frozen=True)
class TimelineResult:
    path: Path
    clips: int


@dataclass(frozen=True)
class RevisionOffer:
    """A revision request parsed into a change, what it makes stale, and its two options: a
    free regrade (if the footage allows it) and a priced re-render."""

    change: RevisionPlan
    stale_exports: int
    regrade_possible: bool
    rerender: Quote


@dataclass(frozen=True)
class ReferenceAdded:
    kind: str
    name: str
    id: str
    project_id: str | None
    created: bool


@dataclass(frozen=True)
class ReferenceHit:
    name: str
    kind: str
    id: str
    description: str
    similarity: float


@dataclass(frozen=True)
class ReferenceMatches:
    """What a reference search found; `searched` is False when there is no reference store."""

    text: str
    searched: bool
    hits: list[ReferenceHit]


@dataclass(frozen=True)
class BudgetView:
    """The cap (None: none set) and what the project has spent."""

    cap_usd: float | None
    spent_usd: float


@dataclass(frozen=True)
class StatusView:
    """Where the thread's project stands; `brief` instead when there is no project yet."""

    brief: BriefView | None
    project_id: str = ""
    title: str = ""
    shots: int = 0
    picked: int = 0
    revisions: int = 0
    spent_usd: float = 0.0
    latest: tuple[int, list[Path]] | None = None
    pending_request: str | None = None


# The one price type of the engine; AudioPrice is the old name of a sound quote.
AudioPrice = Quote


def platform_format(platform: str) -> Aspect | None:
    low = platform.lower()
    for word, fmt in PLATFORM_FORMATS.items():
        if word in low:
            return fmt
    return None


def normalise_formats(values: list[str]) -> list[Aspect]:
    """`["vertical", "16:9"]` -> `["9:16", "16:9"]`; "all" means the three formats."""
    out: list[Aspect] = []
    for raw in values:
        value = raw.strip().lower().replace("x", ":").replace(" ", "")
        if value in ("all", "allthree", "every", "allformats"):
            out.extend(ASPECTS)
            continue
        fmt = FORMAT_WORDS.get(value) or next((a for a in ASPECTS if a == value), None)
        if fmt is None:
            raise StudioError(
                f"unknown format {raw!r}; use 9:16 (vertical), 16:9 (horizontal) or 1:1 (square)"
            )
        out.append(fmt)
    return list(dict.fromkeys(out))


SMALL_WORDS = {
    "a",
    "an",
    "the",
    "of",
    "at",
    "on",
    "in",
    "over",
    "to",
    "and",
    "by",
    "for",
    "through",
}


def _title_from(story: str) -> str:
    """A working title from the story's first sentence: its subject and its last place or time
    ("A girl stands on a rooftop at sunset" -> "A Girl at Sunset"); the person can rename it."""
    first = re.split(r"[.!?;\n]", story.strip())[0]
    subject = re.search(r"\b(an?|the)\s+([\w-]+)", first, re.IGNORECASE)
    place = re.findall(
        r"\b(at|on|in|over|through|across|under)\s+((?:an?\s+|the\s+)?[\w-]+(?:\s+[\w-]+){0,2})",
        first,
    )
    if subject and place:
        words = [subject.group(1), subject.group(2), place[-1][0], *place[-1][1].split()]
    else:
        words = first.split()[:5]
    titled = [w if i and w.lower() in SMALL_WORDS else w.capitalize() for i, w in enumerate(words)]
    return " ".join(titled).strip(",;:") or "Untitled"


class Studio:
    """The production behind one conversation thread."""

    def __init__(
        self,
        services: Services,
        thread_id: str,
        reporter: Reporter | None = None,
        out_dir: Path | None = None,
        read_dirs: tuple[Path, ...] = (),
    ) -> None:
        self.services = services
        self.thread_id = thread_id
        self.reporter = reporter
        self.out_dir = out_dir
        # Folders a tool may read images from besides the project's and the uploads: the
        # person's own (e.g. the folder `reelforge chat` was started in, a brief's folder).
        self.read_dirs = read_dirs

    # -- state ------------------------------------------------------------------------------

    @property
    def session(self) -> ChatSession:
        return self.services.store.session(self.thread_id)

    def _save(self, session: ChatSession) -> None:
        self.services.store.save_session(session)

    def attach(self, project_ref: str) -> Project:
        """Work on an existing project in this thread (e.g. `reelforge chat --project P`)."""
        project = self.services.store.get_project(project_ref)
        session = self.session
        production = self.services.store.working(project.id)
        session.project_id = project.id
        session.draft = production.brief.model_dump(mode="json", exclude_none=True)
        self._save(session)
        return project

    def project(self) -> Project | None:
        pid = self.session.project_id
        return None if pid is None else self.services.store.get_project(pid)

    def _require_project(self) -> tuple[Project, Production]:
        project = self.project()
        if project is None:
            raise StudioError("there is no plan yet: complete the brief, then plan it")
        return project, self.services.store.working(project.id)

    # -- the brief --------------------------------------------------------------------------

    def missing(self) -> list[str]:
        draft = self.session.draft
        return [name for name in REQUIRED if draft.get(name) in (None, "", [])]

    def update_brief(self, **fields: Any) -> BriefView:
        """Set brief fields (None = leave as is); returns what is set and what is missing."""
        session = self.session
        draft = dict(session.draft)
        implied: Aspect | None = None
        for name, value in fields.items():
            if value is None or value == "" or value == []:
                continue
            if name in TEXT_FIELDS:
                text = " ".join(str(value).split())
                if len(text) > MAX_TEXT[name]:
                    raise StudioError(f"{name} is too long ({len(text)} > {MAX_TEXT[name]} chars)")
                draft[name] = text
            elif name == "duration":
                try:
                    seconds = float(value)
                except (TypeError, ValueError):
                    raise StudioError(
                        f"duration must be a number of seconds, got {value!r}"
                    ) from None
                if not 0 < seconds <= 600 or math.isnan(seconds):
                    raise StudioError(f"duration must be between 0 and 600 seconds, got {value!r}")
                draft["duration"] = seconds
            elif name == "formats":
                draft["formats"] = normalise_formats(
                    [value] if isinstance(value, str) else list(value)
                )
            elif name == "music":
                try:
                    draft["music"] = str(check_music_file(Path(str(value))))
                except MusicError as exc:
                    raise StudioError(str(exc)) from None
            elif name == "scenes":
                draft["scenes"] = self._scene_dicts(value)
            else:
                raise StudioError(f"unknown brief field {name!r}")
        if draft.get("platform") and not draft.get("formats"):
            implied = platform_format(str(draft["platform"]))
            if implied:
                draft["formats"] = [implied]
        session.draft = draft
        self._save(session)
        return self.brief_view(implied)

    @staticmethod
    def _scene_dicts(value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not value:
            raise StudioError("scenes must be a non-empty list of {description, duration?}")
        out = []
        for i, item in enumerate(value, start=1):
            if isinstance(item, str):
                item = {"description": item}
            if not isinstance(item, dict) or not str(item.get("description", "")).strip():
                raise StudioError(f"scene {i} needs a description")
            out.append({k: v for k, v in item.items() if v not in (None, "")})
        return out

    def brief_view(self, implied_format: Aspect | None = None) -> BriefView:
        """The brief so far and what it still needs."""
        return BriefView(dict(self.session.draft), self.missing(), implied_format)

    def brief(self) -> Brief:
        missing = self.missing()
        if missing:
            raise StudioError(f"the brief still needs: {', '.join(missing)}")
        data = dict(self.session.draft)
        data.setdefault("title", _title_from(str(data["story"])))
        try:
            return parse_brief(data)
        except BriefError as exc:
            raise StudioError(str(exc)) from None

    # -- plan -------------------------------------------------------------------------------

    def _plan_production(self, brief: Brief, old: Production | None) -> Production:
        try:
            return plan_production(
                brief,
                self.services,
                self.session.overrides or None,
                old=old,
                project_id=self.session.project_id,
                takes=takes_wanted(None, self.services.settings),
            )
        except (PlanError, UnknownProvider) as exc:
            raise StudioError(str(exc)) from None

    def plan(self) -> PlanView:
        brief = self.brief()
        session = self.session
        if session.project_id is None:
            production = self._plan_production(brief, None)
            project = self.services.store.create_project(brief.title, production)
            session.project_id = project.id
            self._save(session)
        else:
            project, old = self._require_project()
            production = self._plan_production(brief, old)
            self.services.store.save_working(project.id, production)
        return self.plan_view(production)

    def plan_view(self, production: Production, takes: int | None = None) -> PlanView:
        """The plan with its price for `takes` takes per shot (None: the default)."""
        wanted = takes_wanted(takes, self.services.settings)
        return PlanView(production, wanted, self.quote_takes(wanted, production))

    def set_scenes(self, scenes: list[dict[str, Any]]) -> PlanView | BriefView:
        self.update_brief(scenes=scenes)
        return self.plan() if not self.missing() else self.brief_view()

    def edit_scene(self, index: int, **changes: Any) -> PlanView | BriefView:
        brief = self.brief()
        specs = [s.model_dump(exclude_none=True) for s in brief.scenes or []]
        if not specs:
            project, production = self._require_project()
            specs = [{"description": s.description} for s in production.scenes]
        if not 1 <= index <= len(specs):
            raise StudioError(f"there is no scene {index}; scenes are 1..{len(specs)}")
        specs[index - 1].update({k: v for k, v in changes.items() if v is not None})
        if changes.get("remove"):
            specs.pop(index - 1)
        specs = [{k: v for k, v in s.items() if k != "remove"} for s in specs]
        return self.set_scenes(specs)

    def override_provider(self, target: str, provider: str) -> PlanView:
        try:
            check_provider_id(provider)
        except UnknownProvider as exc:
            raise StudioError(str(exc)) from None
        session = self.session
        session.overrides = {**session.overrides, target: provider}
        self._save(session)
        try:
            return self.plan()
        except StudioError:
            session.overrides = {k: v for k, v in session.overrides.items() if k != target}
            self._save(session)
            raise

    # -- takes ------------------------------------------------------------------------------

    def quote_takes(self, takes: int | None, production: Production | None = None) -> Quote:
        """What rendering `takes` takes of every shot would cost (None: the default per shot),
        reusing what already exists: the engine's one take price."""
        if production is None:
            production = self._require_project()[1]
        return quote_takes(
            production.shots(),
            takes_wanted(takes, self.services.settings),
            self.services.store,
            self.session.project_id,
        )

    def _check_budget(self, project: Project, quote: Quote) -> None:
        problem = self.budget_problem(quote.cost_usd)
        if problem is not None:
            raise StudioError(problem)

    def _spent(self) -> float:
        project = self.project()
        return 0.0 if project is None else self.services.store.total_spend(project.id)

    def budget_problem(self, amount: float) -> str | None:
        """Why spending `amount` more would pass the cap, or None when it fits."""
        return budget_problem(self.services.settings.budget_usd, self._spent(), amount)

    def budget(self) -> BudgetView:
        """The cap and what is spent, for an approval question."""
        return BudgetView(self.services.settings.budget_usd, self._spent())

    def record_decision(self, approved: bool, amount: float, note: str) -> None:
        project = self.project()
        if project is None:
            return
        self.services.store.record_spend(
            SpendEntry(
                project_id=project.id,
                kind="approval" if approved else "rejection",
                amount_usd=amount,
                note=note,
            )
        )

    async def generate(
        self, takes: int | None = None, shots: list[str] | None = None
    ) -> GenerateResult:
        """Render takes of every shot (or only `shots`), then pick the best of each."""
        if takes is not None and not 1 <= takes <= 20:
            raise StudioError("takes per shot must be between 1 and 20")
        takes = takes_wanted(takes, self.services.settings)
        project, production = self._require_project()
        production = self._varied(project, production, takes)
        wanted = [s for s in production.shots() if shots is None or s.id in shots]
        part = subset(production, {s.id for s in wanted})
        self._check_budget(project, self.quote_takes(takes, part))
        spent_before = self.services.store.total_spend(project.id)
        try:
            batch = await render_takes(project, part, self.services, takes, self.reporter)
        except ProductionError as exc:
            raise StudioError(str(exc)) from None
        drift = score_consistency(
            wanted, batch.takes, self.services.store, self.services.refs, project.id
        )
        picks = dict(production.picks)
        rendered = []
        for shot in wanted:
            best = batch.best(shot.id)
            assert best is not None
            ranked = self.ranked_takes(shot.id, production)
            number = next(i for i, t in enumerate(ranked, start=1) if t.id == best.id)
            kept = next(
                (i for i, t in enumerate(ranked, start=1) if t.id == picks.get(shot.id)), None
            )
            if kept is None or kept == number:
                picks[shot.id] = best.id
            rendered.append(
                ShotTakes(
                    shot.id,
                    len(ranked),
                    number if kept is None else kept,
                    best.score or 0.0,
                    list(best.qc_notes),
                    drift.get(shot.id),
                    # more takes never undo a pick: keep it and name the best scored one
                    best=number if kept is not None and kept != number else None,
                )
            )
        production = production.model_copy(update={"picks": picks})
        self.services.store.save_working(project.id, production)
        spent = self.services.store.total_spend(project.id) - spent_before
        # A sheet that cannot be drawn never fails the takes it shows.
        try:
            sheets = contact_sheets(self.services, project, production, [s.id for s in wanted])
        except (OSError, ValueError) as exc:
            return GenerateResult(rendered, spent, [], str(exc))
        return GenerateResult(rendered, spent, sheets)

    def contact_sheets(self, only: frozenset[str] | None = None) -> list[tuple[str, Path]]:
        """(shot id, contact sheet PNG) of every shot with takes (only shots with a take in
        `only`, when given): the sheet `reelforge takes` and the board show."""
        project, production = self._require_project()
        shot_ids = [
            s.id
            for s in production.shots()
            if only is None or any(t.id in only for t in self.ranked_takes(s.id, production))
        ]
        return contact_sheets(self.services, project, production, shot_ids)

    def _varied(self, project: Project, production: Production, takes: int | None) -> Production:
        """The production with a variation plan for every take asked of each shot, saved
        before anything renders (a take's prompt is part of its input hash, so what is saved
        is what resume and the ranking recompute)."""
        if takes is None:
            return production
        varied = {s.id: with_takes(s, takes) for s in production.shots()}
        if all(varied[s.id] is s for s in production.shots()):
            return production
        production = replace_shots(production, varied)
        self.services.store.save_working(project.id, production)
        return production

    def ranked_takes(self, shot_id: str, production: Production | None = None) -> list[Any]:
        """The shot's successful takes for its current inputs, best first."""
        if production is None:
            production = self._require_project()[1]
        project = self.project()
        assert project is not None
        return ranked_takes(self.services.store, project.id, production.shot(shot_id))

    def snapshot(self) -> Snapshot:
        project = self.project()
        if project is None:
            return Snapshot(None, 0, frozenset())
        store = self.services.store
        takes = frozenset(t.id for t in store.takes(project.id) if t.status is TakeStatus.SUCCEEDED)
        return Snapshot(project.id, len(store.revisions(project.id)), takes)

    def news_since(self, before: Snapshot) -> News:
        """The takes and revisions added since `before`."""
        after = self.snapshot()
        if after.project_id is None:
            return News(frozenset(), [])
        revisions = self.services.store.revisions(after.project_id)
        first_new = before.revisions if before.project_id == after.project_id else 0
        return News(
            after.takes - before.takes,
            [(r.number, list(r.production.exports)) for r in revisions[first_new:]],
        )

    def take_choices(self, only: frozenset[str] | None = None) -> list[TakeChoice]:
        """Every shot's ranked takes (only shots with a take in `only`, when given), with the
        engine's price of one more take."""
        project, production = self._require_project()
        out = []
        for shot in production.shots():
            ranked = self.ranked_takes(shot.id, production)
            if not ranked or (only is not None and not any(t.id in only for t in ranked)):
                continue
            picked = production.picks.get(shot.id)
            out.append(
                TakeChoice(
                    shot.id,
                    shot.description,
                    [(n, t.score, t.id == picked) for n, t in enumerate(ranked, start=1)],
                    estimate_shot(shot, 1).cost_usd,
                )
            )
        return out

    def take_previews(self, only: frozenset[str] | None = None) -> list[tuple[str, Path]]:
        """(file name, path) of the takes to preview: `shot-1.1-take-2.mp4`."""
        project, production = self._require_project()
        previews = []
        for shot in production.shots():
            for n, take in enumerate(self.ranked_takes(shot.id, production), start=1):
                if take.file is not None and (only is None or take.id in only):
                    previews.append((f"shot-{shot.id}-take-{n}{Path(take.file).suffix}", take.file))
        return previews

    async def one_more_take(self, shot_id: str, shown_usd: float, who: str) -> GenerateResult:
        """One more take of a shot at the price the person was shown (approved by asking);
        `PriceChanged` when it now costs more."""
        project, production = self._require_project()
        try:
            shot = production.shot(shot_id)
        except KeyError:
            raise StudioError(f"there is no shot {shot_id}") from None
        price = estimate_shot(shot, 1).cost_usd
        if price > shown_usd + 1e-9:
            raise PriceChanged(shot_id, price, shown_usd)
        problem = self.budget_problem(price)
        if problem is not None:
            raise StudioError(problem)
        if price > 0:
            self.record_decision(True, price, f"new take of shot {shot_id} for {who}")
        takes = len(self.ranked_takes(shot_id, production)) + 1
        return await self.generate(takes=takes, shots=[shot_id])

    def pick(self, shot_id: str, take_number: int) -> PickResult:
        project, production = self._require_project()
        try:
            production.shot(shot_id)
        except KeyError:
            ids = ", ".join(s.id for s in production.shots())
            raise StudioError(f"there is no shot {shot_id}; shots are {ids}") from None
        ranked = self.ranked_takes(shot_id, production)
        if not 1 <= take_number <= len(ranked):
            raise StudioError(f"shot {shot_id} has {len(ranked)} take(s); pick 1..{len(ranked)}")
        take = ranked[take_number - 1]
        production = production.model_copy(update={"picks": {**production.picks, shot_id: take.id}})
        self.services.store.save_working(project.id, production)
        return PickResult(shot_id, take_number, take.id)

    # -- export -----------------------------------------------------------------------------

    async def export(
        self, note: str = "exported from chat", out_dir: Path | None = None
    ) -> ExportResult:
        project, production = self._require_project()
        missing = [s.id for s in production.shots() if s.id not in production.picks]
        for shot_id in missing:
            ranked = self.ranked_takes(shot_id, production)
            if not ranked:
                raise StudioError(f"shot {shot_id} has no take yet: generate takes first")
            production.picks[shot_id] = ranked[0].id
        number = len(self.services.store.revisions(project.id)) + 1
        target = export_dir(self.services.settings, project.id, number, out_dir or self.out_dir)
        step = self.reporter.step if self.reporter else None
        notes: list[str] = []
        if self.services.jobs is not None:  # team mode: a worker finishes and commits it
            from tools.production.jobs import export_on_worker

            try:
                revision = await export_on_worker(project, production, self.services, target, note)
            except ProductionError as exc:
                raise StudioError(str(exc)) from None
            publish_latest(revision.production.exports, out_dir or self.out_dir)
            return ExportResult(revision.number, note, list(revision.production.exports), [])
        try:
            if step is None:
                production = await assemble_and_export(
                    project, production, self.services, target, notes=notes
                )
            else:
                production = await assemble_and_export(
                    project, production, self.services, target, step, notes=notes
                )
        except ProductionError as exc:
            raise StudioError(str(exc)) from None
        revision = self.services.store.commit(project.id, production, note)
        publish_latest(production.exports, out_dir or self.out_dir)
        return ExportResult(revision.number, note, list(production.exports), notes)

    # -- finishing --------------------------------------------------------------------------

    def set_finishing(self, **changes: Any) -> FinishingView:
        """Change finishing options (None = leave as is); free, applied at the next export."""
        project, production = self._require_project()
        given = {k: v for k, v in changes.items() if v is not None}
        unknown = sorted(set(given) - set(Finishing.model_fields))
        if unknown:
            raise StudioError(f"unknown finishing option(s): {', '.join(unknown)}")
        if given.get("fps") in (0, 24):
            given["fps"] = None  # "back to 24 fps": no interpolation
        for text in ("voiceover", "music_prompt", "ambience"):
            if given.get(text) == "":
                given[text] = None
        old = production.finishing
        try:
            new = Finishing.model_validate({**old.model_dump(), **given})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            raise StudioError(f"finishing option {where}: {err['msg']}") from None
        self.services.store.save_working(
            project.id, production.model_copy(update={"finishing": new})
        )
        changed = [k for k in Finishing.model_fields if getattr(old, k) != getattr(new, k)]
        sound = self.quote_export() if changed else Quote(0.0, 0.0)
        return FinishingView(new, changed, sound)

    def quote_export(self, production: Production | None = None) -> Quote:
        """What the next export would spend: only generated sound (a paid voice-over, music,
        ambience) not made yet costs."""
        project, current = self._require_project()
        return quote_sound(production or current, self.services.settings, project.id)

    def export_timeline(self, out: str | None = None) -> TimelineResult:
        """An OpenTimelineIO timeline of the picked takes, for re-cutting in an editor. It is
        written only under the project's output folder (the `--out` given on the command line,
        else the project's folder): a path elsewhere is refused and no folder is made."""
        project, production = self._require_project()
        latest = self.services.store.latest(project.id)
        source = latest.production if latest is not None else production
        root = output_root(self.services.settings, project.id, self.out_dir)
        slug = slugify(source.brief.title) if source.brief.title else project.slug
        try:
            target = confined(out or f"{slug}.otio", root, what="the timeline")
            if target.suffix != ".otio":
                raise OutputError(f"the timeline file must end in .otio, got {target.name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            clips = write_timeline(project, source, self.services.store, target)
        except (OutputError, ProductionError) as exc:
            raise StudioError(str(exc)) from None
        return TimelineResult(target, clips)

    # -- revisions --------------------------------------------------------------------------

    def _change(self, request: str, production: Production) -> RevisionPlan:
        """Parse a revision request once, into the typed plan the session keeps."""
        try:
            return RevisionPlan.parse(request, production)
        except RevisionNotUnderstood as exc:
            raise StudioError(str(exc)) from None

    def _pending_plan(self, production: Production) -> RevisionPlan | None:
        """The revision offered to this thread, as parsed when it was offered."""
        pending = self.session.pending_revision
        if not pending:
            return None
        plan = RevisionPlan.from_session(pending)
        return plan if plan is not None else self._change(str(pending["request"]), production)

    def _revised_brief(self, brief: Brief, change: RevisionPlan) -> Brief:
        try:
            return change.revised_brief(brief)
        except RevisionPlanError as exc:
            raise StudioError(str(exc)) from None

    def _regraded(self, production: Production, change: RevisionPlan) -> Production | None:
        """The free path: same takes, new grade, trimmed shots, new formats; None if it can't."""
        scale = change.duration / production.brief.duration
        scenes = []
        for scene in production.scenes:
            shots = []
            for shot in scene.shots:
                duration = round(shot.duration * scale, 3)
                take = self.services.store.take(production.picks[shot.id])
                if scale > 1.0 + 1e-6 and take.file is not None:
                    from tools.post.probe import ProbeError, probe

                    try:
                        if probe(take.file).duration_s < duration - 0.05:
                            return None
                    except ProbeError:
                        return None
                shots.append(shot.model_copy(update={"duration": duration}))
            scenes.append(
                scene.model_copy(
                    update={"shots": shots, "duration": sum(s.duration for s in shots)}
                )
            )
        brief = production.brief.model_copy(
            update={"duration": change.duration, "formats": change.formats}
        )
        return production.model_copy(
            update={"brief": brief, "scenes": scenes, "grade": change.grade}
        )

    def revise(self, request: str) -> RevisionOffer:
        """Turn a revision request into a change, its blast radius and two priced options."""
        project, production = self._require_project()
        if not production.picks:
            raise StudioError("nothing has been rendered yet: generate takes before revising")
        change = self._change(request, production)
        regraded = self._regraded(production, change)
        rerender = self._plan_production(self._revised_brief(production.brief, change), production)
        rerender = rerender.model_copy(update={"grade": change.grade})
        quote = self.quote_takes(self.services.settings.takes, rerender)
        session = self.session
        session.pending_revision = change.session_record()
        self._save(session)
        return RevisionOffer(change, len(production.exports), regraded is not None, quote)

    def quote_revision(self, option: str) -> Quote:
        if option != "rerender":
            return self.quote_export()
        project, production = self._require_project()
        change = self._pending_plan(production)
        if change is None:
            return Quote(0.0, 0.0, [], 0)
        plan = self._plan_production(self._revised_brief(production.brief, change), production)
        takes = self.quote_takes(self.services.settings.takes, plan)
        voice = self.quote_export(plan).cost_usd
        return Quote(round(takes.cost_usd + voice, 4), takes.seconds, takes.shots, takes.reused)

    async def apply_revision(self, option: str) -> ExportResult:
        project, production = self._require_project()
        change = self._pending_plan(production)
        if change is None:
            raise StudioError("no revision is waiting: describe the change first")
        if option == "regrade":
            regraded = self._regraded(production, change)
            if regraded is None:
                raise StudioError("a regrade can't do this change; apply option b (re-render)")
            self.services.store.save_working(project.id, regraded)
            note = f"revision: {change.label} (regrade, no new renders)"
        elif option == "rerender":
            plan = self._plan_production(self._revised_brief(production.brief, change), production)
            plan = plan.model_copy(update={"grade": change.grade})
            self.services.store.save_working(project.id, plan)
            session = self.session
            session.draft = plan.brief.model_dump(mode="json", exclude_none=True)
            self._save(session)
            stale = [s.id for s in plan.shots() if s.id not in plan.picks]
            if stale:
                await self.generate(shots=stale)
            note = f"revision: {change.label} (re-rendered {', '.join(stale) or 'nothing'})"
        else:
            raise StudioError("option must be 'regrade' (a) or 'rerender' (b)")
        session = self.session
        session.pending_revision = None
        self._save(session)
        return await self.export(note=note)

    # -- references -------------------------------------------------------------------------

    def readable_dirs(self) -> list[Path]:
        """Where add_reference may read: the project's folder, the upload folders, and the
        folders the front end named (the chat's folder, a brief's folder)."""
        data = self.services.settings.data_dir
        dirs = [data / "uploads", data / "slack" / "uploads", *self.read_dirs]
        project = self.project()
        if project is not None:
            dirs.append(project_dir(self.services.settings, project.id))
        return [d.expanduser().resolve() for d in dirs]

    def _readable(self, raw: str) -> Path:
        """`raw` resolved if it is a file inside a readable folder; one answer otherwise, the
        same whether or not the file exists elsewhere (nothing is revealed)."""
        roots = self.readable_dirs()
        given = Path(raw).expanduser()
        for root in roots:
            candidate = (given if given.is_absolute() else root / given).resolve()
            inside = candidate != root and root in candidate.parents
            if inside and candidate.is_file():
                return candidate
        shown = ", ".join(str(r) for r in roots if r.is_dir()) or "an upload"
        raise StudioError(
            f"no image {raw!r} in the folders I may read ({shown}); put it there or upload it"
        )

    def add_reference(
        self, path: str, kind: str, name: str, description: str = "", library: bool = False
    ) -> ReferenceAdded:
        """Add an image from the project's folder, an upload or the person's folder as a
        reference of this project (or the shared library)."""
        from tools.references import ReferenceError, add_reference

        project = None if library else self.project()
        if project is None and not library:
            raise StudioError(
                "plan first (a reference belongs to a project), or add it to the library"
            )
        settings = self.services.settings
        source = self._readable(path)
        try:
            added = add_reference(
                source,
                kind,
                name,
                description,
                None if project is None else project.id,
                store=self.services.refs(),
                refs_dir=settings.data_dir / "refs",
            )
        except ReferenceError as exc:
            raise StudioError(str(exc)) from None
        ref = added.reference
        return ReferenceAdded(
            ref.kind, ref.name, ref.id, None if project is None else project.id, added.created
        )

    def find_references(self, text: str) -> ReferenceMatches:
        if not has_reference_store(self.services.settings):
            return ReferenceMatches(text, False, [])
        project = self.project()
        hits = self.services.refs().search(text, None if project is None else project.id, k=5)
        found = [
            ReferenceHit(
                h.reference.name,
                h.reference.kind,
                h.reference.id,
                h.reference.description,
                h.similarity,
            )
            for h in hits
        ]
        return ReferenceMatches(text, True, found)

    # -- status -----------------------------------------------------------------------------

    def status(self) -> StatusView:
        project = self.project()
        if project is None:
            return StatusView(self.brief_view())
        production = self.services.store.working(project.id)
        revisions = self.services.store.revisions(project.id)
        pending = self.session.pending_revision
        return StatusView(
            None,
            project.id,
            project.title,
            len(production.shots()),
            sum(1 for s in production.shots() if s.id in production.picks),
            len(revisions),
            self.services.store.total_spend(project.id),
            (revisions[-1].number, list(revisions[-1].production.exports)) if revisions else None,
            str(pending["request"]) if pending else None,
        )
