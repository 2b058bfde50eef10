"""Takes: N per shot, across all shots concurrently, each submitted once and recorded first.

A take's inputs are hashed; a take whose inputs already rendered successfully is reused, never
generated (or paid for) again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from memory.models import Shot, SpendEntry, Take, TakeStatus, stable_hash
from memory.store import ProjectStore
from tools.providers.base import GenerationRequest, ProviderError
from tools.providers.polling import wait_for_job
from tools.providers.registry import Registry, default_profile

TakeEvent = Callable[[Shot, Take], None]
BLACK_LUMA = 12.0


@dataclass
class TakeBatch:
    takes: dict[str, list[Take]] = field(default_factory=dict)

    def best(self, shot_id: str) -> Take | None:
        """The highest-scoring successful take (ties: the earliest)."""
        ok = [t for t in self.takes.get(shot_id, []) if t.status is TakeStatus.SUCCEEDED]
        return max(ok, key=lambda t: t.score or 0.0, default=None)

    def failures(self) -> list[Take]:
        return [t for ts in self.takes.values() for t in ts if t.status is TakeStatus.FAILED]


def shot_seed(shot: Shot, take_index: int) -> int:
    return int(stable_hash([shot.prompt, shot.id]), 16) % 1_000_000 + take_index


def request_for(shot: Shot, seed: int, references: list[Path] | None = None) -> GenerationRequest:
    profile = default_profile(shot.provider, shot.model)
    duration = profile.fit_duration(shot.duration) or shot.duration
    return GenerationRequest(
        prompt=shot.prompt,
        duration=duration,
        aspect=shot.aspect,
        resolution=profile.resolutions[0],
        seed=seed,
        model=profile.model,
        reference_images=references or [],
        components=shot.components,
        text_overlay=shot.text_overlay if shot.kind == "live" else None,
        title=shot.text_overlay if shot.kind == "title" else None,
        kind=shot.kind,
    )


def take_input_hash(shot: Shot, index: int) -> str:
    """The key of take `index` of `shot`: same inputs, same take, never rendered (or paid) twice."""
    request = request_for(shot, shot_seed(shot, index))
    return stable_hash({"provider": shot.provider, "request": request.model_dump(mode="json")})


def quality_check(path: Path, request: GenerationRequest) -> tuple[float, list[str]]:
    """A score in [0, 1] and notes from take QC (tools.post.qc): black, frozen, flicker, wrong
    duration or aspect lose points. Title cards and animatic previz may be still."""
    from tools.post import qc

    still_ok = request.kind == "title" or (request.model or "").startswith("animatic")
    report = qc.check(
        path, duration_s=request.duration, aspect=request.aspect, allow_still=still_ok
    )
    return report.score, report.notes


async def _one_take(
    project_id: str,
    shot: Shot,
    index: int,
    store: ProjectStore,
    registry: Registry,
    take_dir: Path,
    limit: asyncio.Semaphore,
    on_event: TakeEvent | None,
) -> Take:
    request = request_for(shot, shot_seed(shot, index))
    input_hash = take_input_hash(shot, index)
    for existing in store.takes(project_id, shot.id):
        if existing.input_hash == input_hash and existing.status is TakeStatus.SUCCEEDED:
            if existing.file is not None and existing.file.exists():
                return existing
    reused = store.find_take_by_hash(input_hash)
    take = Take(
        id=f"t-{uuid.uuid4().hex[:10]}",
        project_id=project_id,
        shot_id=shot.id,
        provider=shot.provider,
        model=request.model,
        seed=request.seed,
        input_hash=input_hash,
    )
    if reused is not None and reused.file is not None:
        take.status, take.file, take.score = TakeStatus.SUCCEEDED, reused.file, reused.score
        take.qc_notes = [*reused.qc_notes, f"reused identical take {reused.id}"]
        store.save_take(take)
        return take
    provider = registry.get(shot.provider)
    profile = provider.profile(request.model)
    async with limit:
        store.save_take(take)
        try:
            take.job_id = await provider.submit(request)
            take.status = TakeStatus.SUBMITTED
            take.cost_usd = profile.price(request.duration)
            store.save_take(take)
            if take.cost_usd:
                store.record_spend(
                    SpendEntry(
                        project_id=project_id,
                        kind="submit",
                        amount_usd=take.cost_usd,
                        provider=shot.provider,
                        job_id=take.job_id,
                        take_id=take.id,
                    )
                )
            if on_event:
                on_event(shot, take)
            status = await wait_for_job(
                provider,
                take.job_id,
                interval_s=min(5.0, max(0.05, profile.typical_latency_s / 40)),
                timeout_s=max(600.0, profile.typical_latency_s * 20),
            )
            if status.state == "failed":
                raise ProviderError(status.error or f"{shot.provider} job failed")
            dest = take_dir / f"{take.id}.mp4"
            await provider.download(status, dest)
            take.file = dest
            take.score, take.qc_notes = await asyncio.to_thread(quality_check, dest, request)
            take.status = TakeStatus.SUCCEEDED
        except ProviderError as exc:
            take.status, take.error = TakeStatus.FAILED, str(exc)
        store.save_take(take)
    if on_event:
        on_event(shot, take)
    return take


async def generate_takes(
    project_id: str,
    shots: list[Shot],
    takes_per_shot: int,
    *,
    store: ProjectStore,
    registry: Registry,
    take_dir: Path,
    on_event: TakeEvent | None = None,
) -> TakeBatch:
    """Render `takes_per_shot` takes of every shot concurrently, within per-provider limits."""
    take_dir.mkdir(parents=True, exist_ok=True)
    limits = {
        pid: asyncio.Semaphore(default_profile(pid).max_concurrency)
        for pid in {s.provider for s in shots}
    }
    jobs = [
        _one_take(project_id, shot, i, store, registry, take_dir, limits[shot.provider], on_event)
        for shot in shots
        for i in range(takes_per_shot)
    ]
    batch = TakeBatch()
    for take in await asyncio.gather(*jobs):
        batch.takes.setdefault(take.shot_id, []).append(take)
    return batch
