"""Takes: N per shot, across all shots concurrently, each submitted once and recorded first.

A take's inputs are hashed; a take whose inputs already rendered successfully is reused, never
generated (or paid for) again. The order of records is what makes a crash or a lost answer safe:

1. the take row is written as SUBMITTING (its idempotency key is derived from the row) and its
   price is reserved against the budget, all BEFORE the submit call;
2. the job id and the spend entry are written as soon as the submit returns, BEFORE polling;
3. a later run (`reelforge resume`) finds SUBMITTED/RUNNING takes and polls them by job id, and
   SUBMITTING/UNKNOWN ones and reconciles them (`Reconcilable`) instead of sending them again.

A submit is retried only when the adapter says it is safe and the provider turned it away
unprocessed (a retryable "rate_limited" `ProviderError`); a timeout after sending means the
outcome is unknown, and is reconciled.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from memory.models import Shot, SpendEntry, Take, TakeStatus, stable_hash
from memory.redact import redact
from memory.store import OverBudget, ProjectStore
from tools.planner import take_components, take_prompt
from tools.providers.base import (
    CapabilityProfile,
    ErrorKind,
    GenerationRequest,
    JobStatus,
    ProviderError,
    Reconcilable,
    VideoProvider,
)
from tools.providers.polling import JobTimeout, wait_for_job
from tools.providers.registry import Registry, UnknownProvider, default_profile
from tools.spend import BudgetExceeded, SpendGuard

log = logging.getLogger(__name__)

TakeEvent = Callable[[Shot, Take], None]
Sleep = Callable[[float], Awaitable[None]]
BLACK_LUMA = 12.0
# Without --takes or REELFORGE_TAKES: 5 takes of a paid shot to pick from, 1 of a free animatic
# shot (previz is for timing, not for choosing between renders).
PAID_DEFAULT_TAKES = 5
FREE_DEFAULT_TAKES = 1
MAX_TAKES = 20
MAX_ATTEMPTS = 4  # per submit / poll / download, when the provider says waiting may help
MAX_RETRY_WAIT_S = 300.0  # a longer Retry-After ends the take with the provider's message
RETRY_BACKOFF_S = 2.0
QUEUED = TakeStatus.PLANNED  # team mode: recorded with its hold and its job, not yet sent
IN_FLIGHT = (TakeStatus.SUBMITTED, TakeStatus.RUNNING)
UNSETTLED = (TakeStatus.SUBMITTING, TakeStatus.UNKNOWN)
UNFINISHED = (*UNSETTLED, *IN_FLIGHT)


class TakeQueue(Protocol):
    """Team mode (tools.production.jobs): takes run as jobs on `reelforge worker`s."""

    def enqueue_take(
        self,
        store: ProjectStore,
        take: Take,
        hold: SpendEntry | None,
        cap_usd: float | None,
        job: dict[str, object],
    ) -> None:
        """Record `take` (QUEUED) and its hold and insert its job, in one transaction; raise
        `OverBudget` (nothing written) when the hold would pass `cap_usd`."""
        ...

    def failed_jobs(self, take_ids: list[str]) -> dict[str, str]:
        """Of these takes, those whose job ended in error without settling the take: why."""
        ...


def default_takes(shot: Shot) -> int:
    """Takes per shot when nobody said: 5 on a paid provider, 1 on the free animatic."""
    free = default_profile(shot.provider, shot.model).price_per_second_usd == 0
    return FREE_DEFAULT_TAKES if free else PAID_DEFAULT_TAKES


def takes_for(shot: Shot, takes: int | None) -> int:
    return default_takes(shot) if takes is None else takes


@dataclass
class TakeBatch:
    takes: dict[str, list[Take]] = field(default_factory=dict)
    kinds: dict[str, ErrorKind | None] = field(default_factory=dict, repr=False)

    def best(self, shot_id: str) -> Take | None:
        """The highest-scoring successful take with its file on disk (ties: the earliest).
        A failed, unknown or in-flight take is never picked."""
        ok = [
            t
            for t in self.takes.get(shot_id, [])
            if t.status is TakeStatus.SUCCEEDED and t.file is not None and t.file.exists()
        ]
        return max(ok, key=lambda t: t.score or 0.0, default=None)

    def failures(self) -> list[Take]:
        return [t for ts in self.takes.values() for t in ts if t.status is TakeStatus.FAILED]

    def unfinished(self) -> list[Take]:
        """Takes still in flight or whose submit could not be reconciled (not resubmitted)."""
        return [t for ts in self.takes.values() for t in ts if t.status in UNFINISHED]

    def kind(self, take: Take) -> ErrorKind | None:
        return self.kinds.get(take.id)


def shot_seed(shot: Shot, take_index: int) -> int:
    return int(stable_hash([shot.prompt, shot.id]), 16) % 1_000_000 + take_index


def request_for(
    shot: Shot, seed: int, references: list[Path] | None = None, *, take: int | None = None
) -> GenerationRequest:
    """The request of take `take` of `shot` (by default the take `seed` was derived for by
    `shot_seed`): that take's variation prompt, so the takes of a shot follow its plan."""
    profile = default_profile(shot.provider, shot.model)
    duration = profile.fit_duration(shot.duration) or shot.duration
    index = seed - shot_seed(shot, 0) if take is None else take
    return GenerationRequest(
        prompt=take_prompt(shot, index),
        duration=duration,
        aspect=shot.aspect,
        resolution=profile.resolutions[0],
        seed=seed,
        model=profile.model,
        reference_images=references or [],
        components=take_components(shot, index),
        text_overlay=shot.text_overlay if shot.kind == "live" else None,
        title=shot.text_overlay if shot.kind == "title" else None,
        kind=shot.kind,
    )


