"""The spend promises of `generate_takes`, with an in-process fake provider:

- the take row is SUBMITTING before the submit call, and the job id and spend entry are in the
  store before the first poll;
- randomized over many seeds (prices, failures, concurrency, earlier spend): the ledger never
  passes the budget cap, every paid submit is in it exactly once, and a failed take is never
  the one picked.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from pydantic import SecretStr

import tools.takes as takes_mod
from memory.models import Production, PromptComponents, Shot, SpendEntry, TakeStatus
from memory.store import ProjectStore
from tools.providers.base import CapabilityProfile, GenerationRequest, JobStatus, ProviderError
from tools.providers.registry import Registry, default_profile
from tools.settings import Settings
from tools.spend import BudgetExceeded, SpendGuard, check_budget
from tools.takes import generate_takes

BRIEF = {
    "title": "t",
    "story": "s",
    "mood": "m",
    "style": "s",
    "duration": 4,
    "formats": ["9:16"],
    "audience": "a",
}


def _shot(i: int, seed: int) -> Shot:
    return Shot(
        id=f"{i}.1",
        scene_index=i,
        index=1,
        description=f"shot {i}",
        components=PromptComponents(subject=f"subject {i}"),
        duration=4,
        aspect="9:16",
        preferred_provider="runway",
        preferred_reason="test",
        provider="runway",
        provider_reason="test",
        model="gen4.5",
        prompt=f"a cup of coffee number {i} in run {seed}",  # no reuse across runs
    )


class FakeProvider:
    """Poses as Runway with a random price per take and scripted random outcomes; checks the
    store's records at each call."""

    id = "runway"

    def __init__(self, rng: random.Random, store: ProjectStore, project_id: str) -> None:
        self.rng = rng
        self.store = store
        self.project_id = project_id
        self.price = 0.0
        self.submits: list[str] = []  # job ids of submits that were accepted (and charged)
        self.job_fails: set[str] = set()
        self.violations: list[str] = []

    def profile(self, model: str | None = None) -> CapabilityProfile:
        self.price = round(self.rng.uniform(0.01, 0.5), 4)
        return default_profile("runway").model_copy(update={"price_per_second_usd": self.price})

    async def submit(self, request: GenerationRequest) -> str:
        states = [t.status for t in self.store.takes(self.project_id)]
        if TakeStatus.SUBMITTING not in states:
            self.violations.append("submit called with no SUBMITTING take row")
        if request.idempotency_key is None or self.project_id not in request.idempotency_key:
            self.violations.append(f"bad idempotency key {request.idempotency_key!r}")
        await asyncio.sleep(0)
        roll = self.rng.random()
        if roll < 0.15:
            raise ProviderError("Runway refused the request (bad ratio)", kind="invalid")
        if roll < 0.25:  # turned away unprocessed: safe to retry
            raise ProviderError(
                "Runway is rate limiting", kind="rate_limited", retryable=True, retry_after_s=1
            )
        job_id = f"job-{len(self.submits)}-{self.rng.random():.6f}"
        self.submits.append(job_id)
        if self.rng.random() < 0.2:
            self.job_fails.add(job_id)
        return job_id

    async def poll(self, job_id: str) -> JobStatus:
        logged = {e.job_id for e in self.store.spend(self.project_id) if e.kind == "submit"}
        if job_id not in logged:
            self.violations.append(f"polled {job_id} before its spend entry was written")
        await asyncio.sleep(0)
        if job_id in self.job_fails:
            return JobStatus(
                job_id=job_id, state="failed", error="GPU fell over", error_kind="failed"
            )
        return JobStatus(job_id=job_id, state="succeeded", output_url=f"fake://{job_id}")

    async def download(self, status: JobStatus, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"clip")
        return dest

    async def aclose(self) -> None:
        return None


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """The ledger runs on the embedded SQLite file and on a real Postgres database."""
    if request.param == "sqlite":
        return None
    from tests.pg.server import server

    return server().create_database(f"spend_{tmp_path.name}".lower().replace("-", "_"))


