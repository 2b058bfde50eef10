"""Fake Veo: the Gemini API (`v1beta/models/{model}:predictLongRunning`, operations, files
download) and Vertex AI as the google-genai SDK calls it in vertexai mode
(`v1/projects/P/locations/L/publishers/google/models/M:predictLongRunning` and
`:fetchPredictOperation`, or `v1/publishers/google/models/M:...` with an API key; the video
comes back inline, base64)."""

from __future__ import annotations

import base64
import re
from typing import Any

from aiohttp import web

from tools.providers.sandbox.core import (
    BAD_KEYS,
    Fault,
    Job,
    State,
    bearer,
    origin,
    size_for_aspect,
)

PREFIX = "veo"
MODELS = {
    "veo-3.1-generate-preview",
    "veo-3.1-fast-generate-preview",
    "veo-3.1-lite-generate-preview",
    "veo-3.0-generate-001",
    "veo-3.0-fast-generate-001",
    "veo-2.0-generate-001",
}
VERTEX_MODELS = {"veo-3.1-generate-001", "veo-3.1-fast-generate-001", "veo-3.0-generate-001"}
VERTEX_RETIRED = {"veo-3.0-generate-001"}  # retired on Vertex AI on 2026-06-30
FILE_ID = re.compile(r"^([a-z0-9]+)g(\d+)$")


def one_instance(body: dict[str, Any]) -> tuple[dict[str, Any], web.Response | None]:
    """The request's one instance (prompt and inline images checked), or Google's 400."""
    instances = body.get("instances") or []
    if len(instances) != 1 or not isinstance(instances[0], dict):
        return {}, google_error(400, "INVALID_ARGUMENT", "exactly one instance is required")
    instance: dict[str, Any] = instances[0]
    if not instance.get("prompt") and "image" not in instance:
        return instance, google_error(400, "INVALID_ARGUMENT", "prompt is required")
    for field in ("image", "lastFrame"):
        if field in instance and not image_ok(instance[field]):
            return instance, google_error(
                400, "INVALID_ARGUMENT", f"{field} needs inline image bytes"
            )
    return instance, None


def google_error(
    code: int, status: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    body = {"error": {"code": code, "message": message, "status": status, **extra}}
    return web.json_response(body, status=code, headers=headers)


def not_found(model: str) -> web.Response:
    return google_error(
        404,
        "NOT_FOUND",
        f"models/{model} is not found for API version v1beta, or is not supported for "
        "predictLongRunning. Call ListModels to see the list of available models.",
    )


def fault_response(fault: Fault, model: str = "") -> web.Response:
    if fault.kind == "rate_limit":
        return google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
            {"Retry-After": f"{fault.retry_after:g}"},
            details=[
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{fault.retry_after:g}s",
                }
            ],
        )
    if fault.kind == "server_error":
        return google_error(
            fault.status, "UNAVAILABLE", "The model is overloaded. Please try again later."
        )
    if fault.kind == "bad_key":
        return bad_key()
    if fault.kind == "out_of_credits":
        return google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details.",
        )
    if fault.kind == "retired":
        return not_found(model)
    return google_error(500, "INTERNAL", f"sandbox cannot play {fault.kind} here")


def bad_key() -> web.Response:
    return google_error(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        details=[
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
        ],
    )


def file_id(job: Job) -> str:
    return f"{job.id.replace('-', '')}g{job.url_gen}"


def image_ok(image: Any) -> bool:
    if not isinstance(image, dict):
        return False
    inline = image.get("inlineData")
    if isinstance(inline, dict):
        return bool(inline.get("data")) and bool(inline.get("mimeType"))
    return bool(image.get("bytesBase64Encoded")) and bool(image.get("mimeType"))


