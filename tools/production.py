"""The production pipeline: brief -> plan -> takes -> pick -> master, audio, exports -> revision.

One function per stage, all recorded in the project store, so a front end (CLI, chat, Slack) can
run the whole thing or any stage of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
from tools.providers.registry import Registry, default_profile
from tools.settings import Settings
from tools.takes import TakeBatch, generate_takes


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


def plan(brief: Brief, services: Services, overrides: dict[str, str] | None = None) -> Production:
    return Production(
        brief=brief, scenes=plan_scenes(brief, services.registry, overrides=overrides)
    )


def export_paths(out_dir: Path, slug: str, formats: list[Aspect]) -> dict[str, Path]:
    return {fmt: out_dir / f"{slug}-{aspect_tag(fmt)}.mp4" for fmt in formats}


def _noop_step(name: str, fraction: float) -> None:
    return None


async def render_takes(
    project: Project,
    production: Production,
    services: Services,
    takes: int,
    reporter: Reporter | None = None,
) -> TakeBatch:
    total = len(production.shots()) * takes
    done = 0

    def on_event(shot: Shot, take: Take) -> None:
        nonlocal done
        if take.status in (TakeStatus.SUCCEEDED, TakeStatus.FAILED):
            done += 1
        if reporter:
            reporter.step("takes", done / total)
            reporter.take(shot, take)

    batch = await generate_takes(
        project.id,
        production.shots(),
        takes,
        store=services.store,
        registry=services.registry,
        take_dir=services.settings.media_dir / "takes",
        on_event=on_event,
    )
    missing = [s.id for s in production.shots() if batch.best(s.id) is None]
    if missing:
        errors = "; ".join(sorted({t.error or "failed" for t in batch.failures()}))
        raise ProductionError(
            f"no usable take for shot {', '.join(missing)} ({errors}); the takes that did render "
            f"are kept: `reelforge make` again renders only what is missing"
        )
    return batch


async def assemble_and_export(
    project: Project,
    production: Production,
    services: Services,
    out_dir: Path,
    step: Callable[[str, float], None] = _noop_step,
) -> Production:
    """Cut the picked takes into a master, lay and level the audio, export every format."""
    from tools.post.builders import ClipSpec
    from tools.post.finish import finish, segments_from_shots

    clips: list[ClipSpec] = []
    for shot in production.shots():
        take = services.store.take(production.picks[shot.id])
        if take.file is None or not take.file.exists():
            raise ProductionError(f"the picked take {take.id} of shot {shot.id} has no file")
        clips.append(ClipSpec(path=take.file, duration_s=shot.duration))
    exports = export_paths(out_dir, project.slug, production.brief.formats)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = await finish(
        clips,
        segments_from_shots(production.shots()),
        work_dir=services.settings.media_dir / "work" / project.id,
        exports=exports,
        master_aspect=production.scenes[0].shots[0].aspect,
        grade=production.grade,
        mood=production.brief.mood,
        music=production.brief.music,
        seed=sum(ord(c) for c in project.id),
        ffmpeg=services.settings.ffmpeg,
        on_progress=step,
    )
    return production.model_copy(
        update={"master": result.master, "exports": list(result.exports.values())}
    )


async def make(
    brief: Brief,
    services: Services,
    *,
    takes: int,
    out_dir: Path | None = None,
    overrides: dict[str, str] | None = None,
    reporter: Reporter | None = None,
    note: str = "made from brief",
) -> tuple[Project, Revision]:
    """The whole pipeline for a new project; returns the project and its first revision."""
    production = plan(brief, services, overrides)
    project = services.store.create_project(brief.title, production)
    step = reporter.step if reporter else _noop_step
    step("plan", 1.0)
    batch = await render_takes(project, production, services, takes, reporter)
    picks = {}
    for shot in production.shots():
        best = batch.best(shot.id)
        assert best is not None
        picks[shot.id] = best.id
    production = production.model_copy(update={"picks": picks})
    services.store.save_working(project.id, production)
    revision_no = len(services.store.revisions(project.id)) + 1
    target = out_dir or services.settings.data_dir / "projects" / project.id / f"rev-{revision_no}"
    production = await assemble_and_export(project, production, services, target, step)
    revision = services.store.commit(project.id, production, note)
    return project, revision
