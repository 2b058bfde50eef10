from __future__ import annotations

import random
from pathlib import Path

import pytest

from tools.providers.base import CapabilityProfile, GenerationRequest, JobStatus
from tools.providers.polling import JobTimeout, wait_for_job


class ScriptedJob:
    """A provider whose poll answers come from a script."""

    id = "fake"

    def __init__(self, states: list[JobStatus]) -> None:
        self.states = states
        self.polls = 0

    def profile(self, model: str | None = None) -> CapabilityProfile:
        raise NotImplementedError

    async def submit(self, request: GenerationRequest) -> str:
        return "job"

    async def poll(self, job_id: str) -> JobStatus:
        self.polls += 1
        return self.states[min(self.polls - 1, len(self.states) - 1)]

    async def download(self, status: JobStatus, dest: Path) -> Path:
        return dest

    async def aclose(self) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def running(retry_after: float | None = None) -> JobStatus:
    return JobStatus(job_id="job", state="running", retry_after_s=retry_after)


async def test_backs_off_honours_server_hints_and_returns_terminal_status() -> None:
    done = JobStatus(job_id="job", state="succeeded", output_url="u")
    job = ScriptedJob([running(), running(), running(retry_after=7.0), done])
    clock = Clock()
    status = await wait_for_job(
        job, "job", interval_s=1.0, backoff=2.0, jitter=0.0, sleep=clock.sleep, clock=clock
    )
    assert status == done and job.polls == 4
    assert clock.sleeps == [1.0, 2.0, 7.0]


async def test_jitter_stays_within_bounds() -> None:
    job = ScriptedJob([running()] * 20 + [JobStatus(job_id="job", state="failed", error="x")])
    clock = Clock()
    await wait_for_job(
        job,
        "job",
        interval_s=1.0,
        backoff=1.0,
        jitter=0.2,
        sleep=clock.sleep,
        clock=clock,
        rng=random.Random(4),
    )
    assert all(0.8 <= s <= 1.2 for s in clock.sleeps) and len(set(clock.sleeps)) > 1


async def test_overall_timeout_names_resume() -> None:
    clock = Clock()
    with pytest.raises(JobTimeout, match="reelforge resume"):
        await wait_for_job(
            ScriptedJob([running()]),
            "job",
            timeout_s=10,
            interval_s=3,
            backoff=1.0,
            jitter=0.0,
            sleep=clock.sleep,
            clock=clock,
        )
    assert clock.now == pytest.approx(10)
