"""Sandbox state shared by every fake: jobs on a clock, scripted faults, counters, clips.

Each fake (one module per provider) speaks its provider's wire protocol and asks this state
what should happen: which fault to play, where a job is in its lifecycle, which clip to serve.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

FaultKind = Literal[
    "rate_limit",  # 429 with Retry-After
    "server_error",  # 5xx (`status`)
    "hang",  # answer only after `seconds` (clients time out)
    "bad_key",  # 401 as for a wrong key
    "out_of_credits",  # the provider's out-of-credits answer
    "retired",  # the provider's unknown/retired-model answer
    "fail",  # the job runs and fails with `reason`
    "moderation",  # the job (or the create) is refused on content grounds
    "expire_url",  # the first output URL answers 403; re-polling gives a fresh one
    "slow_answer",  # the submit is accepted (and counted), its answer comes `seconds` later
]
Op = Literal["submit", "poll", "download", "any"]
JOB_FAULTS = ("fail", "moderation", "expire_url")
AFTER_ACCEPT = ("slow_answer",)
BAD_KEYS = frozenset({"bad", "invalid", "wrong"})


@dataclass
class Fault:
    provider: str  # provider id, or "*" for all
    kind: FaultKind
    on: Op = "submit"
    times: int = 1  # how many requests it hits; -1: until cleared
    retry_after: float = 1.0
    status: int = 503
    seconds: float = 5.0
    reason: str = "the sandbox was asked to fail this job"
    model: str | None = None

    def matches(self, provider: str, op: str) -> bool:
        return self.provider in ("*", provider) and (self.on in ("any", op))


@dataclass
class Job:
    provider: str
    model: str
    duration: float
    width: int
    height: int
    latency: float
    audio: bool = False
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: float = field(default_factory=time.monotonic)
    created_wall: float = field(default_factory=time.time)
    outcome: Literal["ok", "fail", "moderation"] = "ok"
    reason: str = ""
    expire_first_url: bool = False
    url_gen: int = 0
    request: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def phase(self, now: float | None = None) -> tuple[Literal["queued", "running", "done"], float]:
        """Where the job is: queued for the first 30% of its latency, then running, then done."""
        elapsed = (now if now is not None else time.monotonic()) - self.created
        if elapsed >= self.latency:
            return "done", 1.0
        if elapsed < 0.3 * self.latency:
            return "queued", 0.0
        return "running", round(min(0.99, elapsed / self.latency), 2)


def small_size(aspect_w: float, aspect_h: float, longest: int = 128) -> tuple[int, int]:
    """A tiny even frame size with the requested aspect."""
    w: float
    h: float
    if aspect_w >= aspect_h:
        w, h = longest, longest * aspect_h / aspect_w
    else:
        w, h = longest * aspect_w / aspect_h, longest
    return max(2, int(w) // 2 * 2), max(2, int(h) // 2 * 2)


def size_for_aspect(aspect: str) -> tuple[int, int]:
    a, _, b = aspect.replace("x", ":").partition(":")
    try:
        return small_size(float(a), float(b))
    except ValueError:
        return small_size(16, 9)


class Media:
    """Real tiny media rendered with the bundled ffmpeg, cached by parameters on disk."""

    def __init__(self, cache_dir: Path, ffmpeg: str | None = None) -> None:
        self.cache_dir = cache_dir
        self.ffmpeg = ffmpeg
        self._locks: dict[str, asyncio.Lock] = {}

    async def _render(self, name: str, args: Callable[[Path], list[str]]) -> Path:
        from tools.post.runner import arun

        path = self.cache_dir / name
        if path.is_file():
            return path
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            if path.is_file():
                return path
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            part = path.with_name(f".{uuid.uuid4().hex}{path.suffix}")
            await arun(args(part), ffmpeg=self.ffmpeg, timeout_s=60)
            part.replace(path)
        return path

    async def video(self, width: int, height: int, duration: float, audio: bool = False) -> Path:
        d = f"{max(0.1, duration):.2f}"

        def args(out: Path) -> list[str]:
            cmd = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=12:duration={d}"]
            if audio:
                cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={d}"]
            cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
            if audio:
                cmd += ["-c:a", "aac", "-b:a", "32k", "-shortest"]
            return [*cmd, "-movflags", "+faststart", str(out)]

        return await self._render(f"clip-{width}x{height}-{d}-{int(audio)}.mp4", args)

    async def audio(self, duration: float, fmt: str = "mp3", frequency: int = 330) -> Path:
        d = f"{min(30.0, max(0.2, duration)):.2f}"
        codec = {"mp3": ["-c:a", "libmp3lame", "-b:a", "32k"], "wav": ["-c:a", "pcm_s16le"]}
        fmt = fmt if fmt in codec else "mp3"

        def args(out: Path) -> list[str]:
            src = f"sine=frequency={frequency}:duration={d}"
            return ["-f", "lavfi", "-i", src, *codec[fmt], str(out)]

        return await self._render(f"audio-{frequency}-{d}.{fmt}", args)

    def png(self, width: int, height: int, seed: str) -> bytes:
        import io

        from PIL import Image

        digest = hashlib.sha256(seed.encode()).digest()
        image = Image.new("RGB", (width, height), (digest[0], digest[1], digest[2]))
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class State:
    """Everything the fakes share. Thread-safe: tests configure it from another thread."""

    def __init__(self, media: Media, *, latency: float = 0.0) -> None:
        self.media = media
        self.latency = latency
        self._lock = threading.Lock()
        self.epoch = 0  # bumped by reset()
        self.faults: list[Fault] = []
        self.jobs: dict[str, Job] = {}
        self.submissions: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.retired: set[str] = set()

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            if fault.kind == "retired" and fault.model is not None and fault.times < 0:
                self.retired.add(fault.model)
            else:
                self.faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.retired.clear()

    def reset(self) -> None:
        with self._lock:
            self.epoch += 1  # a hung request from before the reset must not count after it
            self.faults.clear()
            self.retired.clear()
            self.jobs.clear()
            self.submissions.clear()
            self.requests.clear()
            self.rejected.clear()

    def take(self, provider: str, op: str, *, kinds: tuple[str, ...] | None = None) -> Fault | None:
        """Consume the first fault that applies to this request, if any."""
        with self._lock:
            for fault in self.faults:
                if not fault.matches(provider, op):
                    continue
                if kinds is not None and fault.kind not in kinds:
                    continue
                if kinds is None and fault.kind in (*JOB_FAULTS, *AFTER_ACCEPT):
                    continue
                if fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                return fault
        return None

    def is_retired(self, model: str) -> bool:
        with self._lock:
            return model in self.retired

    def count(self, provider: str) -> None:
        with self._lock:
            self.requests[provider] += 1

    def submitted(self, provider: str) -> None:
        """Count a synchronous (no job) paid request."""
        with self._lock:
            self.submissions[provider] += 1

    def new_job(self, job: Job) -> Job:
        """Register an accepted submission, attaching any scripted job-level fault."""
        fault = self.take(job.provider, "submit", kinds=JOB_FAULTS)
        if fault is not None:
            if fault.kind == "expire_url":
                job.expire_first_url = True
            else:
                job.outcome = "fail" if fault.kind == "fail" else "moderation"
                job.reason = fault.reason
        with self._lock:
            self.jobs[job.id] = job
            self.submissions[job.provider] += 1
        return job

    async def answer_late(self, provider: str) -> None:
        """After accepting a submit: hold the answer back if a `slow_answer` is scripted (a
        client killed or timing out meanwhile never learns the job id)."""
        fault = self.take(provider, "submit", kinds=AFTER_ACCEPT)
        if fault is not None:
            await asyncio.sleep(fault.seconds)

    def job(self, job_id: str, provider: str) -> Job | None:
        job = self.jobs.get(job_id)
        return job if job is not None and job.provider == provider else None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "submissions": dict(self.submissions),
                "requests": dict(self.requests),
                "rejected": dict(self.rejected),
                "jobs": len(self.jobs),
                "faults": [asdict(f) for f in self.faults],
                "retired": sorted(self.retired),
                "latency": self.latency,
            }

    # -- helpers the fakes use --------------------------------------------------------------

    def cdn_url(self, request: web.Request, prefix: str, job: Job) -> str:
        """A signed-looking, expiring output URL on the fake CDN."""
        token = hashlib.sha256(f"{job.id}:{job.url_gen}".encode()).hexdigest()[:16]
        return f"{origin(request)}/{prefix}/_cdn/{job.id}/{job.url_gen}.mp4?_jwt={token}"

    def cdn_handler(self, provider: str, expired: Callable[[], web.StreamResponse]) -> Handler:
        """Serves job outputs at `/<prefix>/_cdn/{job}/{gen}.mp4`."""

        async def handler(request: web.Request) -> web.StreamResponse:
            job = self.job(request.match_info["job"], provider)
            gen = int(request.match_info["gen"])
            return await self.serve_output(provider, job, gen, expired)

        return handler

    async def serve_output(
        self,
        provider: str,
        job: Job | None,
        gen: int,
        expired: Callable[[], web.StreamResponse],
    ) -> web.StreamResponse:
        """A job's clip; plays download faults, and expires URLs of an earlier generation."""
        if job is None:
            return expired()
        fault = await self.play(provider, "download")
        if fault is not None:
            status = fault.status if fault.kind == "server_error" else 429
            return web.Response(status=status, headers={"Retry-After": f"{fault.retry_after:g}"})
        if gen < job.url_gen:
            return expired()
        if job.expire_first_url and gen == 0:
            job.expire_first_url = False
            job.url_gen += 1
            return expired()
        path = await self.media.video(job.width, job.height, job.duration, job.audio)
        return web.FileResponse(path, headers={"Content-Type": "video/mp4"})

    async def play(self, provider: str, op: str) -> Fault | None:
        """The request-level fault for this request, if one is scripted. A hang is played here
        (the answer comes late); the others are returned for the fake to answer in its
        provider's error shape."""
        self.count(provider)
        fault = self.take(provider, op)
        if fault is None:
            return None
        if fault.kind == "hang":
            epoch = self.epoch
            await asyncio.sleep(fault.seconds)
            if self.epoch != epoch:  # reset meanwhile: its client is gone, and so is its count
                raise web.HTTPServiceUnavailable(text="sandbox reset while this request hung")
            return None
        with self._lock:
            self.rejected[provider] += 1
        return fault


def origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def bearer(request: web.Request) -> str | None:
    value = request.headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def iso(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat().replace("+00:00", "Z")
