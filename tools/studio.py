"""One conversation's production: the operations every front end (chat, Slack) runs, in words.

A `Studio` is bound to a thread. It gathers the brief, plans, prices, renders takes, picks, exports
and revises, keeping its state in the project store so a thread can be resumed after a restart.
Every method returns a short summary for a person (or a model) to read; failures a person can fix
raise `StudioError` with one line saying what to do.
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


STALE_BY_OPTION = {
    "stabilise": "the master (the takes are stabilised once, then cached)",
    "fps": "the master's frame rate and the exports",
    "interpolation": "the master's frame rate and the exports",
    "uhd": "the UHD files",
    "voiceover": "the soundtrack (voice-over and ducked music) and the exports",
    "subtitles": "the subtitles of the exports",
    "posters": "the posters",
    "music_prompt": "the soundtrack (generated music) and the exports",
    "ambience": "the soundtrack (generated ambience) and the exports",
}


def describe_finishing(look: Finishing) -> str:
    """The finishing options in words."""
    parts = [
        "stabilised" if look.stabilise else "not stabilised",
        f"{look.fps} fps ({look.interpolation} interpolation)" if look.fps else "24 fps",
        "UHD files too" if look.uhd else "no UHD",
        f"voice-over: {look.voiceover!r}" if look.voiceover else "no voice-over",
        f"subtitles: {look.subtitles}",
        "posters" if look.posters else "no posters",
    ]
    if look.music_prompt:
        parts.append(f"music: {look.music_prompt!r}")
    if look.ambience:
        parts.append(f"ambience: {look.ambience!r}")
    return "Finishing: " + ", ".join(parts) + "."


class StudioError(ValueError):
    """Something the person (or the model) can fix; the message says how."""


class PriceChanged(StudioError):
    """The price shown for a new take is no longer the price; nothing was rendered."""


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

    def update_brief(self, **fields: Any) -> str:
        """Set brief fields (None = leave as is); returns what is set and what is missing."""
        session = self.session
        draft = dict(session.draft)
        notes: list[str] = []
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
                notes.append(f"format {implied} from the platform (say if you want others)")
        session.draft = draft
        self._save(session)
        return self.describe_brief(notes)

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

    def describe_brief(self, notes: list[str] | None = None) -> str:
        draft = self.session.draft
        lines = ["Brief so far:"]
        for name in ("title", *REQUIRED, "platform", "music"):
            if name in draft:
                value = draft[name]
                if name == "formats":
                    value = ", ".join(value)
                elif name == "duration":
                    value = f"{value:g}s"
                lines.append(f"- {name}: {value}")
        if draft.get("scenes"):
            lines.append(f"- scenes: {len(draft['scenes'])} given")
        lines += [f"({note})" for note in notes or []]
        missing = self.missing()
        if missing:
            lines.append(f"Still missing: {', '.join(missing)}. Ask for {missing[0]} next.")
        else:
            lines.append("The brief is complete: plan it next.")
        return "\n".join(lines)

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

    def plan(self) -> str:
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
        return self.describe_plan(production)

    def describe_plan(self, production: Production, takes: int | None = None) -> str:
        takes = takes_wanted(takes, self.services.settings)
        brief = production.brief
        lines = [
            f'Plan for "{brief.title}" ({brief.duration:g}s, {", ".join(brief.formats)}), '
            f"{len(production.scenes)} scene(s):"
        ]
        for shot in production.shots():
            used = shot.provider
            why = shot.preferred_reason
            if used != shot.preferred_provider:
                why += f"; using {used}: {shot.provider_reason}"
            lines.append(
                f"- shot {shot.id} ({shot.duration:g}s, {used}): {shot.description}. Why: {why}"
            )
            if shot.components.missing():
                lines.append(f"  missing prompt components: {', '.join(shot.components.missing())}")
        quote = self.quote_takes(takes, production)
        per_shot = f"{takes} take(s) per shot" if takes else "the default takes per shot"
        lines.append(f"Estimated cost of {per_shot}: {quote.describe()}.")
        return "\n".join(lines)

    def set_scenes(self, scenes: list[dict[str, Any]]) -> str:
        self.update_brief(scenes=scenes)
        return self.plan() if not self.missing() else self.describe_brief()

    def edit_scene(self, index: int, **changes: Any) -> str:
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

    def override_provider(self, target: str, provider: str) -> str:
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

    def budget_note(self) -> str:
        """The cap and what is left of it, in words, for an approval question."""
        cap = self.services.settings.budget_usd
        spent = self._spent()
        if cap is None:
            return f"no budget cap set; ${spent:.2f} spent so far"
        return f"budget ${cap:.2f}, ${spent:.2f} spent, ${max(0.0, cap - spent):.2f} left"

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

    async def generate(self, takes: int | None = None, shots: list[str] | None = None) -> str:
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
        lines = []
        for shot in wanted:
            best = batch.best(shot.id)
            assert best is not None
            picks[shot.id] = best.id
            ranked = self.ranked_takes(shot.id, production)
            number = next(i for i, t in enumerate(ranked, start=1) if t.id == best.id)
            notes = f" ({'; '.join(best.qc_notes)})" if best.qc_notes else ""
            lines.append(
                f"- shot {shot.id}: {len(ranked)} take(s); picked take {number}, "
                f"score {best.score or 0:.2f}{notes}"
            )
            if shot.id in drift:
                lines.append(f"  drift: {drift[shot.id]}")
        production = production.model_copy(update={"picks": picks})
        self.services.store.save_working(project.id, production)
        spent = self.services.store.total_spend(project.id) - spent_before
        head = f"Rendered takes for {len(wanted)} shot(s); spent ${spent:.2f}."
        sheets = self._sheet_lines(project, production, [s.id for s in wanted])
        return "\n".join([head, *lines, "Export next, or pick other takes.", *sheets])

    def _sheet_lines(
        self, project: Project, production: Production, shot_ids: list[str]
    ) -> list[str]:
        """Where each shot's contact sheet is; a sheet that cannot be drawn never fails the
        takes it shows."""
        try:
            sheets = contact_sheets(self.services, project, production, shot_ids)
        except (OSError, ValueError) as exc:
            return [f"(No contact sheets this time: {exc}.)"]
        if not sheets:
            return []
        head = "Contact sheets (each shot's takes side by side; pick one by its take number):"
        return [head, *(f"- shot {shot_id}: {path}" for shot_id, path in sheets)]

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

    async def one_more_take(self, shot_id: str, shown_usd: float, who: str) -> str:
        """One more take of a shot at the price the person was shown (approved by asking);
        `PriceChanged` when it now costs more."""
        project, production = self._require_project()
        try:
            shot = production.shot(shot_id)
        except KeyError:
            raise StudioError(f"there is no shot {shot_id}") from None
        price = estimate_shot(shot, 1).cost_usd
        if price > shown_usd + 1e-9:
            raise PriceChanged(
                f"A new take of shot {shot_id} now costs ${price:.2f}, not ${shown_usd:.2f}; "
                "nothing was rendered."
            )
        problem = self.budget_problem(price)
        if problem is not None:
            raise StudioError(problem)
        if price > 0:
            self.record_decision(True, price, f"new take of shot {shot_id} for {who}")
        takes = len(self.ranked_takes(shot_id, production)) + 1
        return await self.generate(takes=takes, shots=[shot_id])

    def pick(self, shot_id: str, take_number: int) -> str:
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
        return f"Shot {shot_id} now uses take {take_number} ({take.id}). Export to see it cut."

    # -- export -----------------------------------------------------------------------------

    async def export(self, note: str = "exported from chat", out_dir: Path | None = None) -> str:
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
            files = "\n".join(f"- {p}" for p in revision.production.exports)
            return f"Exported revision {revision.number} ({note}):\n{files}"
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
        files = "\n".join(f"- {p}" for p in production.exports)
        said = "".join(f"\nNote: {n}" for n in notes)
        return f"Exported revision {revision.number} ({note}):\n{files}{said}"

    # -- finishing --------------------------------------------------------------------------

    def set_finishing(self, **changes: Any) -> str:
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
        lines = [describe_finishing(new)]
        if not changed:
            lines.append("Nothing changed.")
            return "\n".join(lines)
        stale = sorted({STALE_BY_OPTION[k] for k in changed})
        audio = self.quote_export()
        cost = (
            f"Free: no new renders, except generated sound: "
            f"{', '.join(f'{k} ${v:.4f}' for k, v in audio.parts.items())}, asked for approval "
            "at export"
            if audio.cost_usd
            else "Free: no new renders"
        )
        lines.append(
            f"Changed: {', '.join(changed)}. Stale: {'; '.join(stale)}. {cost}; "
            "the takes and every other cached step are reused. Export to apply it."
        )
        return "\n".join(lines)

    def quote_export(self, production: Production | None = None) -> Quote:
        """What the next export would spend: only generated sound (a paid voice-over, music,
        ambience) not made yet costs."""
        project, current = self._require_project()
        return quote_sound(production or current, self.services.settings, project.id)

    def export_timeline(self, out: str | None = None) -> str:
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
        return (
            f"Wrote the timeline {target}: {clips} clip(s) pointing at the source "
            "takes; open it in DaVinci Resolve or Premiere (via OTIO) to re-cut."
        )

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

    def revise(self, request: str) -> str:
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
        g = change.grade
        lines = [
            f"Change for {change.request!r} ({change.label}):",
            f"- grade: brightness {g.brightness:+.2f}, contrast x{g.contrast:.2f}, "
            f"saturation x{g.saturation:.2f}, temperature {g.temperature:+.2f}"
            + (f", LUT {g.lut}" if g.lut else ""),
            f"- brief: mood '{change.mood}', style '{change.style}', "
            f"{change.duration:g}s, formats {', '.join(change.formats)}",
            f"Blast radius: the exports of the current cut go stale "
            f"({len(production.exports)} file(s)).",
        ]
        if regraded is not None:
            lines.append(
                "Option a) regrade: re-cut and regrade the existing takes. Free, no new renders."
            )
        else:
            lines.append(
                "Option a) regrade: not possible, the change needs footage that does not exist."
            )
        if quote.shots:
            lines.append(
                f"Option b) re-render shots {', '.join(quote.shots)} with the new prompts "
                f"(takes of those shots go stale; the rest are kept): {quote.describe()}."
            )
        else:
            lines.append("Option b) re-render: no shot's inputs change, so it equals option a.")
        lines.append("Ask which option to apply.")
        return "\n".join(lines)

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

    async def apply_revision(self, option: str) -> str:
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
    ) -> str:
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
        where = "the library" if project is None else f"project {project.id}"
        again = "" if added.created else " (the same image was already there)"
        ref = added.reference
        return f"Added {ref.kind} reference {ref.name!r} ({ref.id}) to {where}{again}. Re-plan to use it."

    def find_references(self, text: str) -> str:
        settings = self.services.settings
        if not has_reference_store(settings):
            return "There are no references yet."
        project = self.project()
        hits = self.services.refs().search(text, None if project is None else project.id, k=5)
        if not hits:
            return f"No reference matches {text!r}."
        return "\n".join(
            f"- {h.reference.name} ({h.reference.kind}, {h.reference.id}): "
            f"{h.reference.description} [similarity {h.similarity:.2f}]"
            for h in hits
        )

    # -- status -----------------------------------------------------------------------------

    def status(self) -> str:
        project = self.project()
        if project is None:
            return self.describe_brief()
        production = self.services.store.working(project.id)
        revisions = self.services.store.revisions(project.id)
        spent = self.services.store.total_spend(project.id)
        picked = sum(1 for s in production.shots() if s.id in production.picks)
        lines = [
            f'Project {project.id} "{project.title}": {len(production.shots())} shot(s), '
            f"{picked} with a picked take; {len(revisions)} revision(s); spent ${spent:.2f}.",
        ]
        if revisions:
            lines.append(f"Latest exports (revision {revisions[-1].number}):")
            lines += [f"- {p}" for p in revisions[-1].production.exports]
        if self.session.pending_revision:
            lines.append(f"Waiting for a choice on: {self.session.pending_revision['request']}")
        return "\n".join(lines)