def take_input_hash(shot: Shot, index: int) -> str:
    """The key of take `index` of `shot`: same inputs, same take, never rendered (or paid) twice."""
    request = request_for(shot, shot_seed(shot, index))
    payload: dict[str, object] = {
        "provider": shot.provider,
        "request": request.model_dump(mode="json"),
    }
    if shot.reference_ids:  # content-derived ids: a new reference image is a new take
        payload["refs"] = shot.reference_ids
    return stable_hash(payload)


def idempotency_key(project_id: str, shot_id: str, index: int, input_hash: str) -> str:
    """Stable per take: a resubmit of the same take (after a crash) carries the same key."""
    return f"{project_id}/{shot_id}/{index}/{input_hash}"


def quality_check(path: Path, request: GenerationRequest) -> tuple[float, list[str]]:
    """A score in [0, 1] and notes from take QC (tools.post.qc): black, frozen, flicker, wrong
    duration or aspect lose points. Title cards and animatic previz may be still."""
    from tools.post import qc

    still_ok = request.kind == "title" or (request.model or "").startswith("animatic")
    report = qc.check(
        path, duration_s=request.duration, aspect=request.aspect, allow_still=still_ok
    )
    return report.score, report.notes


@dataclass
class _Run:
    """What every take of one `generate_takes` call shares."""

    project_id: str
    store: ProjectStore
    registry: Registry
    take_dir: Path
    limits: dict[str, asyncio.Semaphore]
    guard: SpendGuard
    batch: TakeBatch
    on_event: TakeEvent | None
    sleep: Sleep
    resubmit_unknown: bool
    retry_failed: bool
    poll_interval_s: float | None
    max_attempts: int
    references: Mapping[str, list[Path]] = field(default_factory=dict)
    held: bool = False  # a queued take's job: its price was held when it was enqueued

    def emit(self, shot: Shot, take: Take) -> None:
        if self.on_event is not None:
            self.on_event(shot, take)

    def fail(self, shot: Shot, take: Take, message: str, kind: ErrorKind | None) -> Take:
        take.status, take.error = TakeStatus.FAILED, message
        self.batch.kinds[take.id] = kind
        self.store.save_take(take)
        self.emit(shot, take)
        return take

    async def wait_before_retry(
        self, exc: ProviderError, attempt: int, *, submit: bool = False
    ) -> bool:
        """Sleep before another attempt if the error is retryable and attempts remain. A submit
        is sent again only after a rate limit (429: turned away unprocessed); a 5xx answer to a
        submit may have created the job, so it ends the take with the provider's message."""
        if not exc.retryable or exc.kind == "timeout" or attempt >= self.max_attempts:
            return False
        if submit and exc.kind != "rate_limited":
            return False
        wait = exc.retry_after_s if exc.retry_after_s is not None else RETRY_BACKOFF_S * attempt
        if wait > MAX_RETRY_WAIT_S:
            return False
        log.info("retrying in %.1fs after: %s", wait, exc)
        await self.sleep(wait)
        return True


