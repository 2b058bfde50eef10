"""The production pipeline: brief -> plan -> takes -> pick -> master, audio, exports -> revision.

One function per stage, all recorded in the project store, so a front end (CLI, chat, Slack) can
run the whole thing or any stage of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field

from memory.models import (
    Aspect,
    Brief,
    Production,
    Project,
    Revision,
    Shot,
    Take,
    TakeStatus,
    aspect_tag,
)
from memory.store import ProjectStore
from tools.planner import plan_scenes
from tools.prompting import build_prompt
from tools.providers.registry import Registry, default_profile
from tools.router import NEAREST, ShotNeeds, capability_gap
from tools.settings import Settings
from tools.spend import check_budget
from tools.takes import TakeBatch, generate_takes, take_input_hash, takes_for

if TYPE_CHECKING:
    from tools.post.finishing import AudioQuote

log = logging.getLogger(__name__)


class Reporter(Protocol):
    def step(self, name: str, fraction: float) -> None: ...

    def take(self, shot: Shot, take: Take) -> None: ...


class ProductionError(RuntimeError):
    """The production cannot go on; the message says what failed and what to do."""


@dataclass
class Services:
    """What the pipeline works with; built once at the edge (CLI, chat, Slack)."""

    settings: Settings
    store: ProjectStore
    registry: Registry

    @classmethod
    def open(cls, settings: Settings) -> Services:
        return cls(settings, ProjectStore(settings.db_path), Registry(settings))

    async def aclose(self) -> None:
        await self.registry.aclose()
        self.store.close()


@dataclass(frozen=True)
class Estimate:
    cost_usd: float
    seconds: float


def estimate_shot(shot: Shot, takes: int) -> Estimate:
    """Price and wall time of `takes` takes of one shot on its routed provider."""
    profile = default_profile(shot.provider, shot.model)
    billed = profile.fit_duration(shot.duration) or shot.duration
    if shot.provider == "animatic":
        seconds = 1.0 + 0.6 * billed * takes / 2
    else:
        seconds = profile.typical_latency_s * max(1, takes / profile.max_concurrency)
    return Estimate(round(profile.price(billed) * takes, 4), round(seconds, 1))


def estimate_fresh(
    shots: list[Shot], takes: int | None, store: ProjectStore, project_id: str | None = None
) -> Estimate:
    """What the takes not rendered yet would cost: a take reused from an identical success, or
    one this project already holds a row for (in flight, unknown, failed), costs nothing new."""
    cost = seconds = 0.0
    held = {t.input_hash for t in store.takes(project_id)} if project_id else set()
    for shot in shots:
        fresh = sum(
            1
            for i in range(takes_for(shot, takes))
            if (h := take_input_hash(shot, i)) not in held and store.find_take_by_hash(h) is None
        )
        if fresh:
            est = estimate_shot(shot, fresh)
            cost += est.cost_usd
            seconds = max(seconds, est.seconds)
    return Estimate(round(cost, 4), round(seconds, 1))


def work_dir_of(settings: Settings, project_id: str | None) -> Path:
    """Where a project's cached finishing lives (stabilised takes, master, stems, exports)."""
    return settings.media_dir / "work" / (project_id or "-")


def estimate_audio(
    production: Production, settings: Settings, project_id: str | None = None
) -> AudioQuote:
    """What the generated sound of the next export would cost (a paid voice-over, music and
    ambience): 0 for what was made before, what only the offline voice makes, what no engine
    can make."""
    from tools.post.finishing import quote_audio

    return quote_audio(
        production.finishing,
        settings,
        work_dir_of(settings, project_id),
        duration_s=sum(s.duration for s in production.shots()),
        music_file=production.brief.music is not None,
    )


def plan(brief: Brief, services: Services, overrides: dict[str, str] | None = None) -> Production:
    """The production a brief describes: its scenes and shots routed and prompted, and the
    brief's finishing options (if it gives any) as the production's finishing."""
    from tools.references import with_references

    production = Production(
        brief=brief, scenes=plan_scenes(brief, services.registry, overrides=overrides)
    )
    if brief.finishing is not None:
        production.finishing = brief.finishing.model_copy()
    return with_references(production, services.settings, None)


