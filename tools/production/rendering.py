"""Render takes (on the crash-safe ledger of tools.takes, under the budget cap), rank them and
pick the best of each shot."""

from __future__ import annotations

from collections.abc import Mapping

from memory.models import Production, Project, Shot, Take, TakeStatus
from memory.store import ProjectStore
from tools.production.services import ProductionError, Reporter, Services
from tools.takes import TakeBatch, generate_takes, take_input_hash, takes_for


async def render(
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
        references=reference_paths(shots, services.refs, project.id),
        store=services.store,
        registry=services.registry,
        take_dir=services.settings.media_dir / "takes",
        on_event=on_event,
        budget_usd=budget_usd,
        resubmit_unknown=resubmit_unknown,
        retry_failed=retry_failed,
        concurrency=concurrency,
        queue=services.jobs,
    )


def require_takes(project: Project, shots: list[Shot], batch: TakeBatch) -> None:
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
    batch = await render(project, production.shots(), services, takes, reporter, budget_usd=cap)
    require_takes(project, production.shots(), batch)
    return batch


def ranked_takes(store: ProjectStore, project_id: str, shot: Shot) -> list[Take]:
    """The shot's successful takes for its current inputs, best first."""
    current = {take_input_hash(shot, i) for i in range(20)}
    takes = [
        t
        for t in store.takes(project_id, shot.id)
        if t.status is TakeStatus.SUCCEEDED and t.input_hash in current
    ]
    return sorted(takes, key=lambda t: -(t.score or 0.0))


def best_picks(production: Production, batch: TakeBatch) -> dict[str, str]:
    """The best take of each shot of `production` in `batch` (every shot has one)."""
    picks = {}
    for shot in production.shots():
        best = batch.best(shot.id)
        assert best is not None
        picks[shot.id] = best.id
    return picks