def _take_request(run: _Run, shot: Shot, index: int) -> tuple[str, GenerationRequest]:
    input_hash = take_input_hash(shot, index)
    images = list(run.references.get(shot.id, []))
    request = request_for(shot, shot_seed(shot, index), images).model_copy(
        update={"idempotency_key": idempotency_key(run.project_id, shot.id, index, input_hash)}
    )
    return input_hash, request


def _existing(run: _Run, shot: Shot, input_hash: str, request: GenerationRequest) -> Take | None:
    """The take these inputs already have, to be kept as it stands (done, failed, reused) or
    picked up (in flight, or queued for its job); None when a new one is needed."""
    store = run.store
    mine = [t for t in store.takes(run.project_id, shot.id) if t.input_hash == input_hash]
    for existing in mine:
        if existing.status is TakeStatus.SUCCEEDED and existing.file and existing.file.exists():
            return existing
    latest = mine[-1] if mine else None
    if latest is not None and latest.status is TakeStatus.FAILED and not run.retry_failed:
        return latest
    # a stored QUEUED take has its job (team mode): never a second take for the same inputs
    if latest is not None and (latest.status in UNFINISHED or latest.status is QUEUED):
        return latest
    reused = store.find_take_by_hash(input_hash)
    if reused is not None and reused.file is not None:
        copy = _new_take(run.project_id, shot, request, input_hash)
        copy.status, copy.file, copy.score = TakeStatus.SUCCEEDED, reused.file, reused.score
        copy.qc_notes = [*reused.qc_notes, f"reused identical take {reused.id}"]
        store.save_take(copy)
        run.emit(shot, copy)
        return copy
    return None


async def _one_take(run: _Run, shot: Shot, index: int) -> Take:
    input_hash, request = _take_request(run, shot, index)
    take = _existing(run, shot, input_hash, request)
    if take is None:
        take = _new_take(run.project_id, shot, request, input_hash)
    elif take.status not in UNFINISHED:
        return take
    return await _drive(run, shot, take, request)


async def _drive(
    run: _Run, shot: Shot, take: Take, request: GenerationRequest, *, claimed: bool = False
) -> Take:
    """Take `take` from where it stands to the end: submit (or reconcile), poll, download, QC.
    `claimed`: a queued take its job just marked SUBMITTING, to be sent now (once)."""
    store = run.store
    try:
        provider = run.registry.get(shot.provider)
        profile = provider.profile(request.model)
    except (UnknownProvider, ProviderError) as exc:
        return run.fail(shot, take, str(exc), None)
    downloaded = False
    async with run.limits[shot.provider]:
        if claimed:
            await _submit(run, shot, take, request, provider, profile)
        elif take.status in UNSETTLED:
            await _settle(run, shot, take, request, provider, profile)
        elif take.status not in IN_FLIGHT:
            await _submit(run, shot, take, request, provider, profile)
        if take.status in IN_FLIGHT and take.job_id is not None:
            status = await _wait(run, shot, take, provider, profile)
            if status is not None:
                downloaded = await _download(run, shot, take, status, provider)
    if downloaded and take.file is not None:
        try:
            take.score, take.qc_notes = await asyncio.to_thread(quality_check, take.file, request)
        except Exception as exc:  # an unreadable clip is a failed take, never a picked one
            return run.fail(
                shot, take, f"{shot.provider} returned an unreadable clip: {exc}", "failed"
            )
        take.status = TakeStatus.SUCCEEDED
        store.save_take(take)
        run.emit(shot, take)
    return take


