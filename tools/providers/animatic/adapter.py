"""The offline animatic provider: real previz clips rendered locally with ffmpeg, free.

Jobs are keyed by their inputs: the job id is a hash of the request and names the output file,
so a re-submit reuses the clip and a job from an earlier process polls as succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from memory.models import stable_hash
from tools.post.runner import arun
from tools.providers import registry
from tools.providers.animatic import renderer as animatic
from tools.providers.base import (
    CapabilityProfile,
    GenerationRequest,
    JobState,
    JobStatus,
    ProviderError,
)
from tools.settings import Settings

log = logging.getLogger(__name__)

JOB_PREFIX = "anim-"
_JOB_ID = re.compile(r"^anim-[0-9a-f]{16}$")


@dataclass
class _Job:
    state: JobState = "queued"
    progress: float = 0.0
    error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class AnimaticProvider:
    """Renders each request as a 720p previz clip (see `tools.providers.animatic.renderer`)."""

    id = "animatic"

    def __init__(self, settings: Settings, *, fps: int = 24) -> None:
        self.settings = settings
        self.fps = fps
        self.work_dir = settings.media_dir / "animatic"
        self._jobs: dict[str, _Job] = {}
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def profile(self, model: str | None = None) -> CapabilityProfile:
        return registry.default_profile(self.id, model)

    def job_id(self, request: GenerationRequest) -> str:
        """The deterministic job id of `request`: the same inputs (reference images by their
        contents, not their paths) give the same id."""
        payload = request.model_dump(mode="json", exclude={"idempotency_key"})
        payload["reference_digests"] = [
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
            for p in request.reference_images
        ]
        return JOB_PREFIX + stable_hash(payload)

    def path_for(self, job_id: str) -> Path:
        """Where the clip of `job_id` is (or will be) on disk."""
        if not _JOB_ID.match(job_id):
            raise ProviderError(f"{job_id!r} is not an animatic job id")
        return self.work_dir / f"{job_id}.mp4"

    def _semaphore(self) -> asyncio.Semaphore:
        """The render slots of the running loop (a semaphore is bound to one loop)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.settings.render_concurrency))
        return self._slots[1]

    async def submit(self, request: GenerationRequest) -> str:
        limit = self.profile(request.model).max_duration
        if limit is not None and request.duration > limit:
            raise ProviderError(
                f"the animatic renders at most {limit:g}s per shot; got {request.duration:g}s"
            )
        for ref in request.reference_images[:1]:
            if not ref.is_file():
                raise ProviderError(f"reference image {ref} does not exist")
        job_id = self.job_id(request)
        job = self._jobs.get(job_id)
        if job is not None and job.state in ("queued", "running"):
            return job_id
        if self.path_for(job_id).is_file():
            self._jobs[job_id] = _Job(state="succeeded", progress=1.0)
            return job_id
        job = _Job()
        self._jobs[job_id] = job
        job.task = asyncio.create_task(self._render(job_id, request, job), name=job_id)
        return job_id

    async def _render(self, job_id: str, request: GenerationRequest, job: _Job) -> None:
        final = self.path_for(job_id)
        part = final.with_name(f"{job_id}.{os.getpid()}.part.mp4")
        try:
            async with self._semaphore():
                job.state = "running"
                await asyncio.to_thread(self.work_dir.mkdir, parents=True, exist_ok=True)
                width, height = animatic.previz_size(request.aspect)
                args = animatic.build_render_args(
                    request,
                    part,
                    fontfile=animatic.FONT,
                    width=width,
                    height=height,
                    fps=self.fps,
                )

                def progress(value: float) -> None:
                    job.progress = value

                await arun(
                    args,
                    ffmpeg=self.settings.ffmpeg,
                    duration_s=request.duration,
                    on_progress=progress,
                    timeout_s=max(120.0, request.duration * 20),
                )
                await asyncio.to_thread(os.replace, part, final)
        except asyncio.CancelledError:
            job.state, job.error = "failed", "render cancelled"
            _unlink(part)
            raise
        except Exception as exc:
            log.warning("animatic render %s failed: %s", job_id, exc)
            job.state, job.error = "failed", f"animatic render failed: {exc}"
            _unlink(part)
        else:
            job.state, job.progress = "succeeded", 1.0

    async def reconcile(self, request: GenerationRequest) -> str | None:
        """The job of an earlier submit of `request` (ids are derived from the request)."""
        job_id = self.job_id(request)
        if job_id in self._jobs or self.path_for(job_id).is_file():
            return job_id
        return None

    async def poll(self, job_id: str) -> JobStatus:
        try:
            path = self.path_for(job_id)
        except ProviderError as exc:
            return JobStatus(job_id=job_id, state="failed", error=str(exc))
        job = self._jobs.get(job_id)
        if job is None or (job.state == "succeeded" and not path.is_file()):
            if path.is_file():
                return JobStatus(
                    job_id=job_id, state="succeeded", progress=1.0, output_url=path.as_uri()
                )
            return JobStatus(
                job_id=job_id,
                state="failed",
                error=f"animatic job {job_id} has no rendered file at {path} (unknown to this "
                "process, or the file was deleted); submit the request again",
            )
        return JobStatus(
            job_id=job_id,
            state=job.state,
            progress=job.progress,
            error=job.error,
            output_url=path.as_uri() if job.state == "succeeded" else None,
        )

    async def download(self, status: JobStatus, dest: Path) -> Path:
        """Copy the finished clip to `dest` (a copy, so later edits to `dest` cannot touch the
        cached render)."""
        if status.state != "succeeded":
            raise ProviderError(f"animatic job {status.job_id} is {status.state}, not succeeded")
        src = self.path_for(status.job_id)
        if not src.is_file():
            raise ProviderError(f"animatic job {status.job_id} has no file at {src}")
        await asyncio.to_thread(_copy, src, dest)
        return dest

    async def aclose(self) -> None:
        tasks = [job.task for job in self._jobs.values() if job.task and not job.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and dest.samefile(src):
        return
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        _unlink(tmp)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def create(settings: Settings) -> AnimaticProvider:
    return AnimaticProvider(settings)
