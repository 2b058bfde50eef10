"""Google Veo on the Gemini API: `models/{model}:predictLongRunning`, then the operation.

Auth is the `x-goog-api-key` header (GEMINI_API_KEY or GOOGLE_API_KEY). Reference images go
inline as base64: the first is the first frame, a second the last frame. The output file is
downloaded with the key. The preview models were reported retired on 2026-10-22: a 404 from
the API becomes a "retired" error so the router falls back (Veo through Runway still works).
"""

from __future__ import annotations

import base64
import mimetypes
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.providers.base import ErrorKind, GenerationRequest, JobStatus, ProviderError
from tools.providers.http import (
    Endpoint,
    Failure,
    HttpVideoProvider,
    Sleep,
    connect,
    download_limit,
    json_or_text,
    kind_for_status,
    looks_like_moderation,
    retry_after,
)
from tools.settings import Settings

if TYPE_CHECKING:
    import httpx

ENDPOINT = Endpoint(
    "veo", "Google Veo", "GEMINI_API_KEY (or GOOGLE_API_KEY)", "check billing in AI Studio"
)
MAX_INLINE_IMAGE_BYTES = 20 * 1024 * 1024
_DELAY = re.compile(r"^(\d+(?:\.\d+)?)s$")


def classify(response: httpx.Response, op: str) -> Failure:
    body = json_or_text(response)
    err = body.get("error", {}) if isinstance(body, dict) else {}
    err = err if isinstance(err, dict) else {}
    message = str(err.get("message") or (body if isinstance(body, str) else ""))
    status_name = str(err.get("status", ""))
    status = response.status_code
    kind = kind_for_status(status)
    low = message.lower()
    wait = retry_after(response.headers)
    for detail in err.get("details") or []:
        delay = (
            _DELAY.match(str(detail.get("retryDelay", ""))) if isinstance(detail, dict) else None
        )
        if delay and wait is None:
            wait = float(delay.group(1))
    if "api key" in low or status_name in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
        kind = "auth"
    elif status == 429 and "billing" in low:
        kind = "credits"
    elif status == 404 and op != "submit":
        kind = "failed"
    elif status in (400, 403) and looks_like_moderation(low):
        kind = "moderation"
    text = f"{status_name}: {message}" if status_name else message
    return Failure(kind, text, status, wait)


def inline_image(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise ProviderError(f"reference image {path} does not exist", kind="invalid")
    raw = path.read_bytes()
    if len(raw) > MAX_INLINE_IMAGE_BYTES:
        raise ProviderError(f"reference image {path} is over 20 MB; resize it", kind="invalid")
    return {
        "bytesBase64Encoded": base64.b64encode(raw).decode(),
        "mimeType": mimetypes.guess_type(path.name)[0] or "image/png",
    }


class VeoProvider(HttpVideoProvider):
    id = "veo"
    send_auth_on_download = True  # files:download needs the API key

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
            settings.gemini_api_key,
            base_url=settings.veo_base_url,
            classify=classify,
            auth=lambda key: {"x-goog-api-key": key},
            transport=transport,
            client=client,
            timeout_s=timeout_s,
            sleep=sleep,
        )
        self.max_bytes = download_limit(settings)

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        profile = self.profile(request.model)
        duration = profile.fit_duration(request.duration) or max(profile.durations or [8])
        instance: dict[str, Any] = {"prompt": request.prompt}
        refs = request.reference_images
        if refs:
            instance["image"] = inline_image(refs[0])
        if len(refs) > 1:
            instance["lastFrame"] = inline_image(refs[1])
        parameters: dict[str, Any] = {
            "sampleCount": 1,
            "durationSeconds": int(duration),
            "aspectRatio": request.aspect,
            "resolution": request.resolution,
        }
        if request.negative_prompt:
            parameters["negativePrompt"] = request.negative_prompt
        return {"instances": [instance], "parameters": parameters}

    async def submit(self, request: GenerationRequest) -> str:
        model = self.model_name(request)
        response = await self.api.request(
            "POST",
            f"v1beta/models/{model}:predictLongRunning",
            op="submit",
            json=self.payload(request),
            model=model,
        )
        return str(response.json()["name"])

    async def poll(self, job_id: str) -> JobStatus:
        op = (await self.api.request("GET", f"v1beta/{job_id}", op="poll")).json()
        if not op.get("done"):
            return JobStatus(job_id=job_id, state="running")
        if "error" in op:
            err = op["error"]
            message = str(err.get("message", "no reason given"))
            kind: ErrorKind = "moderation" if looks_like_moderation(message) else "failed"
            return JobStatus(
                job_id=job_id,
                state="failed",
                error_kind=kind,
                error=f"Veo job failed: {message} (code {err.get('code')})",
            )
        result = (op.get("response") or {}).get("generateVideoResponse") or {}
        samples = result.get("generatedSamples") or []
        if not samples:
            reasons = "; ".join(result.get("raiMediaFilteredReasons") or []) or "no video returned"
            return JobStatus(
                job_id=job_id,
                state="failed",
                error_kind="moderation" if result.get("raiMediaFilteredCount") else "failed",
                error=f"Veo filtered the output ({reasons}); rephrase the prompt or try "
                "another model",
            )
        video = samples[0].get("video") or {}
        url = video.get("uri")
        if not url and video.get("encodedVideo"):
            url = f"data:{video.get('encoding', 'video/mp4')};base64,{video['encodedVideo']}"
        if not url:
            return JobStatus(job_id=job_id, state="failed", error="Veo returned no video")
        return JobStatus(job_id=job_id, state="succeeded", progress=1.0, output_url=url)

    async def download(self, status: JobStatus, dest: Path) -> Path:
        url = status.output_url or ""
        if status.state == "succeeded" and url.startswith("data:"):
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(base64.b64decode(url.partition(",")[2]))
            return dest
        return await super().download(status, dest)


def create(settings: Settings) -> VeoProvider:
    return VeoProvider(settings)