def _new_take(project_id: str, shot: Shot, request: GenerationRequest, input_hash: str) -> Take:
    return Take(
        id=f"t-{uuid.uuid4().hex[:10]}",
        project_id=project_id,
        shot_id=shot.id,
        provider=shot.provider,
        model=request.model,
        seed=request.seed,
        input_hash=input_hash,
    )


async def _submit(
    run: _Run,
    shot: Shot,
    take: Take,
    request: GenerationRequest,
    provider: VideoProvider,
    profile: CapabilityProfile,
) -> None:
    """Reserve, record SUBMITTING, submit (retrying only what the adapter calls safe), record."""
    price = profile.price(request.duration)
    if not run.held:  # a queued take was held (under the cap) when its job was enqueued
        try:
            run.guard.reserve(price)
        except BudgetExceeded as exc:
            run.fail(shot, take, str(exc), None)
            return
        take.status, take.error = TakeStatus.SUBMITTING, None
        # Before the call: a crash now leaves a take to reconcile, and its price held in the
        # ledger as `unknown` (an answer lost in flight keeps its charge until reconciled).
        try:  # across processes too: decided under the project's lock in the store
            run.store.save_submitting(take, _spend(run, shot, take, price, None), run.guard.cap)
        except OverBudget as exc:
            run.guard.release(price)
            run.fail(shot, take, f"not submitted: {exc}", None)
            return
    attempt = 0
    while True:
        attempt += 1
        try:
            job_id = await provider.submit(request)
        except ProviderError as exc:
            if exc.kind == "timeout":
                await _reconcile(run, shot, take, request, provider, price, reserved=True)
                return
            if await run.wait_before_retry(exc, attempt, submit=True):
                continue
            run.guard.release(price)
            take.status, take.error = TakeStatus.FAILED, str(exc)
            run.batch.kinds[take.id] = exc.kind
            run.store.refuse_hold(take, str(exc))  # surely not accepted: refunded
            run.emit(shot, take)
            return
        except Exception as exc:  # an adapter bug after sending: the job may exist, never resend
            log.warning(
                "%s submit of take %s crashed: %s", shot.provider, take.id, redact(repr(exc))
            )
            await _reconcile(run, shot, take, request, provider, price, reserved=True)
            return
        _submitted(run, shot, take, job_id, price, reserved=True)
        return


def _spend(
    run: _Run, shot: Shot, take: Take, price: float, job_id: str | None
) -> SpendEntry | None:
    if not price:
        return None
    return SpendEntry(
        project_id=run.project_id,
        kind="submit",
        amount_usd=price,
        provider=shot.provider,
        job_id=job_id,
        take_id=take.id,
    )


def _submitted(
    run: _Run, shot: Shot, take: Take, job_id: str, price: float, *, reserved: bool
) -> None:
    """The job exists: write its id and its spend (its hold becomes the charge) first."""
    take.job_id, take.status, take.cost_usd, take.error = job_id, TakeStatus.SUBMITTED, price, None
    already_counted = not reserved and run.store.hold(take.id) is not None
    run.store.save_submitted(take, _spend(run, shot, take, price, job_id))
    if reserved:
        run.guard.commit(price)
    elif not already_counted:  # a hold from an earlier run is already in the guard's total
        run.guard.add_spent(price)
    run.emit(shot, take)


async def _reconcile(
    run: _Run,
    shot: Shot,
    take: Take,
    request: GenerationRequest,
    provider: VideoProvider,
    price: float,
    *,
    reserved: bool,
    absent_ok: bool = False,
) -> bool:
    """A submit whose answer was lost: adopt the job it created, or mark the take UNKNOWN.
    With `absent_ok`, a provider that looks submits up by their idempotency key and answers
    that it has none leaves the take as it is and True is returned: sending it again with the
    same key is safe (such a provider refuses a duplicate key, see `KlingProvider.submit`)."""
    found: str | None = None
    why = f"{shot.provider} cannot look a job up by its request"
    definitive = False
    if isinstance(provider, Reconcilable):
        try:
            found = await provider.reconcile(request)
            why = f"{shot.provider} has no job for it"
            definitive = request.idempotency_key is not None
        except ProviderError as exc:
            why = f"{shot.provider} could not be asked ({exc})"
    if found is not None:
        _submitted(run, shot, take, found, price, reserved=reserved)
        return False
    if absent_ok and definitive:
        return True
    take.status = TakeStatus.UNKNOWN
    take.error = (
        f"the submit of take {take.id} (shot {shot.id}) got no answer and {why}, so it may or may "
        f"not have been charged; it was NOT resubmitted (check the {shot.provider} dashboard; "
        "`reelforge resume --resubmit-unknown` sends it again)"
    )
    run.store.save_take(take)
    run.emit(shot, take)
    return False


