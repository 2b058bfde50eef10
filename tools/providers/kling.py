"""Kling adapter: `POST /v1/videos/{text2video,image2video}`, then `GET …/{task_id}`.

Auth is a short-lived HS256 JWT signed with KLING_SECRET_KEY (issuer KLING_ACCESS_KEY). Errors
come as `{"code", "message"}`, sometimes on HTTP 200, so the code is checked too. Reference
images go as raw base64 (no `data:` prefix): the first frame, and a second as `image_tail`.
A request's `idempotency_key` becomes Kling's `external_task_id`, which is what makes a submit
whose answer was lost reconcilable (`reconcile`) instead of paid twice.
"""

from __future__ import annotations

import base64
import hashlib
import time
import warnings
from typing import TYPE_CHECKING, Any

from tools.providers.base import ErrorKind, GenerationRequest, JobStatus, ProviderError
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
    missing_key,
    provider_error,
    retry_after,
)
from tools.settings import Settings

if TYPE_CHECKING:
    import httpx

ENDPOINT = Endpoint(
    "kling",
    "Kling",
    "KLING_ACCESS_KEY and KLING_SECRET_KEY",
    "buy a resource pack at klingai.com",
)
TOKEN_TTL_S = 1800
MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Kling's business codes (docs via inference-sh/grid transcriptions; see providers.md).
CODE_KINDS: dict[int, ErrorKind] = {
    1000: "auth",
    1001: "auth",
    1002: "auth",
    1003: "auth",
    1004: "auth",
    1100: "credits",
    1101: "credits",
    1102: "credits",
    1103: "auth",
    1200: "invalid",
    1201: "invalid",
    1202: "failed",
    1203: "retired",
    1300: "moderation",
    1301: "moderation",
    1302: "rate_limited",
    1303: "rate_limited",
    1304: "auth",
    5000: "unavailable",
    5001: "unavailable",
    5002: "unavailable",
}


def classify(response: httpx.Response, op: str) -> Failure:
    body = json_or_text(response)
    code = body.get("code") if isinstance(body, dict) else None
    message = error_text(body)
    kind = (
        CODE_KINDS.get(code, kind_for_status(response.status_code))
        if isinstance(code, int)
        else kind_for_status(response.status_code)
    )
    if kind == "retired" and op != "submit":
        kind = "failed"
    if code is None:
        detail = message
    else:
        detail = f"{message} (code {code})" if message else f"code {code}"
    return Failure(kind, detail, response.status_code, retry_after(response.headers))


def external_task_id(key: str) -> str:
    """Kling's external_task_id for a caller's idempotency key (stable, bounded length)."""
    return "rf-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def raw_base64(path: Any) -> str:
    if not path.is_file():
        raise ProviderError(f"reference image {path} does not exist", kind="invalid")
    raw = path.read_bytes()
    if len(raw) > MAX_IMAGE_BYTES:
        raise ProviderError(f"reference image {path} is over 10 MB; resize it", kind="invalid")
    return base64.b64encode(raw).decode()


