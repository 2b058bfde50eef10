"""Team mode's job queue: procrastinate on the project store's own Postgres.

With REELFORGE_DATABASE_URL, takes, productions (`make`: takes, finishing, exports) run as jobs
that any `reelforge worker` reaching the database and the media folder picks up:

- a take's job is inserted on the store's connection in the SAME transaction as its QUEUED row
  and its price held in the ledger (`ProjectStore.save_submitting(..., also=)`), under the
  project's row lock against the cap: a paid submit is never lost (no hold without its job) or
  doubled (the job claims the take QUEUED -> SUBMITTING before sending, once);
- a production's job carries `lock=project:<id>`, so the jobs of one project run in order;
- a worker killed mid-job stops heartbeating; another worker's stalled-job sweep puts its jobs
  back in the queue, and a take found SUBMITTING is reconciled, never resent blindly.

procrastinate is imported here only, and only in team mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memory.models import Production, Project, Revision, Shot, SpendEntry, Take, TakeStatus
from memory.store import ProjectStore
from tools.production.services import ProductionError, Reporter, Services, noop_step
from tools.settings import Settings

if TYPE_CHECKING:
    import procrastinate

    from tools.production.runs import RunSpec

log = logging.getLogger(__name__)

TAKE_TASK = "reelforge.take"
PRODUCTION_TASK = "reelforge.production"
EXPORT_TASK = "reelforge.export"
TAKES_QUEUE = "reelforge-takes"
PRODUCTIONS_QUEUE = "reelforge-productions"
SCHEMA_LOCK = 7261002  # pg advisory lock: two processes starting together create the schema once
ENDED_JOB = ("failed", "cancelled", "aborted")
FOLLOW_S = 0.1  # how often a follower reads the store and the job's status
NO_WORKER_WARN_S = 10.0


def _project_lock(project_id: str) -> str:
    return f"project:{project_id}"


class JobQueue:
    """The enqueue side (bot, CLI, review board, and workers enqueuing takes): jobs are rows
    inserted on a given connection; status is read on a connection of its own."""

    def __init__(self, url: str) -> None:
        import procrastinate
        import psycopg

        self.url = url
        # never opened: every defer passes a connection (`configure_task(connection=...)`)
        self.app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=url))
        self._conn = psycopg.connect(url, autocommit=True)
        self._schema_ready = False

    def close(self) -> None:
        self._conn.close()

    def ensure_schema(self) -> None:
        """procrastinate's tables and functions, created once per database (its own versioned
        SQL; upgrading procrastinate past 3.x means applying its migrations)."""
        if self._schema_ready:
            return
        from procrastinate.schema import SchemaManager

        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            row = self._conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if row is None or row[0] is None:
                self._conn.execute(SchemaManager.get_schema())
        self._schema_ready = True

    # -- enqueue -------------------------------------------------------------------------

    def enqueue_take(
        self,
        store: ProjectStore,
        take: Take,
        hold: SpendEntry | None,
        cap_usd: float | None,
        job: dict[str, object],
    ) -> None:
        """The QUEUED take, its hold (decided against the cap under the project's lock) and its
        job, in one transaction on the store's connection: all of it or none of it."""
        self.ensure_schema()

        def defer(conn: Any) -> None:
            self.app.configure_task(
                TAKE_TASK, queue=TAKES_QUEUE, connection=conn, queueing_lock=f"take:{take.id}"
            ).defer(**job)  # type: ignore[arg-type]

        store.save_submitting(take, hold, cap_usd, also=defer)

    def enqueue_production(
        self, store: ProjectStore, project_id: str, *, resuming: bool = False
    ) -> int:
        """A `make`'s production (takes, finishing, exports) as one job, after the project's
        earlier jobs (lock per project); `resuming`: a `reelforge resume` of it."""
        return self._enqueue_in_order(
            store, PRODUCTION_TASK, project_id, project_id=project_id, resuming=resuming
        )

    def enqueue_export(
        self,
        store: ProjectStore,
        project_id: str,
        production: Production,
        target: Path,
        note: str,
        budget_usd: float | None,
    ) -> int:
        """A chat export (finishing, every format, the revision) as a job, in the project's
        order (lock per project)."""
        return self._enqueue_in_order(
            store,
            EXPORT_TASK,
            project_id,
            project_id=project_id,
            production=production.model_dump_json(),
            target=str(target),
            note=note,
            budget_usd=budget_usd,
        )

    def _enqueue_in_order(self, store: ProjectStore, task: str, project: str, **job: object) -> int:
        """Insert one job of `task` on the store's connection, after the project's earlier
        productions and exports (they share the project's lock)."""
        self.ensure_schema()
        found: list[int] = []
        with store.transaction():
            store.on_connection(
                lambda conn: found.append(
                    self.app.configure_task(
                        task,
                        queue=PRODUCTIONS_QUEUE,
                        lock=_project_lock(project),
                        connection=conn,
                    ).defer(**job)  # type: ignore[arg-type]
                )
            )
        return found[0]

    # -- status --------------------------------------------------------------------------

    def job_status(self, job_id: int) -> str | None:
        row = self._conn.execute(
            "SELECT status FROM procrastinate_jobs WHERE id = %s", (job_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def failed_jobs(self, take_ids: list[str]) -> dict[str, str]:
        if not take_ids:
            return {}
        rows = self._conn.execute(
            "SELECT args->>'take_id', status FROM procrastinate_jobs WHERE task_name = %s "
            "AND args->>'take_id' = ANY(%s) AND status::text = ANY(%s)",
            (TAKE_TASK, take_ids, list(ENDED_JOB)),
        ).fetchall()
        return {str(r[0]): f"job {r[1]}" for r in rows}

    def live_workers(self, within_s: float = 60.0) -> int:
        row = self._conn.execute(
            "SELECT COUNT(*) FROM procrastinate_workers "
            "WHERE last_heartbeat > NOW() - make_interval(secs => %s)",
            (within_s,),
        ).fetchone()
        return int(row[0]) if row else 0


# -- following a production from the bot or the CLI ----------------------------------------


class _Follower:
    """Reports a project's takes as workers move them, from the store."""

    def __init__(self, store: ProjectStore, project_id: str, reporter: Reporter | None) -> None:
        self.store, self.project_id, self.reporter = store, project_id, reporter
        self.seen: dict[str, tuple[TakeStatus, str | None]] = {}

    def poll(self) -> None:
        if self.reporter is None:
            return
        shots = {s.id: s for s in self.store.working(self.project_id).shots()}
        takes = self.store.takes(self.project_id)
        ended = (TakeStatus.SUCCEEDED, TakeStatus.FAILED, TakeStatus.UNKNOWN)
        for take in takes:
            state = (take.status, take.error)
            if self.seen.get(take.id) != state and take.shot_id in shots:
                self.seen[take.id] = state
                self.reporter.take(shots[take.shot_id], take)
        if takes:
            done = sum(1 for t in takes if t.status in ended)
            self.reporter.step("takes", min(1.0, done / len(takes)))


async def follow_production(
    project: Project,
    services: Services,
    spec: RunSpec,
    reporter: Reporter | None = None,
    *,
    notes: list[str] | None = None,
    resuming: bool = False,
) -> tuple[Project, Revision]:
    """Enqueue the project's production and follow it to the end (the `make` of team mode;
    `resuming`: its `reelforge resume`)."""
    from tools.production.runs import run_spec

    jobs = services.jobs
    assert jobs is not None
    store = services.store
    job_id = jobs.enqueue_production(store, project.id, resuming=resuming)
    follower = _Follower(store, project.id, reporter)
    try:
        await _wait_job(jobs, job_id, f"the production job of {project.id}", follower)
    except ProductionError as exc:
        raise ProductionError(f"{exc}; `reelforge resume {project.id}` picks it up") from None
    done = run_spec(store, project.id)
    if done.error:
        raise ProductionError(done.error)
    if notes is not None:
        notes.extend(done.notes)
    revision = store.latest(project.id)
    if revision is None:
        raise ProductionError(f"the production job of {project.id} ended without a revision")
    (reporter.step if reporter else noop_step)("takes", 1.0)
    return project, revision


async def _wait_job(
    jobs: JobQueue, job_id: int, what: str, follower: _Follower | None = None
) -> None:
    started = time.monotonic()
    warned = False
    while True:
        status = jobs.job_status(job_id)
        if follower is not None:
            follower.poll()
        if status == "succeeded":
            return
        if status is None or status in ENDED_JOB:
            raise ProductionError(f"{what} {status or 'vanished'} on a worker (its log says why)")
        if not warned and time.monotonic() - started > NO_WORKER_WARN_S and status == "todo":
            if jobs.live_workers() == 0:
                warned = True
                log.warning("no `reelforge worker` is running: %s waits for one", what)
        await asyncio.sleep(FOLLOW_S)


async def export_on_worker(
    project: Project,
    production: Production,
    services: Services,
    target: Path,
    note: str,
    budget_usd: float | None = None,
) -> Revision:
    """Team mode's chat export: finishing and every format on a worker, which commits the
    revision; this process waits for it."""
    jobs = services.jobs
    assert jobs is not None
    job_id = jobs.enqueue_export(services.store, project.id, production, target, note, budget_usd)
    await _wait_job(jobs, job_id, f"the export of {project.id}")
    for revision in reversed(services.store.revisions(project.id)):
        if revision.production.exports and revision.production.exports[0].parent == target:
            return revision
    raise ProductionError(f"the export of {project.id} ended without a revision")


# -- the worker side -----------------------------------------------------------------------


async def run_export_job(
    services: Services,
    project_id: str,
    production: str,
    target: str,
    note: str,
    budget_usd: float | None,
) -> None:
    """A chat export's job: finishing, every format, the revision (once: a retried job whose
    export was committed already does nothing)."""
    from tools.production.assembly import assemble_and_export

    store = services.store
    folder = Path(target)
    if any(
        r.production.exports and r.production.exports[0].parent == folder
        for r in store.revisions(project_id)
    ):
        return
    project = store.get_project(project_id)
    made = await assemble_and_export(
        project, Production.model_validate_json(production), services, folder,
        budget_usd=budget_usd,
    )  # fmt: skip
    store.commit(project_id, made, note)


async def run_production_job(services: Services, project_id: str, resuming: bool = False) -> None:
    """A production's job: finish the project's run (takes as their own jobs, then picks,
    finishing, exports, the revision); `resuming` as `reelforge resume` does (failed takes left
    failed). A run already finished (a retried job) is left alone; a refusal (budget, no usable
    take) is written on the run for the follower to say."""
    from tools.production.assembly import OutputError
    from tools.production.runs import finish, run_spec
    from tools.spend import BudgetExceeded

    store = services.store
    found = store.run(project_id)
    if found is not None and found[1]:
        return
    project = store.get_project(project_id)
    spec = run_spec(store, project_id).model_copy(update={"error": None, "notes": []})
    notes: list[str] = []
    try:
        await finish(project, services, spec, None, notes=notes, resuming=resuming)
    except (ProductionError, BudgetExceeded, OutputError) as exc:
        store.save_run(project_id, spec.model_copy(update={"error": str(exc)}).model_dump_json())
        return
    store.save_run(
        project_id, spec.model_copy(update={"notes": notes}).model_dump_json(), finished=True
    )


def worker_app(services: Services) -> procrastinate.App:
    """The procrastinate app a worker runs: the two tasks, on the store's database."""
    import procrastinate

    assert services.jobs is not None
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=services.jobs.url))
    limits: dict[str, asyncio.Semaphore] = {}  # per provider, across this worker's take jobs

    @app.task(name=TAKE_TASK, queue=TAKES_QUEUE)
    async def take_job(
        take_id: str,
        shot: dict[str, Any],
        index: int,
        references: list[str],
        poll_interval_s: float | None,
    ) -> None:
        from tools.takes import run_queued_take

        await run_queued_take(
            take_id,
            Shot.model_validate(shot),
            index,
            store=services.store,
            registry=services.registry,
            take_dir=services.settings.media_dir / "takes",
            references=[Path(p) for p in references],
            poll_interval_s=poll_interval_s,
            limits=limits,
        )

    @app.task(name=EXPORT_TASK, queue=PRODUCTIONS_QUEUE)
    async def export_job(
        project_id: str, production: str, target: str, note: str, budget_usd: float | None
    ) -> None:
        await run_export_job(services, project_id, production, target, note, budget_usd)

    @app.task(name=PRODUCTION_TASK, queue=PRODUCTIONS_QUEUE)
    async def production_job(project_id: str, resuming: bool = False) -> None:
        await run_production_job(services, project_id, resuming)

    return app


async def retry_stalled(app: procrastinate.App, stalled_after_s: float) -> None:
    """Forever: put back in the queue the jobs of workers that stopped heartbeating (killed,
    lost their machine). Every worker sweeps; a job already put back is skipped."""
    while True:
        await asyncio.sleep(max(0.5, stalled_after_s / 3))
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=stalled_after_s
            )
        except Exception as exc:  # the database blinked: sweep again next time
            log.warning("could not look for stalled jobs: %s", exc)
            continue
        for job in stalled:
            try:
                await app.job_manager.retry_job(job)
                log.warning(
                    "job %s (%s) of a stopped worker put back in the queue", job.id, job.task_name
                )
            except Exception as exc:  # another worker put it back first
                log.info("job %s not retried: %s", job.id, exc)