def export_paths(out_dir: Path, slug: str, formats: list[Aspect]) -> dict[str, Path]:
    return {fmt: out_dir / f"{slug}-{aspect_tag(fmt)}.mp4" for fmt in formats}


def _noop_step(name: str, fraction: float) -> None:
    return None


async def _render(
    project: Project,
    shots: list[Shot],
    services: Services,
    takes: int | None,
    reporter: Reporter | None,
    *,
    budget_usd: float | None,
    resubmit_unknown: bool = False,
    retry_failed: bool = True,
    concurrency: Mapping[str, int] | None = None,
) -> TakeBatch:
    total = max(1, sum(takes_for(s, takes) for s in shots))
    done: set[str] = set()
    ended = (TakeStatus.SUCCEEDED, TakeStatus.FAILED, TakeStatus.UNKNOWN)

    def on_event(shot: Shot, take: Take) -> None:
        if take.status in ended:
            done.add(take.id)
        if reporter:
            reporter.step("takes", min(1.0, len(done) / total))
            reporter.take(shot, take)

    from tools.references import reference_paths

    return await generate_takes(
        project.id,
        shots,
        takes,
        references=reference_paths(shots, services.settings, project.id),
        store=services.store,
        registry=services.registry,
        take_dir=services.settings.media_dir / "takes",
        on_event=on_event,
        budget_usd=budget_usd,
        resubmit_unknown=resubmit_unknown,
        retry_failed=retry_failed,
        concurrency=concurrency,
    )


def _require_takes(project: Project, shots: list[Shot], batch: TakeBatch) -> None:
    """Every shot has a usable take, or one error naming what failed and what to do."""
    missing = [s.id for s in shots if batch.best(s.id) is None]
    if not missing:
        return
    unfinished = [t for t in batch.unfinished() if t.shot_id in missing]
    if unfinished:
        raise ProductionError(
            f"shot {', '.join(missing)} has no finished take yet: "
            + "; ".join(
                f"take {t.id} is {t.status.value}: {t.error or 'in flight'}" for t in unfinished
            )
            + f". Nothing was resubmitted; `reelforge resume {project.id}` picks them up"
        )
    errors = "; ".join(
        sorted({t.error or "failed" for t in batch.failures() if t.shot_id in missing})
    )
    raise ProductionError(
        f"no usable take for shot {', '.join(missing)} ({errors}); the takes that did render "
        f"are kept: `reelforge make` again renders only what is missing"
    )


async def render_takes(
    project: Project,
    production: Production,
    services: Services,
    takes: int | None,
    reporter: Reporter | None = None,
    *,
    budget_usd: float | None = None,
) -> TakeBatch:
    """Render the takes of every shot of `production`, within the budget cap (default: the
    REELFORGE_BUDGET_USD setting); raise `ProductionError` when a shot ends with no usable take."""
    cap = services.settings.budget_usd if budget_usd is None else budget_usd
    batch = await _render(project, production.shots(), services, takes, reporter, budget_usd=cap)
    _require_takes(project, production.shots(), batch)
    return batch


def fallback_shot(shot: Shot, registry: Registry, why: str) -> Shot | None:
    """The shot re-routed to the closest configured provider that can render it, with a
    reason saying what happened; None when there is none."""
    needs = ShotNeeds(
        description=shot.description,
        components=shot.components,
        duration=shot.duration,
        aspect=shot.aspect,
        dialogue=shot.dialogue,
        kind=shot.kind,
        references=len(shot.reference_ids),
    )
    for pid in NEAREST.get(shot.provider, ()):
        if registry.unavailable_reason(pid) is not None:
            continue
        profile = default_profile(pid)
        if capability_gap(profile, needs) is not None:
            continue
        return shot.model_copy(
            update={
                "provider": pid,
                "model": profile.model,
                "provider_reason": f"fell back from {shot.provider} ({why}); {pid} is the "
                "closest configured",
                "prompt": build_prompt(
                    shot.components,
                    pid,
                    dialogue=shot.dialogue,
                    max_chars=profile.prompt_max_chars,
                ),
            }
        )
    return None