class KlingProvider(HttpVideoProvider):
    id = "kling"

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 60.0,
        sleep: Sleep | None = None,
    ) -> None:
        if settings.kling_access_key is None or settings.kling_secret_key is None:
            raise missing_key(ENDPOINT)
        self._access = settings.kling_access_key.get_secret_value()
        self._secret = settings.kling_secret_key.get_secret_value()
        self._token: tuple[str, float] | None = None
        self.api = connect(
            ENDPOINT,
            settings.kling_secret_key,  # the JWT signed from both keys is added per request
            base_url=settings.kling_base_url,
            classify=classify,
            transport=transport,
            client=client,
            timeout_s=timeout_s,
            sleep=sleep,
        )
        self.max_bytes = download_limit(settings)

    def token(self, now: float | None = None) -> str:
        """A JWT valid for 30 minutes, reused until 5 minutes before it expires."""
        import jwt

        now = time.time() if now is None else now
        if self._token is None or self._token[1] - now < 300:
            claims = {"iss": self._access, "exp": int(now) + TOKEN_TTL_S, "nbf": int(now) - 5}
            with warnings.catch_warnings():  # the key length is Kling's choice, not ours
                warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
                token = jwt.encode(claims, self._secret, algorithm="HS256", headers={"typ": "JWT"})
            self._token = (token, now + TOKEN_TTL_S)
        return self._token[0]

    async def _call(
        self, method: str, path: str, *, op: str, json: Any = None, model: str | None = None
    ) -> dict[str, Any]:
        response = await self.api.request(
            method,
            path,
            op=op,
            json=json,
            model=model,
            headers={"Authorization": f"Bearer {self.token()}"},
        )
        body = self.api.json_object(response, op)
        if body.get("code", 0) != 0:  # Kling can report errors on HTTP 200
            raise provider_error(ENDPOINT, self.api.read_failure(response, op), model=model)
        data = body.get("data")
        if not isinstance(data, dict):
            raise self.api.unreadable(op, "no data object in the answer")
        return data

    def _task_id(self, kind: str, data: dict[str, Any], op: str) -> str:
        task_id = data.get("task_id")
        if not isinstance(task_id, str | int) or isinstance(task_id, bool) or task_id == "":
            raise self.api.unreadable(op, "no task_id in the answer")
        return f"{kind}/{task_id}"

    def payload(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        profile = self.profile(request.model)
        duration = profile.fit_duration(request.duration) or max(profile.durations or [10])
        body: dict[str, Any] = {
            "model_name": self.model_name(request),
            "prompt": request.prompt,
            "duration": str(int(duration)),
            "mode": "pro" if request.resolution == "1080p" else "std",
            "aspect_ratio": request.aspect,
        }
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt
        if request.idempotency_key:
            body["external_task_id"] = external_task_id(request.idempotency_key)
        refs = request.reference_images
        if not refs:
            return "text2video", body
        body["image"] = raw_base64(refs[0])
        if len(refs) > 1:
            body["image_tail"] = raw_base64(refs[1])
        del body["aspect_ratio"]  # image2video takes the image's aspect
        return "image2video", body

    async def submit(self, request: GenerationRequest) -> str:
        kind, body = self.payload(request)
        try:
            data = await self._call(
                "POST", f"v1/videos/{kind}", op="submit", json=body, model=body["model_name"]
            )
        except ProviderError as exc:
            # Sent before (an answer we never saw): the task exists; adopt it, don't pay twice.
            if "external_task_id" in body and "already exists" in str(exc):
                found = await self.reconcile(request)
                if found is not None:
                    return found
            raise
        return self._task_id(kind, data, "submit")

    async def reconcile(self, request: GenerationRequest) -> str | None:
        """The job id of an earlier submit of `request`, found by its external_task_id."""
        if not request.idempotency_key:
            return None
        kind = "image2video" if request.reference_images else "text2video"
        ext = external_task_id(request.idempotency_key)
        try:
            data = await self._call("GET", f"v1/videos/{kind}/{ext}", op="poll")
        except ProviderError as exc:
            if exc.kind == "failed":  # not found: it was never created
                return None
            raise
        return self._task_id(kind, data, "poll")

    async def poll(self, job_id: str) -> JobStatus:
        data = await self._call("GET", f"v1/videos/{job_id}", op="poll")
        status = data.get("task_status")
        if status == "submitted":
            return JobStatus(job_id=job_id, state="queued")
        if status == "processing":
            return JobStatus(job_id=job_id, state="running")
        if status == "succeed":
            url = dig(data, "task_result", "videos", 0, "url")
            if not isinstance(url, str) or not url:
                return JobStatus(job_id=job_id, state="failed", error="Kling returned no video")
            return JobStatus(job_id=job_id, state="succeeded", progress=1.0, output_url=url)
        if status == "failed":
            reason = error_text(data.get("task_status_msg")) or "no reason given"
            if looks_like_moderation(reason):
                return JobStatus(
                    job_id=job_id,
                    state="failed",
                    error_kind="moderation",
                    error=f"Kling refused the shot on content grounds ({reason}); rephrase the "
                    "prompt or try another model",
                )
            return JobStatus(
                job_id=job_id,
                state="failed",
                error_kind="failed",
                error=f"Kling job failed: {reason}",
            )
        raise ProviderError(f"Kling returned an unknown task status {status!r}")


def create(settings: Settings) -> KlingProvider:
    return KlingProvider(settings)
