"""Google Veo on Vertex AI (the live route) and on the Gemini API (previews, reported retired).

Vertex AI, as the google-genai SDK calls it in vertexai mode:
`POST v1/projects/P/locations/L/publishers/google/models/M:predictLongRunning`, then
`POST v1/{model path}:fetchPredictOperation {"operationName"}` until `done`; the video comes back
inline (`response.videos[0].bytesBase64Encoded`). Auth is a service account's OAuth token
(GOOGLE_CLOUD_PROJECT + GOOGLE_APPLICATION_CREDENTIALS) or, in Vertex "express" mode, an API key
(GOOGLE_API_KEY with GOOGLE_GENAI_USE_VERTEXAI=true) on `v1/publishers/google/models/M`.

Gemini API: `v1beta/models/{model}:predictLongRunning`, then the operation; `x-goog-api-key`.
The preview models were reported retired on 2026-10-22: a 404 becomes a "retired" error.
Reference images go inline as base64: the first is the first frame, a second the last frame.
"""

from __future__ import annotations

import asyncio
import base64
import mimetypes
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tools.providers.base import ErrorKind, GenerationRequest, JobStatus, ProviderError
from tools.providers.http import (
    Api,
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
VERTEX = Endpoint(
    "veo",
    "Google Veo (Vertex AI)",
    "GOOGLE_CLOUD_PROJECT + GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_API_KEY with "
    "GOOGLE_GENAI_USE_VERTEXAI=true)",
    "check billing on the Google Cloud project",
)
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
MAX_INLINE_IMAGE_BYTES = 20 * 1024 * 1024
VertexMode = Literal["service_account", "api_key"]


def vertex_mode(settings: Settings) -> VertexMode | None:
    """How Veo is reached on Vertex AI with these settings, or None when it is not."""
    if settings.google_cloud_project and settings.google_application_credentials:
        return "service_account"
    if settings.google_genai_use_vertexai and settings.gemini_api_key is not None:
        return "api_key"
    return None


def unavailable(settings: Settings) -> str | None:
    """None when Veo can run; otherwise why not, naming the fix."""
    if vertex_mode(settings) is not None:
        return None
    if settings.gemini_api_key is not None:
        return (
            "veo on the Gemini API is reported retired (2026-10-22); set "
            "GOOGLE_GENAI_USE_VERTEXAI=true to use the key on Vertex AI"
        )
    return (
        "veo is not configured (set GOOGLE_CLOUD_PROJECT and GOOGLE_APPLICATION_CREDENTIALS, "
        "or GOOGLE_API_KEY with GOOGLE_GENAI_USE_VERTEXAI=true)"
    )


def vertex_base_url(settings: Settings) -> str:
    if settings.veo_vertex_base_url:
        return settings.veo_vertex_base_url
    location = settings.google_cloud_location
    if vertex_mode(settings) == "api_key" or location == "global":
        return "https://aiplatform.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def is_gemini_model(model: str) -> bool:
    """The Gemini API previews end in -preview; Vertex AI serves the GA (-001) models."""
    return model.endswith("-preview")


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
        credentials: Any = None,
    ) -> None:
        self.settings = settings
        self.mode = vertex_mode(settings)
        self.credentials = credentials
        self.max_bytes = download_limit(settings)
        self._gemini: Api | None = None
        self._vertex: Api | None = None
        self._client_kw: dict[str, Any] = {
            "transport": transport,
            "client": client,
            "timeout_s": timeout_s,
            "sleep": sleep,
        }
        if settings.gemini_api_key is not None and self.mode != "api_key":
            self._gemini = self.api = connect(
                ENDPOINT,
                settings.gemini_api_key,
                base_url=settings.veo_base_url,
                classify=classify,
                auth=lambda key: {"x-goog-api-key": key},
                **self._client_kw,
            )
        if self.mode is not None:
            key = settings.gemini_api_key if self.mode == "api_key" else None
            self._vertex = connect(
                VERTEX,
                key if key is not None else _token_placeholder(),
                base_url=vertex_base_url(settings),
                classify=classify,
                auth=(lambda k: {"x-goog-api-key": k}) if key is not None else (lambda _: {}),
                **self._client_kw,
            )
            if self._gemini is None:
                self.api = self._vertex
        if self._gemini is None and self._vertex is None:
            self.api = connect(
                ENDPOINT,
                settings.gemini_api_key,
                base_url=settings.veo_base_url,
                classify=classify,
                **self._client_kw,
            )  # raises: no key at all, naming the variables

    # -- Vertex AI ------------------------------------------------------------------------------

    def model_path(self, model: str) -> str:
        if self.mode == "service_account":
            project, location = (
                self.settings.google_cloud_project,
                self.settings.google_cloud_location,
            )
            return f"projects/{project}/locations/{location}/publishers/google/models/{model}"
        return f"publishers/google/models/{model}"

    async def _auth(self) -> dict[str, str]:
        """The service account's bearer token, refreshed when it has expired."""
        if self.mode != "service_account":
            return {}
        if self.credentials is None:
            from google.oauth2 import service_account

            self.credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                str(self.settings.google_application_credentials), scopes=SCOPES
            )
        creds = self.credentials
        if not creds.valid:
            from google.auth.transport.requests import Request

            try:
                await asyncio.to_thread(creds.refresh, Request())
            except Exception as exc:  # google.auth raises its own hierarchy
                raise ProviderError(
                    f"Google Veo (Vertex AI) could not get a token for the service account: {exc}",
                    kind="auth",
                ) from None
        return {"Authorization": f"Bearer {creds.token}"}

    def vertex_payload(self, request: GenerationRequest) -> dict[str, Any]:
        body = self.payload(request)
        parameters = body["parameters"]
        parameters["generateAudio"] = True  # Veo 3 speaks the line and plays the scene's sound
        parameters["personGeneration"] = "allow_adult"
        if request.seed is not None:
            parameters["seed"] = int(request.seed) % 4_294_967_296
        return body

    async def _vertex_submit(self, request: GenerationRequest, model: str) -> str:
        assert self._vertex is not None
        response = await self._vertex.request(
            "POST",
            f"v1/{self.model_path(model)}:predictLongRunning",
            op="submit",
            json=self.vertex_payload(request),
            headers=await self._auth(),
            model=model,
        )
        return self._vertex.field(response, "submit", "name")

    async def _vertex_poll(self, job_id: str) -> JobStatus:
        assert self._vertex is not None
        resource = job_id.rpartition("/operations/")[0]
        op = self._vertex.json_object(
            await self._vertex.request(
                "POST",
                f"v1/{resource}:fetchPredictOperation",
                op="poll",
                json={"operationName": job_id},
                headers=await self._auth(),
            ),
            "poll",
        )
        if not op.get("done"):
            return JobStatus(job_id=job_id, state="running")
        if "error" in op:
            return _failed(job_id, op["error"])
        result = op.get("response") or {}
        videos = result.get("videos") or []
        if not videos:
            reasons = "; ".join(result.get("raiMediaFilteredReasons") or []) or "no video returned"
            return JobStatus(
                job_id=job_id,
                state="failed",
                error_kind="moderation" if result.get("raiMediaFilteredCount") else "failed",
                error=f"Veo filtered the output ({reasons}); rephrase the prompt or try "
                "another model",
            )
        video = videos[0]
        if video.get("bytesBase64Encoded"):
            mime = video.get("mimeType", "video/mp4")
            url = f"data:{mime};base64,{video['bytesBase64Encoded']}"
            return JobStatus(job_id=job_id, state="succeeded", progress=1.0, output_url=url)
        return JobStatus(
            job_id=job_id,
            state="failed",
            error=f"Veo wrote the video to {video.get('gcsUri')}; reelforge reads inline results "
            "only (no storageUri is sent)",
        )

    async def aclose(self) -> None:
        for api in {id(a): a for a in (self._gemini, self._vertex, self.api) if a}.values():
            await api.aclose()

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
        if self._vertex is not None and not is_gemini_model(model):
            return await self._vertex_submit(request, model)
        if self._gemini is None:
            raise ProviderError(unavailable(self.settings) or "veo is not configured", kind="auth")
        response = await self.api.request(
            "POST",
            f"v1beta/models/{model}:predictLongRunning",
            op="submit",
            json=self.payload(request),
            model=model,
        )
        return self.api.field(response, "submit", "name")

    async def poll(self, job_id: str) -> JobStatus:
        if "/publishers/" in f"/{job_id}" and self._vertex is not None:
            return await self._vertex_poll(job_id)
        op = self.api.json_object(
            await self.api.request("GET", f"v1beta/{job_id}", op="poll"), "poll"
        )
        if not op.get("done"):
            return JobStatus(job_id=job_id, state="running")
        if "error" in op:
            return _failed(job_id, op["error"])
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


def _failed(job_id: str, err: dict[str, Any]) -> JobStatus:
    message = str(err.get("message", "no reason given"))
    kind: ErrorKind = "moderation" if looks_like_moderation(message) else "failed"
    return JobStatus(
        job_id=job_id,
        state="failed",
        error_kind=kind,
        error=f"Veo job failed: {message} (code {err.get('code')})",
    )


def _token_placeholder() -> Any:
    from pydantic import SecretStr

    return SecretStr("oauth")  # the bearer token is added per request


def create(settings: Settings) -> VeoProvider:
    return VeoProvider(settings)