async def run_worker(
    settings: Settings,
    *,
    concurrency: int = 2,
    stalled_after_s: float = 30.0,
    name: str = "worker",
    stop: asyncio.Event | None = None,
) -> None:
    """`reelforge worker`: run production jobs (`concurrency` at once) and take jobs (4x as
    many: they mostly wait on providers) until SIGINT/SIGTERM or `stop`."""
    if settings.database_url is None:
        raise ProductionError(
            "`reelforge worker` needs REELFORGE_DATABASE_URL (the Postgres the bot and the CLI use)"
        )
    services = Services.open(settings)
    assert services.jobs is not None
    services.jobs.ensure_schema()
    app = worker_app(services)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    options: dict[str, Any] = {
        "install_signal_handlers": False,
        "update_heartbeat_interval": max(0.2, stalled_after_s / 4),
        "stalled_worker_timeout": stalled_after_s,
        "fetch_job_polling_interval": 1.0,
        "shutdown_graceful_timeout": 30.0,
    }
    try:
        async with app.open_async():
            running = [
                asyncio.create_task(
                    app.run_worker_async(
                        queues=[PRODUCTIONS_QUEUE],
                        concurrency=concurrency,
                        name=f"{name}-productions",
                        **options,
                    )
                ),
                asyncio.create_task(
                    app.run_worker_async(
                        queues=[TAKES_QUEUE],
                        concurrency=concurrency * 4,
                        name=f"{name}-takes",
                        **options,
                    )
                ),
                asyncio.create_task(retry_stalled(app, stalled_after_s)),
            ]
            stopping: asyncio.Task[Any] = asyncio.create_task(stop.wait())
            await asyncio.wait([*running, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            for task in running:
                task.cancel()
            results = await asyncio.gather(*running, return_exceptions=True)
            for result in results:  # a worker that died on its own (not cancelled) is an error
                if isinstance(result, Exception):
                    raise result
    finally:
        await services.aclose()


@contextlib.contextmanager
def no_queue(services: Services) -> Iterator[None]:
    """Run in this process even in team mode (benchmarks comparing the two)."""
    jobs, services.jobs = services.jobs, None
    try:
        yield
    finally:
        services.jobs = jobs
