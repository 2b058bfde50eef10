"""Pika 2.2 through fal's queue API (`Authorization: Key FAL_KEY`).

Submit `POST {queue}/fal-ai/pika/v2.2/{text,image}-to-video`; poll the returned `status_url`;
on COMPLETED fetch `response_url` for `video.url`. The job id is the request's path under the
queue host (`fal-ai/pika/requests/<id>`, as fal-client's `from_request_id` builds it), so a
later process can poll it without the submit response. Images go as `data:` URIs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tools.providers.base import GenerationRequest, JobStatus, ProviderError
from tools.providers.http import (
    Endpoint,
    Failure,
    HttpVideoProvider,
    Sleep,
    connect,
    data_uri,
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

ENDPOINT = Endpoint("pika", "Pika (fal)", "FAL_KEY", "top up at fal.ai/dashboard/billing")


def _detail_text(raw: Any) -> tuple[str, bool]:
    """fal's `detail` (string or a list of errors) as text, and whether it is a content refusal."""
    if isinstance(raw, list):
        moderation = any(
            isinstance(e, dict) and e.get("type") == "content_policy_violation" for e in raw
        )
        return error_text(raw), moderation
    return error_text(raw), False


def classify(response: httpx.Response, op: str) -> Failure:
    body = json_or_text(response)
    raw = body.get("detail", body) if isinstance(body, dict) else body
    detail, moderation = _detail_text(raw)
    moderation = moderation or response.headers.get("x-fal-error-type") == (
        "content_policy_violation"
    )
    status = response.status_code
    kind = kind_for_status(status)
    low = detail.lower()
    if moderation:
        kind = "moderation"
    elif "balance" in low or "credit" in low:
        kind = "credits"
    elif status == 404 and op != "submit":
        kind = "failed"
    elif status >= 500 and response.headers.get("x-fal-retryable", "").lower() == "false":
        kind = "failed"
    return Failure(kind, detail, status, retry_after(response.headers))


class PikaProvider(HttpVideoProvider):
    id = "pika"

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 60.0,
        sleep: Sleep | None = None,
    ) -> None:
        self.api = connect(
            ENDPOINT,
            settings.fal_key,
            base_url=settings.fal_base_url,
            classify=classify,
            auth=lambda key: {"Authorization": f"Key {key}"},
            transport=transport,
            client=client,
            timeout_s=timeout_s,
            sleep=sleep,
        )
        self.max_bytes = download_limit(settings)
        self._urls: dict[str, tuple[str, str]] = {}  # job id -> (status_url, response_url)

    def payload(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        profile = self.profile(request.model)
        duration = profile.fit_duration(request.duration) or max(profile.durations or [10])
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "resolution": request.resolution if request.resolution == "1080p" else "720p",
            "duration": int(duration),
            "seed": request.seed,
        }
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt
        base = self.model_name(request).rstrip("/")
        if request.reference_images:
            body["image_url"] = data_uri(request.reference_images[0], label="fal")
            return f"{base}/image-to-video", body
        body["aspect_ratio"] = request.aspect
        return f"{base}/text-to-video", body

    async def submit(self, request: GenerationRequest) -> str:
        endpoint, body = self.payload(request)
        response = await self.api.request("POST", endpoint, op="submit", json=body, model=endpoint)
        request_id = self.api.field(response, "submit", "request_id")
        data = self.api.json_object(response, "submit")
        owner, alias = endpoint.split("/")[:2]
        job_id = f"{owner}/{alias}/requests/{request_id}"
        status_url, response_url = data.get("status_url"), data.get("response_url")
        if isinstance(status_url, str) and isinstance(response_url, str):
            self._urls[job_id] = (status_url, response_url)
        return job_id

    def _status_and_result(self, job_id: str) -> tuple[str, str]:
        return self._urls.get(job_id) or (f"{job_id}/status", job_id)

    async def poll(self, job_id: str) -> JobStatus:
        status_url, response_url = self._status_and_result(job_id)
        answer = await self.api.request("GET", status_url, op="poll", params={"logs": "0"})
        data = self.api.json_object(answer, "poll")
        status = data.get("status")
        if status == "IN_QUEUE":
            return JobStatus(job_id=job_id, state="queued")
        if status == "IN_PROGRESS":
            return JobStatus(job_id=job_id, state="running")
        if status != "COMPLETED":
            raise ProviderError(f"fal returned an unknown queue status {status!r}")
        try:
            answer = await self.api.request("GET", response_url, op="result")
            result = self.api.json_object(answer, "poll")
        except ProviderError as exc:
            kind = exc.kind if exc.kind == "moderation" else "failed"
            return JobStatus(job_id=job_id, state="failed", error_kind=kind, error=str(exc))
        if data.get("error"):
            reason = error_text(data["error"]) or "no reason given"
            kind = "moderation" if looks_like_moderation(reason) else "failed"
            return JobStatus(
                job_id=job_id, state="failed", error_kind=kind, error=f"Pika job failed: {reason}"
            )
        url = dig(result, "video", "url")
        if not isinstance(url, str) or not url:
            return JobStatus(job_id=job_id, state="failed", error="Pika returned no video")
        return JobStatus(job_id=job_id, state="succeeded", progress=1.0, output_url=url)


def create(settings: Settings) -> PikaProvider:
    return PikaProvider(settings)
