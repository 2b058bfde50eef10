"""`make` and `resume`: brief -> plan -> takes -> pick -> master, sound, exports -> revision.

A run is recorded in the store (`RunSpec`) so `reelforge resume` can finish it, and keyed by
its brief: re-running `make` on a brief whose run did not finish continues that project (its
takes, its ledger and its budget cap) instead of opening a new one, and two identical runs at
once cannot both pay: the second refuses while the first holds the brief's lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from memory.models import Brief, Production, Project, Revision, Shot
from memory.store import ProjectStore
from tools.production.assembly import (
    assemble_and_export,
    check_output_dir,
    export_dir,
    publish_latest,
)
from tools.production.planning import fallback_shot, plan, replace_shots
from tools.production.pricing import quote_production
from tools.production.rendering import best_picks, render, require_takes
from tools.production.services import Reporter, Services, noop_step
from tools.settings import Settings
from tools.spend import check_budget
from tools.takes import TakeBatch

log = logging.getLogger(__name__)


class RunBusy(RuntimeError):
    """The same brief is being made by another run right now; nothing was done."""


class RunSpec(BaseModel):
    """What `make` was asked, kept in the store so `reelforge resume` can finish the job."""

    model_config = ConfigDict(extra="ignore")

    takes: int | None = Field(default=None, description="None: default_takes per shot.")
    out_dir: Path | None = None
    budget_usd: float | None = None
    note: str = "made from brief"
    brief_key: str | None = Field(default=None, description="Which brief (and overrides) it makes.")
    # team mode: what the production's job on a worker ended with, for the one following it
    error: str | None = None
    notes: list[str] = Field(default_factory=list)


def brief_key(brief: Brief, overrides: dict[str, str] | None = None) -> str:
    """A run's identity: the brief's content and the provider overrides."""
    text = brief.model_dump_json() + repr(sorted((overrides or {}).items()))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@contextlib.contextmanager
def run_lock(settings: Settings, key: str) -> Iterator[None]:
    """Hold the brief's run lock (across processes), or raise `RunBusy` at once."""
    import fcntl

    folder = settings.data_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"run-{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunBusy(
                "the same brief is being made by another `reelforge make` right now; nothing was "
                "done: wait for it to finish (`reelforge projects` shows it)"
            ) from None
        yield
    finally:
        os.close(fd)


def unfinished_run(store: ProjectStore, key: str) -> tuple[str, RunSpec] | None:
    """The newest project whose run of this brief did not finish, with its spec."""
    for project_id in store.unfinished_projects():
        spec = run_spec(store, project_id)
        found = store.run(project_id)
        if found is not None and not found[1] and spec.brief_key == key:
            return project_id, spec
    return None


def run_spec(store: ProjectStore, project_id: str) -> RunSpec:
    found = store.run(project_id)
    return RunSpec() if found is None else RunSpec.model_validate_json(found[0])


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
    """The whole pipeline; returns the project and its new revision.

    Raises `tools.spend.BudgetExceeded` before anything is written when the estimate (takes and
    paid sound) does not fit the cap (`budget_usd`, else the project's cap from an earlier run,
    else REELFORGE_BUDGET_USD); `OutputError` when `out_dir` cannot be written; `RunBusy` when
    the same brief is being made right now. A brief whose earlier run did not finish continues
    that project. What finishing did, reused or could not do is appended to `notes` in words."""
    if out_dir is not None:
        check_output_dir(out_dir)
    key = brief_key(brief, overrides)
    with run_lock(services.settings, key):
        store = services.store
        earlier = unfinished_run(store, key)
        if earlier is not None:
            project = store.get_project(earlier[0])
            cap = budget_usd if budget_usd is not None else earlier[1].budget_usd
            spec = RunSpec(takes=takes, out_dir=out_dir, budget_usd=cap, note=note, brief_key=key)
            store.save_run(project.id, spec.model_dump_json())
            return await finish(
                project,
                services,
                spec,
                reporter,
                concurrency=concurrency,
                notes=notes,
                check=True,
            )
        production = plan(brief, services, overrides, takes=takes, notes=notes)
        cap = services.settings.budget_usd if budget_usd is None else budget_usd
        quote = quote_production(production, takes, store, services.settings)
        check_budget(cap, 0.0, quote.cost_usd)
        project = store.create_project(brief.title, production)
        spec = RunSpec(takes=takes, out_dir=out_dir, budget_usd=cap, note=note, brief_key=key)
        store.save_run(project.id, spec.model_dump_json())
        (reporter.step if reporter else noop_step)("plan", 1.0)
        if services.jobs is not None:  # team mode: a worker makes it, this process follows
            from tools.production.jobs import follow_production

            return await follow_production(project, services, spec, reporter, notes=notes)
        return await finish(project, services, spec, reporter, concurrency=concurrency, notes=notes)


