"""Fake ElevenLabs API: text-to-speech, sound generation and music (synchronous audio)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tools.providers.sandbox.core import BAD_KEYS, Fault, State

PREFIX = "elevenlabs"
TTS_MODELS = {
    "eleven_multilingual_v2", "eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_v3",
    "eleven_flash_v2", "eleven_turbo_v2",
}  # fmt: skip
SFX_MODELS = {"eleven_text_to_sound_v2", "eleven_text_to_sound_v1"}
MUSIC_MODELS = {"music_v1", "music_v2"}


def el_error(
    http: int, status: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"detail": {"status": status, "message": message}}, status=http, headers=headers
    )


def fault_response(fault: Fault, model: str = "") -> web.Response:
    if fault.kind == "rate_limit":
        return el_error(
            429,
            "too_many_concurrent_requests",
            "Too many concurrent requests for your plan.",
            {"Retry-After": f"{fault.retry_after:g}"},
        )
    if fault.kind == "server_error":
        return el_error(fault.status, "system_busy", "The system is busy; please retry.")
    if fault.kind == "bad_key":
        return el_error(401, "invalid_api_key", "Invalid API key")
    if fault.kind == "out_of_credits":
        return el_error(
            401,
            "quota_exceeded",
            "This request exceeds your quota. You have 0 credits remaining.",
        )
    if fault.kind == "retired":
        return el_error(400, "model_not_found", f"Model {model} does not exist or is deprecated.")
    if fault.kind == "moderation":
        return el_error(
            400, "content_policy_violation", "The prompt violates our Terms of Service."
        )
    return el_error(500, "internal_error", f"sandbox cannot play {fault.kind} here")


def routes(state: State) -> list[web.RouteDef]:
    def denied(request: web.Request) -> web.Response | None:
        key = request.headers.get("xi-api-key")
        if not key:
            return el_error(
                401, "needs_authorization", "Neither authorization header nor xi-api-key received."
            )
        return el_error(401, "invalid_api_key", "Invalid API key") if key in BAD_KEYS else None

    async def guard(request: web.Request, model: str, models: set[str]) -> web.Response | None:
        refused = denied(request)
        fault = await state.play(PREFIX, "submit")
        if fault is None:
            fault = state.take(PREFIX, "submit", kinds=("moderation",))
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"), model)
        if state.is_retired(model) or model not in models:
            return el_error(
                400, "model_not_found", f"Model {model} does not exist or is deprecated."
            )
        return None

    def fmt(request: web.Request) -> str:
        return "wav" if request.query.get("output_format", "").startswith("wav") else "mp3"

    async def respond(request: web.Request, seconds: float, freq: int) -> web.StreamResponse:
        state.submitted(PREFIX)
        kind = fmt(request)
        path = await state.media.audio(seconds, kind, freq)
        mime = "audio/wav" if kind == "wav" else "audio/mpeg"
        return web.FileResponse(path, headers={"Content-Type": mime})

    async def tts(request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = await request.json()
        model = str(body.get("model_id") or "eleven_multilingual_v2")
        blocked = await guard(request, model, TTS_MODELS)
        if blocked is not None:
            return blocked
        text = str(body.get("text", ""))
        if not text:
            return web.json_response(
                {"detail": [{"loc": ["body", "text"], "msg": "field required", "type": "missing"}]},
                status=422,
            )
        if len(text) > 10000:
            return el_error(400, "max_character_limit_exceeded", "Text is too long.")
        return await respond(request, len(text) / 15, 330)

    async def sound(request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = await request.json()
        model = str(body.get("model_id") or "eleven_text_to_sound_v2")
        blocked = await guard(request, model, SFX_MODELS)
        if blocked is not None:
            return blocked
        seconds = body.get("duration_seconds")
        if seconds is not None and not 0.5 <= float(seconds) <= 30:
            return el_error(400, "invalid_duration", "duration_seconds must be 0.5-30")
        return await respond(request, float(seconds or 2.0), 660)

    async def music(request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = await request.json()
        model = str(body.get("model_id") or "music_v1")
        blocked = await guard(request, model, MUSIC_MODELS)
        if blocked is not None:
            return blocked
        if not body.get("prompt") and not body.get("composition_plan"):
            return el_error(400, "invalid_request", "prompt or composition_plan is required")
        length = body.get("music_length_ms") or 10000
        if not 3000 <= int(length) <= 600000:
            return el_error(400, "invalid_request", "music_length_ms must be 3000-600000")
        response = await respond(request, int(length) / 1000, 220)
        response.headers["song-id"] = "sandbox-song"
        return response

    return [
        web.post(f"/{PREFIX}/v1/text-to-speech/{{voice_id}}", tts),
        web.post(f"/{PREFIX}/v1/sound-generation", sound),
        web.post(f"/{PREFIX}/v1/music", music),
    ]
