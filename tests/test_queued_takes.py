"""A queued take's job (team mode, `tools.takes.run_queued_take`) and the store's guards that make
it safe to run twice (a worker killed mid-job, or thought dead while only slow): only one job
claims a queued take for submitting; a take is charged once however many times its job id is
saved; a take left SUBMITTING by a dead worker is reconciled, and resent only when the provider,
asked by the take's idempotency key, says it has no job for it. Runs on SQLite: the job logic
is the same on Postgres (tests/pg/test_queue.py runs it there with real workers)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import SecretStr

from memory.models import Brief, Shot, SpendEntry, Take, TakeStatus
from memory.store import ProjectStore
from tests.fakes.providers import FakePaidProvider
from tools.production.planning import plan
from tools.production.services import Services
from tools.providers.base import GenerationRequest
from tools.providers.registry import Registry, default_profile
from tools.settings import Settings
from tools.takes import request_for, run_queued_take, shot_seed


def _store_with_take(tmp_path: Path) -> tuple[ProjectStore, Take]:
    settings = Settings(data_dir=tmp_path)
    store = ProjectStore(settings.db_path)
    brief = Brief(
        title="Claims", story="A kite over a beach.", mood="calm", style="cinematic",
        duration=4, formats=["16:9"], audience="test",
    )  # fmt: skip
    production = plan(brief, Services(settings, store, Registry(settings)))
    project = store.create_project("claims", production)
    take = Take(
        id="t-1", project_id=project.id, shot_id="1.1", provider="kling", model="kling-v2-6",
        seed=1, input_hash="h",
    )  # fmt: skip
    hold = SpendEntry(project_id=project.id, kind="submit", amount_usd=0.35, take_id=take.id)
    store.save_submitting(take, hold)  # QUEUED (planned) with its price held
    return store, take


def test_only_one_job_claims_a_queued_take(tmp_path: Path) -> None:
    store, take = _store_with_take(tmp_path)
    first = take.model_copy(update={"status": TakeStatus.SUBMITTING})
    assert store.claim_take(first, TakeStatus.PLANNED)
    assert not store.claim_take(first, TakeStatus.PLANNED)  # the second job finds it taken
    assert store.take(take.id).status is TakeStatus.SUBMITTING


def test_a_take_is_charged_once_when_two_jobs_record_its_job_id(tmp_path: Path) -> None:
    store, take = _store_with_take(tmp_path)
    done = take.model_copy(update={"status": TakeStatus.SUBMITTED, "job_id": "job-1"})
    charge = SpendEntry(project_id=take.project_id, kind="submit", amount_usd=0.35, take_id=take.id)
    store.save_submitted(done, charge)  # the hold becomes the charge
    store.save_submitted(done, charge)  # a second job reconciled the same take: no new charge
    entries = store.spend(take.project_id)
    assert [(e.kind, e.amount_usd) for e in entries] == [("submit", 0.35)]
    assert store.total_spend(take.project_id) == 0.35


class FakeKling(FakePaidProvider):
    """Looks submits up by their idempotency key (as Kling does), poses as Runway's profile."""

    def __init__(self, known: str | None = None) -> None:
        super().__init__()
        self.known = known
        self.asked: list[str | None] = []

    async def reconcile(self, request: GenerationRequest) -> str | None:
        self.asked.append(request.idempotency_key)
        return self.known


def _queued(tmp_path: Path, status: TakeStatus) -> tuple[ProjectStore, Take, Shot, Settings]:
    settings = Settings(data_dir=tmp_path, runwayml_api_secret=SecretStr("key"))
    store = ProjectStore(settings.db_path)
    brief = Brief(
        title="Queued", story="A kite over a beach.", mood="calm", style="cinematic",
        duration=4, formats=["16:9"], audience="test",
        scenes=[{"description": "a red kite climbs", "duration": 4, "provider": "runway"}],  # type: ignore[list-item]
    )  # fmt: skip
    production = plan(brief, Services(settings, store, Registry(settings)))
    project = store.create_project("queued", production)
    shot = production.shots()[0]
    assert shot.provider == "runway"
    take = Take(
        id="t-q", project_id=project.id, shot_id=shot.id, provider="runway",
        model=request_for(shot, shot_seed(shot, 0)).model, seed=shot_seed(shot, 0),
        input_hash="h",
    )  # fmt: skip
    price = default_profile("runway").price(request_for(shot, shot_seed(shot, 0)).duration)
    hold = SpendEntry(project_id=project.id, kind="submit", amount_usd=price, take_id=take.id)
    store.save_submitting(take, hold)  # QUEUED, its price held, as enqueue_take writes it
    if status is not TakeStatus.PLANNED:
        store.save_take(take.model_copy(update={"status": status}))
    return store, take, shot, settings


def _run(store: ProjectStore, take: Take, shot: Shot, settings: Settings, fake: object) -> Take:
    registry = Registry(settings, adapters={"runway": lambda _s: fake})  # type: ignore[dict-item]
    return asyncio.run(
        run_queued_take(
            take.id, shot, 0, store=store, registry=registry,
            take_dir=settings.media_dir / "takes", poll_interval_s=0.01,
        )
    )  # fmt: skip


def _ledger(store: ProjectStore, take: Take) -> list[str]:
    return [e.kind for e in store.spend(take.project_id)]


@pytest.mark.ffmpeg
def test_a_queued_take_is_sent_once_even_when_its_job_runs_twice(tmp_path: Path) -> None:
    store, take, shot, settings = _queued(tmp_path, TakeStatus.PLANNED)
    fake = FakePaidProvider()
    done = _run(store, take, shot, settings, fake)
    assert done.status is TakeStatus.SUCCEEDED and len(fake.submits) == 1
    assert _run(store, take, shot, settings, fake).status is TakeStatus.SUCCEEDED  # retried job
    assert len(fake.submits) == 1
    assert _ledger(store, take) == ["submit"]  # the hold became the one charge


@pytest.mark.ffmpeg
def test_a_dead_workers_submit_is_adopted_when_the_provider_has_it(tmp_path: Path) -> None:
    store, take, shot, settings = _queued(tmp_path, TakeStatus.SUBMITTING)
    fake = FakeKling(known="job-sent-before")
    done = _run(store, take, shot, settings, fake)
    assert fake.submits == [] and fake.asked and done.job_id == "job-sent-before"
    assert done.status is TakeStatus.SUCCEEDED
    assert _ledger(store, take) == ["submit"]


@pytest.mark.ffmpeg
def test_a_dead_workers_submit_is_resent_with_its_key_when_the_provider_has_none(
    tmp_path: Path,
) -> None:
    store, take, shot, settings = _queued(tmp_path, TakeStatus.SUBMITTING)
    fake = FakeKling(known=None)
    done = _run(store, take, shot, settings, fake)
    assert [r.idempotency_key for r in fake.submits] == fake.asked  # the same key, once
    assert len(fake.submits) == 1 and done.status is TakeStatus.SUCCEEDED
    assert _ledger(store, take) == ["submit"]


def test_a_dead_workers_submit_is_never_resent_blindly(tmp_path: Path) -> None:
    store, take, shot, settings = _queued(tmp_path, TakeStatus.SUBMITTING)
    fake = FakePaidProvider()  # cannot look a submit up
    done = _run(store, take, shot, settings, fake)
    assert fake.submits == [] and done.status is TakeStatus.UNKNOWN
    assert _ledger(store, take) == ["unknown"]  # still held: it may have been charged
