"""Fake Runway API (`/v1/{text,image}_to_video`, `/v1/tasks/{id}`), as runwayml's SDK sees it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tools.providers.sandbox.core import BAD_KEYS, Fault, Job, State, bearer, iso, size_for_aspect

PREFIX = "runway"
VERSION = "2024-11-06"
MODELS = {
    "text_to_video": {"gen4.5", "veo3.1", "veo3.1_fast", "veo3"},
    "image_to_video": {"gen4.5", "gen4_turbo", "veo3.1", "veo3.1_fast", "veo3"},
}
RATIOS = {"1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"}
VEO_RATIOS = {"1280:720", "720:1280", "1080:1920", "1920:1080"}
CREDITS_PER_S = {"gen4.5": 12, "gen4_turbo": 5, "veo3.1": 40, "veo3.1_fast": 15, "veo3": 40}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def fault_response(fault: Fault, model: str = "") -> web.Response:
    if fault.kind == "rate_limit":
        return error(
            429,
            "You have exceeded the rate limit for this endpoint.",
            {"Retry-After": f"{fault.retry_after:g}"},
        )
    if fault.kind == "server_error":
        return error(fault.status, "The service is temporarily overloaded. Please retry.")
    if fault.kind == "bad_key":
        return error(401, "Invalid API key")
    if fault.kind == "out_of_credits":
        return error(400, "You do not have enough credits to run this task.")
    if fault.kind == "retired":
        return retired(model)
    return error(500, f"sandbox cannot play {fault.kind} here")


def retired(model: str) -> web.Response:
    return web.json_response(
        {
            "error": "Validation of body failed",
            "issues": [
                {
                    "code": "invalid_enum_value",
                    "path": ["model"],
                    "message": f"Invalid model {model!r}: this model is no longer available",
                }
            ],
        },
        status=400,
    )


def routes(state: State) -> list[web.RouteDef]:
    def check_auth(request: web.Request) -> web.Response | None:
        key = bearer(request)
        if key is None or key in BAD_KEYS:
            return error(401, "Invalid API key")
        if request.headers.get("X-Runway-Version") != VERSION:
            return error(400, f"X-Runway-Version header must be {VERSION}")
        return None

    async def create(request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        denied = check_auth(request)
        body: dict[str, Any] = await request.json()
        model = str(body.get("model", ""))
        fault = await state.play(PREFIX, "submit")
        if denied is not None or fault is not None:
            return denied or fault_response(fault or Fault(PREFIX, "bad_key"), model)
        if state.is_retired(model) or model not in MODELS[kind]:
            return retired(model)
        if kind == "image_to_video" and not body.get("promptImage"):
            return error(400, "promptImage is required")
        prompt = str(body.get("promptText", ""))
        if kind == "text_to_video" and not prompt:
            return error(400, "promptText is required")
        if len(prompt.encode("utf-16-le")) // 2 > 1000:
            return error(400, "promptText must be at most 1000 characters")
        ratio = str(body.get("ratio", ""))
        if ratio not in (VEO_RATIOS if model.startswith("veo") else RATIOS):
            return error(400, f"Invalid ratio {ratio!r} for {model}")
        duration = body.get("duration", 8)
        if not isinstance(duration, int) or not 2 <= duration <= 10:
            return error(400, "duration must be an integer between 2 and 10")
        images = body.get("promptImage")
        uris = [images] if isinstance(images, str) else [i.get("uri", "") for i in images or []]
        for uri in uris:
            if not str(uri).startswith(("https://", "http://", "data:image/", "runway://")):
                return error(400, "promptImage must be an HTTPS URL, a data URI or an upload")
        width, height = size_for_aspect(ratio)
        job = state.new_job(
            Job(
                PREFIX,
                model,
                float(duration),
                width,
                height,
                state.latency,
                audio=model.startswith("veo"),
                request=body,
            )
        )
        return web.json_response({"id": job.id})

    async def task(request: web.Request) -> web.StreamResponse:
        denied = check_auth(request)
        fault = await state.play(PREFIX, "poll")
        if denied is not None or fault is not None:
            return denied or fault_response(fault or Fault(PREFIX, "bad_key"))
        job = state.job(request.match_info["id"], PREFIX)
        if job is None:
            return error(404, "Task not found")
        phase, progress = job.phase()
        credits = int(CREDITS_PER_S.get(job.model, 10) * job.duration)
        out: dict[str, Any] = {"id": job.id, "createdAt": iso(job.created_wall)}
        if phase == "queued":
            out.update(status="PENDING", estimatedCost={"credits": credits})
        elif phase == "running":
            out.update(status="RUNNING", progress=progress, estimatedCost={"credits": credits})
        elif job.outcome == "moderation":
            out.update(
                status="FAILED",
                failure="The output did not pass our content moderation.",
                failureCode="SAFETY.OUTPUT.VIDEO",
                cost={"credits": 0},
            )
        elif job.outcome == "fail":
            out.update(
                status="FAILED",
                failure=job.reason,
                failureCode="INTERNAL.BAD_OUTPUT.CODE01",
                cost={"credits": 0},
            )
        else:
            out.update(
                status="SUCCEEDED",
                output=[state.cdn_url(request, PREFIX, job)],
                cost={"credits": credits},
            )
        return web.json_response(out)

    async def delete(request: web.Request) -> web.StreamResponse:
        denied = check_auth(request)
        if denied is not None:
            return denied
        if state.jobs.pop(request.match_info["id"], None) is None:
            return error(404, "Task not found")
        return web.Response(status=204)

    def expired() -> web.Response:
        return web.Response(status=403, text="<Error><Code>AccessDenied</Code></Error>")

    return [
        web.post(f"/{PREFIX}/v1/{{kind:text_to_video|image_to_video}}", create),
        web.get(f"/{PREFIX}/v1/tasks/{{id}}", task),
        web.delete(f"/{PREFIX}/v1/tasks/{{id}}", delete),
        web.get(f"/{PREFIX}/_cdn/{{job}}/{{gen}}.mp4", state.cdn_handler(PREFIX, expired)),
    ]