async def _settle(
    run: _Run,
    shot: Shot,
    take: Take,
    request: GenerationRequest,
    provider: VideoProvider,
    profile: CapabilityProfile,
) -> None:
    """A take left SUBMITTING (crash) or UNKNOWN (lost answer) by an earlier run."""
    price = profile.price(request.duration)
    # a queued take whose worker died mid-submit: when the provider, asked by the take's key,
    # surely has no job for it, its job sends it (same key, its price still held)
    resend = run.held and take.status is TakeStatus.SUBMITTING
    if await _reconcile(
        run, shot, take, request, provider, price, reserved=False, absent_ok=resend
    ):
        await _submit(run, shot, take, request, provider, profile)
        return
    if take.status is TakeStatus.UNKNOWN:
        if run.resubmit_unknown:
            await _submit(run, shot, take, request, provider, profile)
        elif run.store.hold(take.id) is None:  # a take from before holds: hold it now
            run.guard.add_spent(price)
            hold = _spend(run, shot, take, price, None)
            if hold is not None:
                run.store.record_spend(hold.model_copy(update={"kind": "unknown"}))


async def _wait(
    run: _Run, shot: Shot, take: Take, provider: VideoProvider, profile: CapabilityProfile
) -> JobStatus | None:
    """Poll the take's job to the end; None when the take failed or is still in flight."""
    assert take.job_id is not None
    interval = run.poll_interval_s or min(5.0, max(0.05, profile.typical_latency_s / 40))

    def on_status(status: JobStatus) -> None:
        if status.state == "running" and take.status is TakeStatus.SUBMITTED:
            take.status = TakeStatus.RUNNING
            run.store.save_take(take)
            run.emit(shot, take)

    attempt = 0
    while True:
        attempt += 1
        try:
            status = await wait_for_job(
                provider,
                take.job_id,
                interval_s=interval,
                max_interval_s=run.poll_interval_s or 30.0,
                timeout_s=max(600.0, profile.typical_latency_s * 20),
                sleep=run.sleep,
                on_status=on_status,
            )
        except JobTimeout as exc:
            take.error = str(exc)  # still in flight: `reelforge resume` polls it, never resends
            run.store.save_take(take)
            run.emit(shot, take)
            return None
        except ProviderError as exc:
            if await run.wait_before_retry(exc, attempt):
                continue
            if exc.retryable:  # the job may still finish: keep it for `reelforge resume`
                take.error = f"{exc}; `reelforge resume` polls it again without paying"
                run.store.save_take(take)
                run.emit(shot, take)
                return None
            run.fail(shot, take, str(exc), exc.kind)
            return None
        if status.state == "failed":
            message = status.error or f"{shot.provider} job {take.job_id} failed (no reason given)"
            run.fail(shot, take, message, status.error_kind or "failed")
            return None
        return status


async def _download(
    run: _Run, shot: Shot, take: Take, status: JobStatus, provider: VideoProvider
) -> bool:
    dest = run.take_dir / f"{take.id}.mp4"
    attempt = 0
    while True:
        attempt += 1
        try:
            await provider.download(status, dest)
        except ProviderError as exc:
            if await run.wait_before_retry(exc, attempt):
                continue
            run.fail(shot, take, str(exc), exc.kind)
            return False
        take.file = dest
        take.status = TakeStatus.RUNNING  # downloaded; QC (outside the provider slot) finishes it
        run.store.save_take(take)
        return True


