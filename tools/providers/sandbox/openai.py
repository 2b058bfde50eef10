"""Fake OpenAI API: `/v1/audio/speech` (TTS) and `/v1/images/generations` (gpt-image-1)."""

from __future__ import annotations

import base64
import time
from typing import Any

from aiohttp import web

from tools.providers.sandbox.core import BAD_KEYS, Fault, State, bearer

PREFIX = "openai"
TTS_MODELS = {"tts-1", "tts-1-hd", "gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15"}
IMAGE_MODELS = {"gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2", "dall-e-3"}
VOICES = {
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer",
    "verse", "marin", "cedar",
}  # fmt: skip
SIZES = {"1024x1024": (64, 64), "1536x1024": (96, 64), "1024x1536": (64, 96), "auto": (64, 64)}
MIME = {"mp3": "audio/mpeg", "wav": "audio/wav"}


def openai_error(
    status: int,
    message: str,
    type_: str,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def model_not_found(model: str) -> web.Response:
    return openai_error(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    )


def fault_response(fault: Fault, model: str = "") -> web.Response:
    if fault.kind == "rate_limit":
        return openai_error(
            429,
            "Rate limit reached for requests. Please try again shortly.",
            "requests",
            "rate_limit_exceeded",
            headers={
                "Retry-After": f"{fault.retry_after:g}",
                "retry-after-ms": f"{int(fault.retry_after * 1000)}",
                "x-should-retry": "true",
            },
        )
    if fault.kind == "server_error":
        return openai_error(fault.status, "The server had an error.", "server_error")
    if fault.kind == "bad_key":
        return bad_key()
    if fault.kind == "out_of_credits":
        return openai_error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
            headers={"x-should-retry": "false"},
        )
    if fault.kind == "retired":
        return model_not_found(model)
    if fault.kind == "moderation":
        return openai_error(
            400,
            "Your request was rejected as a result of our safety system.",
            "image_generation_user_error",
            "moderation_blocked",
        )
    return openai_error(500, f"sandbox cannot play {fault.kind} here", "server_error")


def bad_key() -> web.Response:
    return openai_error(
        401, "Incorrect API key provided: sa***ad.", "invalid_request_error", "invalid_api_key"
    )


def routes(state: State) -> list[web.RouteDef]:
    def denied(request: web.Request) -> web.Response | None:
        key = bearer(request)
        if key is None:
            return openai_error(
                401,
                "You didn't provide an API key.",
                "invalid_request_error",
                "missing_api_key",
            )
        return bad_key() if key in BAD_KEYS else None

    async def guard(request: web.Request, model: str) -> web.Response | None:
        refused = denied(request)
        fault = await state.play(PREFIX, "submit")
        if fault is None:
            fault = state.take(PREFIX, "submit", kinds=("moderation",))
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"), model)
        if state.is_retired(model):
            return model_not_found(model)
        return None

    async def speech(request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = await request.json()
        model = str(body.get("model", ""))
        blocked = await guard(request, model)
        if blocked is not None:
            return blocked
        if model not in TTS_MODELS:
            return model_not_found(model)
        text = str(body.get("input", ""))
        if not text or len(text) > 4096:
            return openai_error(
                400, "input must be 1-4096 characters", "invalid_request_error", None, "input"
            )
        voice = body.get("voice")
        if not (voice in VOICES or (isinstance(voice, dict) and voice.get("id"))):
            return openai_error(
                400, f"Invalid voice {voice!r}", "invalid_request_error", None, "voice"
            )
        fmt = str(body.get("response_format") or "mp3")
        if fmt not in MIME:
            fmt = "mp3"
        state.submitted(PREFIX)
        path = await state.media.audio(len(text) / 15, fmt)
        return web.FileResponse(path, headers={"Content-Type": MIME[fmt]})

    async def images(request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = await request.json()
        model = str(body.get("model") or "dall-e-2")
        blocked = await guard(request, model)
        if blocked is not None:
            return blocked
        if model not in IMAGE_MODELS:
            return model_not_found(model)
        if not body.get("prompt"):
            return openai_error(400, "prompt is required", "invalid_request_error", None, "prompt")
        if model.startswith("gpt-image") and "response_format" in body:
            return openai_error(
                400,
                "Unknown parameter: 'response_format'.",
                "invalid_request_error",
                "unknown_parameter",
                "response_format",
            )
        size = str(body.get("size") or "auto")
        if size not in SIZES:
            return openai_error(
                400, f"Invalid size {size!r}", "invalid_request_error", None, "size"
            )
        n = int(body.get("n") or 1)
        state.submitted(PREFIX)
        width, height = SIZES[size]
        data = [
            {
                "b64_json": base64.b64encode(
                    state.media.png(width, height, f"{body['prompt']}{i}")
                ).decode()
            }
            for i in range(n)
        ]
        return web.json_response(
            {
                "created": int(time.time()),
                "background": "opaque",
                "output_format": "png",
                "quality": body.get("quality", "high"),
                "size": size if size != "auto" else "1024x1024",
                "data": data,
                "usage": {
                    "input_tokens": 50,
                    "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
                    "output_tokens": 4160,
                    "total_tokens": 4210,
                },
            }
        )

    return [
        web.post(f"/{PREFIX}/v1/audio/speech", speech),
        web.post(f"/{PREFIX}/v1/images/generations", images),
    ]