async def resume(
    project: Project,
    services: Services,
    reporter: Reporter | None = None,
    *,
    resubmit_unknown: bool = False,
    concurrency: Mapping[str, int] | None = None,
    notes: list[str] | None = None,
) -> tuple[Project, Revision]:
    """Finish an interrupted run: in-flight jobs polled, unsettled submits reconciled, failed
    takes left failed; under the brief's run lock and the run's cap. In team mode (without
    `resubmit_unknown`) a worker finishes it and this process follows, as `make` does."""
    store = services.store
    spec = run_spec(store, project.id)
    if spec.out_dir is not None:
        check_output_dir(spec.out_dir)
    lock = (
        run_lock(services.settings, spec.brief_key) if spec.brief_key else contextlib.nullcontext()
    )
    with lock:
        if services.jobs is not None and not resubmit_unknown:
            # team mode: a worker finishes it (takes as their own jobs, then picks, finishing,
            # exports, the revision), as `make`'s production; this process follows
            from tools.production.jobs import follow_production

            check_run_budget(project, services, spec, store.working(project.id), resuming=True)
            spec = spec.model_copy(update={"error": None, "notes": []})
            store.save_run(project.id, spec.model_dump_json())  # unfinished until the job ends
            return await follow_production(
                project, services, spec, reporter, notes=notes, resuming=True
            )
        return await finish(
            project,
            services,
            spec,
            reporter,
            resuming=True,
            resubmit_unknown=resubmit_unknown,
            concurrency=concurrency,
            notes=notes,
        )


def check_run_budget(
    project: Project, services: Services, spec: RunSpec, production: Production, *, resuming: bool
) -> None:
    """Raise `BudgetExceeded` when what the run still has to pay does not fit its cap (a resume
    leaves failed takes failed, so they are not priced again)."""
    store = services.store
    cap = services.settings.budget_usd if spec.budget_usd is None else spec.budget_usd
    quote = quote_production(
        production, spec.takes, store, services.settings, project.id, retry_failed=not resuming
    )
    check_budget(cap, store.total_spend(project.id), quote.cost_usd)


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
    check: bool = False,
) -> tuple[Project, Revision]:
    """Takes (picking up whatever the project already holds), pick, assemble, export, commit.

    `make` runs it on a new project (or, `check`, on one whose earlier run did not finish);
    `reelforge resume` on an interrupted one, where in-flight jobs are polled, unsettled
    submits reconciled, and failed takes left failed. A shot whose provider answers that its
    model is retired falls back to the closest configured provider, and the shot's reason says
    so (the record and the output)."""
    store = services.store
    production = store.working(project.id)
    cap = services.settings.budget_usd if spec.budget_usd is None else spec.budget_usd
    if resuming or check:
        check_run_budget(project, services, spec, production, resuming=resuming)

    async def render_shots(shots: list[Shot]) -> TakeBatch:
        return await render(
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
    batch = await render_shots(shots)
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
        production = replace_shots(production, moved)
        store.save_working(project.id, production)
        again = await render_shots(list(moved.values()))
        for sid, taken in again.takes.items():
            batch.takes[sid] = [*batch.takes.get(sid, []), *taken]
        batch.kinds.update(again.kinds)
    require_takes(project, production.shots(), batch)
    from tools.references import score_consistency

    for sid, sentence in score_consistency(
        production.shots(), batch.takes, store, services.refs, project.id
    ).items():
        log.warning("shot %s: %s", sid, sentence)
    production = production.model_copy(update={"picks": best_picks(production, batch)})
    store.save_working(project.id, production)
    revision_no = len(store.revisions(project.id)) + 1
    target = export_dir(services.settings, project.id, revision_no, spec.out_dir)
    step = reporter.step if reporter else noop_step
    production = await assemble_and_export(
        project, production, services, target, step, notes, budget_usd=cap
    )
    revision = store.commit(project.id, production, spec.note)
    publish_latest(production.exports, spec.out_dir)
    store.save_run(project.id, spec.model_dump_json(), finished=True)
    return project, revision