def test_spend_never_exceeds_the_cap_randomized(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str | None
) -> None:
    monkeypatch.setattr(takes_mod, "quality_check", lambda path, request: (0.5, []))
    settings = Settings(
        data_dir=tmp_path / "data",
        runwayml_api_secret=SecretStr("k"),
        database_url=SecretStr(backend) if backend else None,
    )
    store = ProjectStore(settings.store_target)
    assert store.dialect.name == ("postgres" if backend else "sqlite")
    from memory.models import Brief

    capped_runs = refused_takes = 0
    for seed in range(80):
        rng = random.Random(seed)
        project = store.create_project(f"p{seed}", Production(brief=Brief(**BRIEF)))
        before = round(rng.uniform(0, 1.5), 2)
        if before:
            store.record_spend(SpendEntry(project_id=project.id, kind="submit", amount_usd=before))
        cap = round(rng.uniform(0.0, 6.0), 2) if rng.random() < 0.9 else None
        fake = FakeProvider(rng, store, project.id)
        registry = Registry(settings, adapters={"runway": lambda _s, f=fake: f})  # type: ignore[misc]
        shots = [_shot(i, seed) for i in range(1, rng.randint(1, 4) + 1)]
        batch = asyncio.run(
            generate_takes(
                project.id,
                shots,
                rng.randint(1, 6),
                store=store,
                registry=registry,
                take_dir=tmp_path / "takes",
                budget_usd=cap,
                concurrency={"runway": rng.randint(1, 8)},
                sleep=_no_sleep,
            )
        )
        total = store.total_spend(project.id)
        assert fake.violations == [], f"seed {seed}"
        if cap is not None:
            # nothing new is spent past the cap (earlier spend may already be over it)
            new = total - before
            assert new <= max(0.0, cap - before) + 1e-9, f"seed {seed}: {total} over cap {cap}"
        # every accepted (charged) submit is in the ledger exactly once, with its job id
        logged = [e.job_id for e in store.spend(project.id) if e.job_id is not None]
        assert sorted(logged) == sorted(fake.submits), f"seed {seed}"
        for take in (t for ts in batch.takes.values() for t in ts):
            if take.status is TakeStatus.FAILED and take.error and "budget" in take.error:
                refused_takes += 1
                assert take.job_id is None
        for shot in shots:
            best = batch.best(shot.id)
            if best is not None:
                assert best.status is TakeStatus.SUCCEEDED and best.job_id not in fake.job_fails
        capped_runs += cap is not None and any(
            t.error and "budget" in t.error for t in batch.failures()
        )
    store.close()
    # the cap really bound in many runs, so the invariant above was exercised
    assert capped_runs > 10 and refused_takes > 10


def test_takes_count_what_another_process_holds_against_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str | None
) -> None:
    """Two workers on one project: money another process holds (a reservation for its submit
    in flight) is counted when a take is about to be submitted, under the project's lock in
    the store, so the two can never pass the cap together."""
    monkeypatch.setattr(takes_mod, "quality_check", lambda path, request: (0.5, []))
    settings = Settings(
        data_dir=tmp_path / "data",
        runwayml_api_secret=SecretStr("k"),
        database_url=SecretStr(backend) if backend else None,
    )
    store = ProjectStore(settings.store_target)
    from memory.models import Brief

    project = store.create_project("p", Production(brief=Brief(**BRIEF)))
    shot = _shot(1, 0)
    cap = 3.5  # this shot's two takes cost $1.70 + $1.53: both fit the cap alone
    other = store.reserve(project.id, 1.8, cap_usd=cap)  # the other worker's take: one fits
    fake = FakeProvider(random.Random(0), store, project.id)
    registry = Registry(settings, adapters={"runway": lambda _s, f=fake: f})  # type: ignore[misc]
    batch = asyncio.run(
        generate_takes(
            project.id,
            [shot],
            2,
            store=store,
            registry=registry,
            take_dir=tmp_path / "takes",
            budget_usd=cap,
            sleep=_no_sleep,
        )
    )
    refused = [t for t in batch.failures() if t.error and "budget" in t.error]
    assert len(fake.submits) == 1 and len(refused) == 1 and refused[0].job_id is None
    assert store.total_spend(project.id) + store.reserved(project.id) <= cap + 1e-9
    store.release_reservation(other)
    store.close()


def test_guard_refuses_past_the_cap_and_releases_failed_submits() -> None:
    guard = SpendGuard(1.0, spent=0.4)
    guard.reserve(0.5)
    with pytest.raises(BudgetExceeded, match=r"\$0\.60 left|\$0\.10 left"):
        guard.reserve(0.2)
    guard.release(0.5)
    guard.reserve(0.6)
    guard.commit(0.6)
    assert guard.spent == pytest.approx(1.0)
    with pytest.raises(BudgetExceeded):
        guard.reserve(0.01)
    SpendGuard(None).reserve(1e9)  # no cap, no refusal
    with pytest.raises(BudgetExceeded, match="over the budget of \\$2.00"):
        check_budget(2.0, 1.5, 0.6)
    check_budget(2.0, 1.5, 0.5)