async def generate_takes(
    project_id: str,
    shots: list[Shot],
    takes_per_shot: int | None,
    *,
    store: ProjectStore,
    registry: Registry,
    take_dir: Path,
    on_event: TakeEvent | None = None,
    budget_usd: float | None = None,
    guard: SpendGuard | None = None,
    concurrency: Mapping[str, int] | None = None,
    sleep: Sleep = asyncio.sleep,
    resubmit_unknown: bool = False,
    retry_failed: bool = True,
    poll_interval_s: float | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    references: Mapping[str, list[Path]] | None = None,
    queue: TakeQueue | None = None,
) -> TakeBatch:
    """Render `takes_per_shot` takes of every shot concurrently, within per-provider limits
    (`concurrency` overrides the catalogue's `max_concurrency`), never spending past
    `budget_usd` (the project's total). `takes_per_shot=None`: `default_takes` per shot.

    Takes this project already has for the same inputs are picked up where they stand: a
    success is kept, an in-flight job is polled, an unsettled submit is reconciled (and only
    resubmitted with `resubmit_unknown`), a failure is retried only with `retry_failed`.
    With `queue` (team mode) each new take is enqueued as a job for a `reelforge worker`, in
    the same transaction as its hold, and followed in the store until it ends.
    """
    take_dir.mkdir(parents=True, exist_ok=True)
    wanted = dict(concurrency or {})
    limits = {
        pid: asyncio.Semaphore(wanted.get(pid) or default_profile(pid).max_concurrency)
        for pid in {s.provider for s in shots}
    }
    batch = TakeBatch()
    run = _Run(
        project_id=project_id,
        store=store,
        registry=registry,
        take_dir=take_dir,
        limits=limits,
        guard=guard or SpendGuard(budget_usd, store.total_spend(project_id)),
        batch=batch,
        on_event=on_event,
        sleep=sleep,
        resubmit_unknown=resubmit_unknown,
        retry_failed=retry_failed,
        poll_interval_s=poll_interval_s,
        references=dict(references or {}),
        max_attempts=max_attempts,
    )
    wanted_takes = [
        (shot, i) for shot in shots for i in range(min(MAX_TAKES, takes_for(shot, takes_per_shot)))
    ]
    if queue is not None and not resubmit_unknown:  # that manual recovery runs right here
        queued = [_queue_one(run, queue, shot, i) for shot, i in wanted_takes]
        done = await _await_jobs(run, queue, queued, {s.id: s for s in shots})
    else:
        done = await asyncio.gather(*(_one_take(run, shot, i) for shot, i in wanted_takes))
    for take in done:
        batch.takes.setdefault(take.shot_id, []).append(take)
    return batch


ENDED = (TakeStatus.SUCCEEDED, TakeStatus.FAILED, TakeStatus.UNKNOWN)
JOB_CHECK_S = 2.0  # how often a waiter asks whether a take's job died in error


def _queue_one(run: _Run, queue: TakeQueue, shot: Shot, index: int) -> Take:
    """Team mode: the take as it stands, or a new QUEUED one recorded with its hold and its job
    in one transaction (so a paid submit is never lost or doubled between ledger and queue)."""
    input_hash, request = _take_request(run, shot, index)
    existing = _existing(run, shot, input_hash, request)
    if existing is not None:
        return existing
    take = _new_take(run.project_id, shot, request, input_hash)
    try:
        profile = run.registry.get(shot.provider).profile(request.model)
    except (UnknownProvider, ProviderError) as exc:
        return run.fail(shot, take, str(exc), None)
    job: dict[str, object] = {
        "take_id": take.id,
        "shot": shot.model_dump(mode="json"),
        "index": index,
        "references": [str(p) for p in run.references.get(shot.id, [])],
        "poll_interval_s": run.poll_interval_s,
    }
    hold = _spend(run, shot, take, profile.price(request.duration), None)
    try:
        queue.enqueue_take(run.store, take, hold, run.guard.cap, job)
    except OverBudget as exc:
        return run.fail(shot, take, f"not submitted: {exc}", None)
    return take