def _replace_shots(production: Production, new: dict[str, Shot]) -> Production:
    scenes = [
        sc.model_copy(update={"shots": [new.get(s.id, s) for s in sc.shots]})
        for sc in production.scenes
    ]
    return production.model_copy(update={"scenes": scenes})


class RunSpec(BaseModel):
    """What `make` was asked, kept in the store so `reelforge resume` can finish the job."""

    model_config = ConfigDict(extra="ignore")

    takes: int | None = Field(default=None, description="None: default_takes per shot.")
    out_dir: Path | None = None
    budget_usd: float | None = None
    note: str = "made from brief"


async def assemble_and_export(
    project: Project,
    production: Production,
    services: Services,
    out_dir: Path,
    step: Callable[[str, float], None] = _noop_step,
    notes: list[str] | None = None,
) -> Production:
    """Cut the picked takes into a master, lay and level the audio, export every format, with
    the production's finishing options (cached steps; what was done, reused or not possible is
    appended to `notes` in words)."""
    from tools.post.builders import ClipSpec
    from tools.post.finish import finish, segments_from_shots
    from tools.post.finishing import FinishingRun, title_overlays
    from tools.post.platforms import delivery_plan

    clips: list[ClipSpec] = []
    for shot in production.shots():
        take = services.store.take(production.picks[shot.id])
        if take.file is None or not take.file.exists():
            raise ProductionError(f"the picked take {take.id} of shot {shot.id} has no file")
        clips.append(ClipSpec(path=take.file, duration_s=shot.duration, transition=shot.transition))
    exports = export_paths(out_dir, project.slug, production.brief.formats)
    out_dir.mkdir(parents=True, exist_ok=True)
    work_dir = work_dir_of(services.settings, project.id)
    finishing = FinishingRun(
        production.finishing,
        work_dir,
        services.settings,
        step,
        store=services.store,
        project_id=project.id,
    )
    clips = await finishing.clips(clips)
    await finishing.voice()
    duration = sum(shot.duration for shot in production.shots())
    generated = await finishing.music(duration, music_file=production.brief.music is not None)
    music = production.brief.music or generated
    ambience = await finishing.ambience(duration)
    segments = segments_from_shots(production.shots())
    delivery = delivery_plan(production.brief.platform, production.brief.formats)
    titles = title_overlays(production.shots(), segments, delivery.safe, list(exports))
    result = await finish(
        clips,
        segments,
        work_dir=work_dir,
        exports=exports,
        master_aspect=production.scenes[0].shots[0].aspect,
        grade=production.grade,
        mood=production.brief.mood,
        music=music,
        seed=sum(ord(c) for c in project.id),
        ffmpeg=services.settings.ffmpeg,
        on_progress=step,
        voiceover=finishing.voice_file,
        ambience=ambience,
        posters=production.finishing.posters,
        out_fps=production.finishing.fps,
        interpolation=production.finishing.interpolation,
        deliveries={aspect: delivery.delivery(aspect) for aspect in exports},
        overlays=titles,
    )
    if titles:
        finishing.notes.append(
            "titles set in post over the title shots, in each format's safe area"
        )
    finishing.notes += delivery.notes(
        duration_s=result.duration_s, fps=production.finishing.fps or 24
    )
    extra = await finishing.deliver(result, production.shots(), segments)
    for note in finishing.notes:
        log.info("%s: %s", project.id, note)
    if notes is not None:
        notes.extend(finishing.notes)
    return production.model_copy(
        update={"master": result.master, "exports": [*result.exports.values(), *extra]}
    )