def routes(state: State) -> list[web.RouteDef]:
    def denied(request: web.Request) -> web.Response | None:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            return google_error(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
            )
        return bad_key() if key in BAD_KEYS else None

    def operation(request: web.Request, job: Job) -> dict[str, Any]:
        name = f"models/{job.model}/operations/{job.id}"
        phase, progress = job.phase()
        if phase != "done":
            return {"name": name, "done": False, "metadata": {}}
        out: dict[str, Any] = {"name": name, "done": True}
        if job.outcome == "fail":
            out["error"] = {"code": 13, "message": job.reason}
            return out
        response: dict[str, Any] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta."
            "PredictLongRunningResponse",
            "generateVideoResponse": {},
        }
        if job.outcome == "moderation":
            response["generateVideoResponse"] = {
                "raiMediaFilteredCount": 1,
                "raiMediaFilteredReasons": [
                    "Veo could not generate videos because the input prompt violates Google's "
                    "usage guidelines. You will not be charged for blocked videos."
                ],
            }
        else:
            uri = f"{origin(request)}/{PREFIX}/v1beta/files/{file_id(job)}:download?alt=media"
            response["generateVideoResponse"] = {"generatedSamples": [{"video": {"uri": uri}}]}
        out["response"] = response
        return out

    async def create(request: web.Request) -> web.StreamResponse:
        model = request.match_info["model"]
        refused = denied(request)
        body: dict[str, Any] = await request.json()
        fault = await state.play(PREFIX, "submit")
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"), model)
        if state.is_retired(model) or model not in MODELS:
            return not_found(model)
        instance, problem = one_instance(body)
        if problem is not None:
            return problem
        if "lastFrame" in instance and "image" not in instance:
            return google_error(400, "INVALID_ARGUMENT", "lastFrame requires image")
        for ref in instance.get("referenceImages") or []:
            kind = str(ref.get("referenceType", "")).upper()
            if kind not in ("ASSET", "STYLE") or not image_ok(ref.get("image")):
                return google_error(400, "INVALID_ARGUMENT", "bad referenceImages entry")
        params = body.get("parameters") or {}
        for rejected in ("seed", "generateAudio", "storageUri", "fps"):
            if rejected in params:
                return google_error(
                    400, "INVALID_ARGUMENT", f"{rejected} parameter is not supported in Gemini API."
                )
        duration = params.get("durationSeconds", 8)
        if duration not in (4, 5, 6, 8):
            return google_error(400, "INVALID_ARGUMENT", "durationSeconds must be 4, 6 or 8")
        aspect = params.get("aspectRatio", "16:9")
        if aspect not in ("16:9", "9:16"):
            return google_error(400, "INVALID_ARGUMENT", "aspectRatio must be 16:9 or 9:16")
        width, height = size_for_aspect(aspect)
        job = state.new_job(
            Job(PREFIX, model, float(duration), width, height, state.latency, True, request=body)
        )
        return web.json_response({"name": f"models/{model}/operations/{job.id}"})

    async def get_operation(request: web.Request) -> web.StreamResponse:
        refused = denied(request)
        fault = await state.play(PREFIX, "poll")
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"))
        job = state.job(request.match_info["id"], PREFIX)
        if job is None or job.model != request.match_info["model"]:
            return google_error(404, "NOT_FOUND", "Operation not found")
        return web.json_response(operation(request, job))

    async def download(request: web.Request) -> web.StreamResponse:
        refused = denied(request)
        if refused is not None:
            return refused
        match = FILE_ID.match(request.match_info["file"])
        job = None
        gen = 0
        if match:
            raw = match.group(1)
            job_id = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
            job, gen = state.job(job_id, PREFIX), int(match.group(2))

        def expired() -> web.Response:
            return google_error(
                403,
                "PERMISSION_DENIED",
                "You do not have permission to access the File or it may not exist.",
            )

        return await state.serve_output(PREFIX, job, gen, expired)

    def vertex_denied(request: web.Request) -> web.Response | None:
        token = bearer(request) or request.headers.get("x-goog-api-key")
        if not token:
            return google_error(
                401,
                "UNAUTHENTICATED",
                "Request is missing required authentication credential. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
            )
        return bad_key() if token in BAD_KEYS else None

    def vertex_name(request: web.Request, model: str) -> str:
        scope = request.match_info.get("project")
        prefix = f"projects/{scope}/locations/{request.match_info['location']}/" if scope else ""
        return f"{prefix}publishers/google/models/{model}"

    async def vertex_create(request: web.Request) -> web.StreamResponse:
        model = request.match_info["model"]
        refused = vertex_denied(request)
        body: dict[str, Any] = await request.json()
        fault = await state.play(PREFIX, "submit")
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"), model)
        if state.is_retired(model) or model not in VERTEX_MODELS or model in VERTEX_RETIRED:
            return google_error(
                404,
                "NOT_FOUND",
                f"Publisher Model `{vertex_name(request, model)}` was not found or your project "
                "does not have access to it.",
            )
        instance, problem = one_instance(body)
        if problem is not None:
            return problem
        params = body.get("parameters") or {}
        duration = params.get("durationSeconds", 8)
        if duration not in (4, 6, 8):
            return google_error(400, "INVALID_ARGUMENT", "durationSeconds must be 4, 6 or 8")
        aspect = params.get("aspectRatio", "16:9")
        if aspect not in ("16:9", "9:16"):
            return google_error(400, "INVALID_ARGUMENT", "aspectRatio must be 16:9 or 9:16")
        if "generateAudio" in params and not isinstance(params["generateAudio"], bool):
            return google_error(400, "INVALID_ARGUMENT", "generateAudio must be a boolean")
        seed = params.get("seed")
        if seed is not None and not (isinstance(seed, int) and 0 <= seed < 2**32):
            return google_error(400, "INVALID_ARGUMENT", "seed must be a uint32")
        width, height = size_for_aspect(aspect)
        audio = bool(params.get("generateAudio", False))
        job = state.new_job(
            Job(PREFIX, model, float(duration), width, height, state.latency, audio, request=body)
        )
        job.extra["vertex_name"] = f"{vertex_name(request, model)}/operations/{job.id}"
        return web.json_response({"name": job.extra["vertex_name"]})

    async def vertex_fetch(request: web.Request) -> web.StreamResponse:
        refused = vertex_denied(request)
        body: dict[str, Any] = await request.json()
        fault = await state.play(PREFIX, "poll")
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"))
        name = str(body.get("operationName", ""))
        job = state.job(name.rpartition("/operations/")[2], PREFIX)
        if job is None or job.extra.get("vertex_name") != name:
            return google_error(404, "NOT_FOUND", "Operation not found")
        phase, _ = job.phase()
        if phase != "done":
            return web.json_response({"name": name, "done": False})
        out: dict[str, Any] = {"name": name, "done": True}
        if job.outcome == "fail":
            out["error"] = {"code": 13, "message": job.reason}
            return web.json_response(out)
        response: dict[str, Any] = {
            "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
            "raiMediaFilteredCount": 0,
        }
        if job.outcome == "moderation":
            response["raiMediaFilteredCount"] = 1
            response["raiMediaFilteredReasons"] = [
                "Veo could not generate videos because the input prompt violates Google's "
                "usage guidelines."
            ]
        else:
            path = await state.media.video(job.width, job.height, job.duration, job.audio)
            response["videos"] = [
                {
                    "bytesBase64Encoded": base64.b64encode(path.read_bytes()).decode(),
                    "mimeType": "video/mp4",
                }
            ]
        out["response"] = response
        return web.json_response(out)

    scoped = f"/{PREFIX}/v1/projects/{{project}}/locations/{{location}}/publishers/google/models"
    express = f"/{PREFIX}/v1/publishers/google/models"
    return [
        web.post(f"/{PREFIX}/v1beta/models/{{model}}:predictLongRunning", create),
        web.get(f"/{PREFIX}/v1beta/models/{{model}}/operations/{{id}}", get_operation),
        web.get(f"/{PREFIX}/v1beta/files/{{file}}:download", download),
        web.post(f"{scoped}/{{model}}:predictLongRunning", vertex_create),
        web.post(f"{scoped}/{{model}}:fetchPredictOperation", vertex_fetch),
        web.post(f"{express}/{{model}}:predictLongRunning", vertex_create),
        web.post(f"{express}/{{model}}:fetchPredictOperation", vertex_fetch),
    ]