async def _await_jobs(
    run: _Run, queue: TakeQueue, takes: list[Take], shots: Mapping[str, Shot]
) -> list[Take]:
    """Follow queued takes in the store until each has ended (or its job died in error)."""
    current = {t.id: t for t in takes}
    pending = {t.id for t in takes if t.status not in ENDED}
    interval = min(0.1, max(0.02, run.poll_interval_s or 0.1))
    checked = time.monotonic()
    while pending:
        await asyncio.sleep(interval)
        fresh = {t.id: t for t in run.store.takes(run.project_id) if t.id in pending}
        for take_id, take in fresh.items():
            before = current[take_id]
            if (take.status, take.job_id, take.error) != (
                before.status,
                before.job_id,
                before.error,
            ):
                current[take_id] = take
                run.emit(shots[take.shot_id], take)
            if take.status in ENDED:
                pending.discard(take_id)
        if pending and time.monotonic() - checked > JOB_CHECK_S:
            checked = time.monotonic()
            for take_id, why in queue.failed_jobs(sorted(pending)).items():
                take = current[take_id]
                take.error = f"its job on a worker failed ({why}); `reelforge resume` picks it up"
                pending.discard(take_id)
    return [current[t.id] for t in takes]


async def run_queued_take(
    take_id: str,
    shot: Shot,
    index: int,
    *,
    store: ProjectStore,
    registry: Registry,
    take_dir: Path,
    references: list[Path] | None = None,
    poll_interval_s: float | None = None,
    limits: dict[str, asyncio.Semaphore] | None = None,
) -> Take:
    """A take's job on a worker: submit the QUEUED take once (its price already held), or, when
    a worker died with it in flight, reconcile it (never resubmitted blindly), poll it, download
    it and check it; a take that already ended is left as it is."""
    take = store.take(take_id)
    if take.status in ENDED:
        return take
    take_dir.mkdir(parents=True, exist_ok=True)
    limits = limits if limits is not None else {}
    if shot.provider not in limits:
        limits[shot.provider] = asyncio.Semaphore(default_profile(shot.provider).max_concurrency)
    run = _Run(
        project_id=take.project_id,
        store=store,
        registry=registry,
        take_dir=take_dir,
        limits=limits,
        guard=SpendGuard(None, 0.0),  # the cap was decided when the job was enqueued
        batch=TakeBatch(),
        on_event=None,
        sleep=asyncio.sleep,
        resubmit_unknown=False,
        retry_failed=False,
        poll_interval_s=poll_interval_s,
        max_attempts=MAX_ATTEMPTS,
        references={shot.id: list(references or [])},
        held=True,
    )
    _, request = _take_request(run, shot, index)
    if take.status is not QUEUED:  # a worker died with it: reconcile or poll, never resend
        return await _drive(run, shot, take, request)
    take.status, take.error = TakeStatus.SUBMITTING, None
    # from here a lost answer is reconciled, never resent; and of two jobs only one sends it
    if not store.claim_take(take, QUEUED):
        return store.take(take_id)
    return await _drive(run, shot, take, request, claimed=True)


@dataclass(frozen=True)
class Unreconciled:
    """A take whose submit may or may not have reached the provider (and been charged)."""

    take_id: str
    shot_id: str
    provider: str
    why: str
    held_usd: float


def unreconciled_takes(store: ProjectStore, project_id: str) -> list[Unreconciled]:
    """The project's takes whose submit could not be reconciled: not resubmitted, their price
    held in the ledger as `unknown`. `resume` names each of them."""
    out = []
    for take in store.takes(project_id):
        if take.status not in UNSETTLED:
            continue
        hold = store.hold(take.id)
        why = take.error or (
            f"the submit of take {take.id} (shot {take.shot_id}) was interrupted before "
            f"{take.provider} answered; `reelforge resume` reconciles it"
        )
        out.append(
            Unreconciled(
                take_id=take.id,
                shot_id=take.shot_id,
                provider=take.provider,
                why=why,
                held_usd=hold.amount_usd if hold is not None else 0.0,
            )
        )
    return out