async def make(
    brief: Brief,
    services: Services,
    *,
    takes: int | None,
    out_dir: Path | None = None,
    overrides: dict[str, str] | None = None,
    reporter: Reporter | None = None,
    note: str = "made from brief",
    budget_usd: float | None = None,
    concurrency: Mapping[str, int] | None = None,
    notes: list[str] | None = None,
) -> tuple[Project, Revision]:
    """The whole pipeline for a new project; returns the project and its first revision.
    Raises `tools.spend.BudgetExceeded` before anything is written when the estimate does not
    fit the cap (`budget_usd`, else REELFORGE_BUDGET_USD). What finishing did, reused or could
    not do is appended to `notes` in words."""
    production = plan(brief, services, overrides)
    cap = services.settings.budget_usd if budget_usd is None else budget_usd
    takes_cost = estimate_fresh(production.shots(), takes, services.store).cost_usd
    check_budget(cap, 0.0, takes_cost + estimate_audio(production, services.settings).cost_usd)
    project = services.store.create_project(brief.title, production)
    spec = RunSpec(takes=takes, out_dir=out_dir, budget_usd=budget_usd, note=note)
    services.store.save_run(project.id, spec.model_dump_json())
    step = reporter.step if reporter else _noop_step
    step("plan", 1.0)
    return await finish(project, services, spec, reporter, concurrency=concurrency, notes=notes)


def run_spec(store: ProjectStore, project_id: str) -> RunSpec:
    found = store.run(project_id)
    return RunSpec() if found is None else RunSpec.model_validate_json(found[0])


async def finish(
    project: Project,
    services: Services,
    spec: RunSpec,
    reporter: Reporter | None = None,
    *,
    resuming: bool = False,
    resubmit_unknown: bool = False,
    concurrency: Mapping[str, int] | None = None,
    notes: list[str] | None = None,
) -> tuple[Project, Revision]:
    """Takes (picking up whatever the project already holds), pick, assemble, export, commit.

    `make` runs it on a new project; `reelforge resume` on an interrupted one, where in-flight
    jobs are polled, unsettled submits reconciled, and failed takes left failed. A shot whose
    provider answers that its model is retired falls back to the closest configured provider,
    and the shot's reason says so (the record and the output)."""
    store = services.store
    production = store.working(project.id)
    cap = services.settings.budget_usd if spec.budget_usd is None else spec.budget_usd
    if resuming:
        check_budget(
            cap,
            store.total_spend(project.id),
            estimate_fresh(production.shots(), spec.takes, store, project.id).cost_usd
            + estimate_audio(production, services.settings, project.id).cost_usd,
        )

    async def render(shots: list[Shot]) -> TakeBatch:
        return await _render(
            project,
            shots,
            services,
            spec.takes,
            reporter,
            budget_usd=cap,
            resubmit_unknown=resubmit_unknown,
            retry_failed=not resuming,
            concurrency=concurrency,
        )

    shots = production.shots()
    batch = await render(shots)
    retired = {
        s.id: next(t.error or "retired" for t in batch.takes.get(s.id, []))
        for s in shots
        if batch.best(s.id) is None
        and batch.takes.get(s.id)
        and all(batch.kind(t) == "retired" for t in batch.takes[s.id])
    }
    moved = {
        sid: alt
        for sid, why in retired.items()
        if (alt := fallback_shot(production.shot(sid), services.registry, why)) is not None
    }
    if moved:
        production = _replace_shots(production, moved)
        store.save_working(project.id, production)
        again = await render(list(moved.values()))
        for sid, taken in again.takes.items():
            batch.takes[sid] = [*batch.takes.get(sid, []), *taken]
        batch.kinds.update(again.kinds)
    _require_takes(project, production.shots(), batch)
    from tools.references import score_consistency

    for sid, sentence in score_consistency(
        production.shots(), batch.takes, store, services.settings, project.id
    ).items():
        log.warning("shot %s: %s", sid, sentence)
    picks = {}
    for shot in production.shots():
        best = batch.best(shot.id)
        assert best is not None
        picks[shot.id] = best.id
    production = production.model_copy(update={"picks": picks})
    store.save_working(project.id, production)
    revision_no = len(store.revisions(project.id)) + 1
    base = services.settings.data_dir / "projects" / project.id / f"rev-{revision_no}"
    target = spec.out_dir or base
    step = reporter.step if reporter else _noop_step
    production = await assemble_and_export(project, production, services, target, step, notes)
    revision = store.commit(project.id, production, spec.note)
    store.save_run(project.id, spec.model_dump_json(), finished=True)
    return project, revision
