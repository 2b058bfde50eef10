"""The one polling helper for long provider jobs: jittered backoff, server hints, overall timeout."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from tools.providers.base import JobStatus, ProviderError, VideoProvider

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class JobTimeout(ProviderError):
    def __init__(self, provider: str, job_id: str, waited_s: float) -> None:
        super().__init__(
            f"{provider} job {job_id} still running after {waited_s:.0f}s; "
            "`reelforge resume` keeps polling it without paying again",
            retryable=True,
        )
        self.job_id = job_id


async def wait_for_job(
    provider: VideoProvider,
    job_id: str,
    *,
    timeout_s: float = 1800.0,
    interval_s: float = 2.0,
    max_interval_s: float = 30.0,
    backoff: float = 1.5,
    jitter: float = 0.2,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = time.monotonic,
    rng: random.Random | None = None,
    on_status: Callable[[JobStatus], None] | None = None,
) -> JobStatus:
    """Poll until the job succeeds or fails. A server's retry-after hint wins over the backoff."""
    rng = rng or random.Random()
    started = clock()
    delay = interval_s
    while True:
        status = await provider.poll(job_id)
        if on_status is not None:
            on_status(status)
        if status.state in ("succeeded", "failed"):
            return status
        waited = clock() - started
        if waited >= timeout_s:
            raise JobTimeout(provider.id, job_id, waited)
        pause = status.retry_after_s if status.retry_after_s is not None else delay
        pause *= 1 + rng.uniform(-jitter, jitter)
        await sleep(max(0.0, min(pause, timeout_s - waited)))
        delay = min(max_interval_s, delay * backoff)
