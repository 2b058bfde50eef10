"""Luma Dream Machine adapter (ray-2): `POST /generations/video`, `GET /generations/{id}`.

Luma takes keyframe images only as public URLs, so image-to-video needs an `image_url`
callable that publishes a local file and returns its URL; without one a request with
reference images is refused with a clear message rather than rendered without them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.providers.base import GenerationRequest, JobStatus, ProviderError
from tools.providers.http import (
    Endpoint,
    Failure,
    HttpVideoProvider,
    Sleep,
    connect,
    dig,
    download_limit,
    error_text,
    json_or_text,
    kind_for_status,
    looks_like_moderation,
    retry_after,
)
from tools.settings import Settings

if TYPE_CHECKING:
    import httpx

ENDPOINT = Endpoint("luma", "Luma", "LUMAAI_API_KEY", "add credits at lumalabs.ai/api")
ImageURL = Callable[[Path], Awaitable[str]]


def classify(response: httpx.Response, op: str) -> Failure:
    body = json_or_text(response)
    raw = body.get("detail", "") if isinstance(body, dict) else body
    if isinstance(raw, list):
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc') or [])}: {error_text(e.get('msg'))}"
            for e in raw
            if isinstance(e, dict)
        )
    else:
        detail = error_text(raw)
    status = response.status_code
    kind = kind_for_status(status)
    low = detail.lower()
    if status == 404 and op != "submit":
        kind, detail = "failed", detail or "generation not found"
    elif "credit" in low or status == 402:
        kind = "credits"
    elif status in (400, 422) and looks_like_moderation(low):
        kind = "moderation"
    elif status == 400 and "model" in low and ("no longer" in low or "not" in low):
        kind = "retired"
    return Failure(kind, detail, status, retry_after(response.headers))


class LumaProvider(HttpVideoProvider):
    id = "luma"

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 60.0,
        sleep: Sleep | None = None,
        image_url: ImageURL | None = None,
    ) -> None:
        self.api = connect(
            ENDPOINT,
            settings.lumaai_api_key,
            base_url=settings.luma_base_url,
            classify=classify,
            auth=lambda key: {"Authorization": f"Bearer {key}"},
            transport=transport,
            client=client,
            timeout_s=timeout_s,
            sleep=sleep,
        )
        self.image_url = image_url
        self.max_bytes = download_limit(settings)

    async def payload(self, request: GenerationRequest) -> dict[str, Any]:
        profile = self.profile(request.model)
        duration = profile.fit_duration(request.duration) or request.duration
        body: dict[str, Any] = {
            "generation_type": "video",
            "model": self.model_name(request),
            "prompt": request.prompt,
            "aspect_ratio": request.aspect,
            "duration": f"{int(round(duration))}s",
            "resolution": request.resolution,
        }
        refs = request.reference_images
        if refs:
            if self.image_url is None:
                raise ProviderError(
                    "Luma takes reference images only as public URLs and no image host is "
                    "configured; use Runway, Kling or Pika for image-to-video, or drop the "
                    "reference",
                    kind="invalid",
                )
            frames = {}
            for name, ref in zip(("frame0", "frame1"), refs, strict=False):
                frames[name] = {"type": "image", "url": await self.image_url(ref)}
            body["keyframes"] = frames
        return body

    async def submit(self, request: GenerationRequest) -> str:
        body = await self.payload(request)
        response = await self.api.request(
            "POST", "generations/video", op="submit", json=body, model=body["model"]
        )
        return self.api.field(response, "submit", "id")

    async def poll(self, job_id: str) -> JobStatus:
        response = await self.api.request("GET", f"generations/{job_id}", op="poll")
        gen = self.api.json_object(response, "poll")
        state = gen.get("state")
        if state == "queued":
            return JobStatus(job_id=job_id, state="queued")
        if state == "dreaming":
            return JobStatus(job_id=job_id, state="running")
        if state == "completed":
            url = dig(gen, "assets", "video")
            if not isinstance(url, str) or not url:
                return JobStatus(
                    job_id=job_id, state="failed", error="Luma generation completed with no video"
                )
            return JobStatus(job_id=job_id, state="succeeded", progress=1.0, output_url=url)
        if state == "failed":
            reason = error_text(gen.get("failure_reason")) or "no reason given"
            if looks_like_moderation(reason):
                return JobStatus(
                    job_id=job_id,
                    state="failed",
                    error_kind="moderation",
                    error=f"Luma refused the shot on content grounds ({reason}); rephrase the "
                    "prompt or try another model",
                )
            return JobStatus(
                job_id=job_id,
                state="failed",
                error_kind="failed",
                error=f"Luma job failed: {reason}",
            )
        raise ProviderError(f"Luma returned an unknown generation state {state!r}")


def create(settings: Settings) -> LumaProvider:
    return LumaProvider(settings)
