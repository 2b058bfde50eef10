"""Runway API adapter (gen4.5, and Veo through Runway): text_to_video / image_to_video tasks.

Auth is `Authorization: Bearer RUNWAYML_API_SECRET` plus `X-Runway-Version`. Reference images
go inline as `data:` URIs (Runway accepts up to 5 MB). Output URLs expire in 24-48 h; fetching
the task again gives fresh ones, which `download` does on a 403.
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

API_VERSION = "2024-11-06"
ENDPOINT = Endpoint(
    "runway",
    "Runway",
    "RUNWAYML_API_SECRET",
    "buy credits at dev.runwayml.com",
)
# Runway ratios by aspect; Veo models on Runway take their own set.
RATIOS = {"16:9": "1280:720", "9:16": "720:1280", "1:1": "960:960"}
VEO_MODELS = ("veo3.1", "veo3.1_fast", "veo3")
LAST_FRAME_MODELS = ("veo3.1", "veo3.1_fast")
MAX_DATA_URI_BYTES = 5 * 1024 * 1024 * 3 // 4  # 5 MB once base64-encoded


def classify(response: httpx.Response, op: str) -> Failure:
    body = json_or_text(response)
    detail = error_text(body)
    issues = body.get("issues") if isinstance(body, dict) else None
    if isinstance(issues, list) and issues:
        detail = f"{detail}: " + "; ".join(
            f"{'.'.join(str(p) for p in i.get('path') or [])} {error_text(i.get('message'))}".strip()
            for i in issues
            if isinstance(i, dict)
        )
    status = response.status_code
    kind = kind_for_status(status)
    low = detail.lower()
    if status == 404 and op != "submit":
        kind = "failed"
        detail = detail or "task not found (deleted, or created with another key)"
    elif status == 400 and "credit" in low:
        kind = "credits"
    elif status == 400 and looks_like_moderation(low):
        kind = "moderation"
    elif status in (400, 404) and "model" in low and op == "submit":
        kind = "retired" if status == 404 or "no longer" in low or "invalid" in low else "invalid"
    return Failure(kind, str(detail), status, retry_after(response.headers))


class RunwayProvider(HttpVideoProvider):
    id = "runway"

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
            settings.runwayml_api_secret,
            base_url=settings.runway_base_url,
            classify=classify,
            auth=lambda key: {"Authorization": f"Bearer {key}", "X-Runway-Version": API_VERSION},
            transport=transport,
            client=client,
            timeout_s=timeout_s,
            sleep=sleep,
        )
        self.max_bytes = download_limit(settings)

    def payload(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        """The endpoint and JSON body for `request` (pure, for tests and dry runs)."""
        model = self.model_name(request)
        veo = model in VEO_MODELS
        ratio = RATIOS.get(request.aspect)
        if ratio is None or (veo and request.aspect == "1:1"):
            raise ProviderError(f"Runway {model} cannot render {request.aspect}", kind="invalid")
        body: dict[str, Any] = {
            "model": model,
            "promptText": request.prompt,
            "ratio": ratio,
            "duration": int(round(request.duration)),
        }
        if veo:
            if request.negative_prompt:
                body["negativePrompt"] = request.negative_prompt
        else:
            body["seed"] = request.seed
        refs = request.reference_images
        if not refs:
            return "v1/text_to_video", body
        first = data_uri(refs[0], max_bytes=MAX_DATA_URI_BYTES, label="Runway")
        if len(refs) > 1 and model in LAST_FRAME_MODELS:
            last = data_uri(refs[1], max_bytes=MAX_DATA_URI_BYTES, label="Runway")
            body["promptImage"] = [
                {"uri": first, "position": "first"},
                {"uri": last, "position": "last"},
            ]
        else:
            body["promptImage"] = first
        return "v1/image_to_video", body

    async def submit(self, request: GenerationRequest) -> str:
        path, body = self.payload(request)
        response = await self.api.request(
            "POST", path, op="submit", json=body, model=str(body["model"])
        )
        return self.api.field(response, "submit", "id")

    async def poll(self, job_id: str) -> JobStatus:
        response = await self.api.request("GET", f"v1/tasks/{job_id}", op="poll")
        task = self.api.json_object(response, "poll")
        status = task.get("status")
        if status in ("PENDING", "THROTTLED"):
            return JobStatus(job_id=job_id, state="queued")
        if status == "RUNNING":
            progress = task.get("progress")
            progress = progress if isinstance(progress, int | float) else None
            return JobStatus(job_id=job_id, state="running", progress=progress)
        if status == "SUCCEEDED":
            outputs = task.get("output")
            if not isinstance(outputs, list) or not outputs or not isinstance(outputs[0], str):
                return JobStatus(
                    job_id=job_id, state="failed", error="Runway task succeeded with no output"
                )
            return JobStatus(job_id=job_id, state="succeeded", progress=1.0, output_url=outputs[0])
        if status == "CANCELLED":
            return JobStatus(
                job_id=job_id, state="failed", error="Runway task was cancelled or deleted"
            )
        code = str(task.get("failureCode") or "")
        reason = error_text(task.get("failure")) or "no reason given"
        if code.startswith("SAFETY"):
            return JobStatus(
                job_id=job_id,
                state="failed",
                error_kind="moderation",
                error=f"Runway refused the shot on content grounds ({reason}; {code}); "
                "rephrase the prompt or try another model",
            )
        suffix = f" [{code}]" if code else ""
        return JobStatus(
            job_id=job_id,
            state="failed",
            error_kind="failed",
            error=f"Runway job failed: {reason}{suffix}",
        )


def create(settings: Settings) -> RunwayProvider:
    return RunwayProvider(settings)
