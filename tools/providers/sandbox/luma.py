"""Fake Luma Dream Machine API (`/dream-machine/v1/generations[/video]`, `/generations/{id}`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tools.providers.sandbox.core import BAD_KEYS, Fault, Job, State, bearer, iso, size_for_aspect

PREFIX = "luma"
BASE = f"/{PREFIX}/dream-machine/v1"
MODELS = {"ray-2", "ray-flash-2", "ray-1-6"}
ASPECTS = {"1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"}


def detail(status: int, message: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"detail": message}, status=status, headers=headers)


def fault_response(fault: Fault, model: str = "") -> web.Response:
    if fault.kind == "rate_limit":
        return detail(429, "Too many requests", {"Retry-After": f"{fault.retry_after:g}"})
    if fault.kind == "server_error":
        return detail(fault.status, "Internal server error")
    if fault.kind == "bad_key":
        return detail(401, "Invalid API key is provided")
    if fault.kind == "out_of_credits":
        return detail(402, "Insufficient credits: add credits to your account")
    if fault.kind == "retired":
        return detail(400, f"Model {model} is no longer supported")
    return detail(500, f"sandbox cannot play {fault.kind} here")


def generation(request: web.Request, state: State, job: Job) -> dict[str, Any]:
    phase, _ = job.phase()
    out: dict[str, Any] = {
        "id": job.id,
        "generation_type": "video",
        "state": {"queued": "queued", "running": "dreaming"}.get(phase, "completed"),
        "failure_reason": None,
        "created_at": iso(job.created_wall),
        "model": job.model,
        "assets": {"video": None, "image": None, "progress_video": None},
        "request": job.request,
    }
    if phase != "done":
        return out
    if job.outcome != "ok":
        out["state"] = "failed"
        out["failure_reason"] = (
            "Prompt not allowed because it violates our content moderation policy"
            if job.outcome == "moderation"
            else job.reason
        )
        return out
    out["assets"]["video"] = state.cdn_url(request, PREFIX, job)
    out["assets"]["image"] = None
    return out


def routes(state: State) -> list[web.RouteDef]:
    def denied(request: web.Request) -> web.Response | None:
        key = bearer(request)
        if key is None:
            return detail(401, "Not authenticated")
        if key in BAD_KEYS:
            return detail(401, "Invalid API key is provided")
        return None

    async def create(request: web.Request) -> web.StreamResponse:
        refused = denied(request)
        body: dict[str, Any] = await request.json()
        model = str(body.get("model", ""))
        fault = await state.play(PREFIX, "submit")
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"), model)
        if state.is_retired(model) or model not in MODELS:
            return detail(400, f"Model {model} is no longer supported")
        aspect = str(body.get("aspect_ratio") or "16:9")
        if aspect not in ASPECTS:
            return detail(422, [{"loc": ["body", "aspect_ratio"], "msg": "invalid aspect"}])
        duration = str(body.get("duration") or "5s")
        if not duration.endswith("s") or not duration[:-1].isdigit():
            return detail(422, [{"loc": ["body", "duration"], "msg": "use e.g. '5s'"}])
        keyframes = body.get("keyframes") or {}
        for frame in keyframes.values():
            if frame.get("type") == "image" and not str(frame.get("url", "")).startswith("http"):
                return detail(400, "Keyframe image must be a public URL")
        width, height = size_for_aspect(aspect)
        job = state.new_job(
            Job(PREFIX, model, float(duration[:-1]), width, height, state.latency, request=body)
        )
        return web.json_response(generation(request, state, job), status=201)

    async def get(request: web.Request) -> web.StreamResponse:
        refused = denied(request)
        fault = await state.play(PREFIX, "poll")
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"))
        job = state.job(request.match_info["id"], PREFIX)
        if job is None:
            return detail(404, "Generation not found")
        return web.json_response(generation(request, state, job))

    async def credits(request: web.Request) -> web.StreamResponse:
        return denied(request) or web.json_response({"credit_balance": 100000.0})

    def expired() -> web.Response:
        return web.Response(status=403, text="Request has expired")

    return [
        web.post(f"{BASE}/generations", create),
        web.post(f"{BASE}/generations/video", create),
        web.get(f"{BASE}/generations/{{id}}", get),
        web.get(f"{BASE}/credits", credits),
        web.get(f"/{PREFIX}/_cdn/{{job}}/{{gen}}.mp4", state.cdn_handler(PREFIX, expired)),
    ]
