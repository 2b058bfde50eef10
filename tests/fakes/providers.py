"""A fake paid video provider for agent and Slack tests."""

from __future__ import annotations

from pathlib import Path

from tools.providers.base import GenerationRequest, JobStatus
from tools.providers.registry import default_profile


class FakePaidProvider:
    """Poses as Runway: counts submissions, renders a tiny real clip on download."""

    id = "runway"

    def __init__(self) -> None:
        self.submits: list[GenerationRequest] = []

    def profile(self, model: str | None = None):  # type: ignore[no-untyped-def]
        return default_profile("runway", model)

    async def submit(self, request: GenerationRequest) -> str:
        self.submits.append(request)
        return f"job-{len(self.submits)}"

    async def poll(self, job_id: str) -> JobStatus:
        return JobStatus(job_id=job_id, state="succeeded", output_url=f"fake://{job_id}")

    async def download(self, status: JobStatus, dest: Path) -> Path:
        from tools.post.runner import arun

        dest.parent.mkdir(parents=True, exist_ok=True)
        size = "360x640"
        await arun(
            [
                "-f",
                "lavfi",
                "-i",
                f"testsrc=size={size}:rate=24:duration=4",
                "-pix_fmt",
                "yuv420p",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                str(dest),
            ]
        )
        return dest

    async def aclose(self) -> None:
        return None
