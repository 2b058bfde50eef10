"""Fake fal queue (`queue.fal.run`) serving the Pika endpoints.

Submit `POST /{endpoint_id}`; then the returned `status_url`, `response_url`, `cancel_url`.
Request URLs are served both with and without the endpoint's subpath, as fal's are.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tools.providers.sandbox.core import Fault, Job, State, origin, size_for_aspect

PREFIX = "fal"
ENDPOINTS = {
    "fal-ai/pika/v2.2/text-to-video",
    "fal-ai/pika/v2.2/image-to-video",
    "fal-ai/pika/v2.1/text-to-video",
    "fal-ai/pika/v2.1/image-to-video",
}
ASPECTS = {"16:9", "9:16", "1:1", "4:5", "5:4", "3:2", "2:3"}


def detail(status: int, message: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"detail": message}, status=status, headers=headers)


def not_found(endpoint: str) -> web.Response:
    return detail(404, f"Application '{endpoint}' not found")


def fault_response(fault: Fault, endpoint: str = "") -> web.Response:
    if fault.kind == "rate_limit":
        return detail(
            429,
            "Too many requests",
            {"Retry-After": f"{fault.retry_after:g}", "X-Fal-Retryable": "true"},
        )
    if fault.kind == "server_error":
        return detail(fault.status, "Internal server error", {"X-Fal-Retryable": "true"})
    if fault.kind == "bad_key":
        return detail(401, "Authentication failed: invalid key")
    if fault.kind == "out_of_credits":
        return detail(
            403,
            "User is locked. Reason: Exhausted balance. Top up your balance at "
            "fal.ai/dashboard/billing.",
        )
    if fault.kind == "retired":
        return not_found(endpoint)
    return detail(500, f"sandbox cannot play {fault.kind} here")


def routes(state: State) -> list[web.RouteDef]:
    def denied(request: web.Request) -> web.Response | None:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Key" or not key.strip():
            return detail(401, "No authentication credentials provided (Authorization: Key ...)")
        if key.strip() in ("bad", "invalid", "wrong"):
            return detail(401, "Authentication failed: invalid key")
        return None

    def urls(request: web.Request, job: Job) -> dict[str, str]:
        owner, alias = job.model.split("/")[:2]
        base = f"{origin(request)}/{PREFIX}/{owner}/{alias}/requests/{job.id}"
        return {
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
        }

    async def submit(request: web.Request) -> web.StreamResponse:
        endpoint = request.match_info["app"]
        refused = denied(request)
        body: dict[str, Any] = await request.json()
        fault = await state.play(PREFIX, "submit")
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"), endpoint)
        if state.is_retired(endpoint) or endpoint not in ENDPOINTS:
            return not_found(endpoint)
        problems = []
        if not body.get("prompt"):
            problems.append({"loc": ["body", "prompt"], "msg": "field required", "type": "missing"})
        if endpoint.endswith("image-to-video") and not body.get("image_url"):
            problems.append(
                {"loc": ["body", "image_url"], "msg": "field required", "type": "missing"}
            )
        duration = body.get("duration", 5)
        if duration not in (5, 10):
            problems.append({"loc": ["body", "duration"], "msg": "must be 5 or 10", "type": "enum"})
        aspect = str(body.get("aspect_ratio", "16:9"))
        if aspect not in ASPECTS:
            problems.append({"loc": ["body", "aspect_ratio"], "msg": "bad ratio", "type": "enum"})
        if problems:
            return detail(422, problems)
        width, height = size_for_aspect(aspect)
        job = state.new_job(Job(PREFIX, endpoint, float(duration), width, height, state.latency))
        job.request = body
        return web.json_response(
            {
                "request_id": job.id,
                "gateway_request_id": job.id,
                "status": "IN_QUEUE",
                "queue_position": 0,
                **urls(request, job),
            }
        )

    def lookup(request: web.Request) -> Job | None:
        return state.job(request.match_info["id"], PREFIX)

    async def status(request: web.Request) -> web.StreamResponse:
        refused = denied(request)
        fault = await state.play(PREFIX, "poll")
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"))
        job = lookup(request)
        if job is None:
            return detail(404, "Request not found")
        phase, _ = job.phase()
        out: dict[str, Any] = {"request_id": job.id, **urls(request, job)}
        if phase == "queued":
            out.update(status="IN_QUEUE", queue_position=1)
        elif phase == "running":
            out.update(status="IN_PROGRESS", logs=None)
        else:
            out.update(status="COMPLETED", logs=None, metrics={"inference_time": job.latency})
            if job.outcome == "fail":
                out.update(error=job.reason, error_type="internal_error")
            elif job.outcome == "moderation":
                out.update(error="content policy violation", error_type="content_policy_violation")
        return web.json_response(out)

    async def result(request: web.Request) -> web.StreamResponse:
        refused = denied(request)
        fault = await state.play(PREFIX, "poll")
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"))
        job = lookup(request)
        if job is None:
            return detail(404, "Request not found")
        if job.phase()[0] != "done":
            return detail(400, "Request is still in progress")
        if job.outcome == "moderation":
            return detail(
                422,
                [
                    {
                        "loc": ["body", "prompt"],
                        "msg": "The content could not be processed because it contained "
                        "material flagged by a content checker.",
                        "type": "content_policy_violation",
                        "url": "https://docs.fal.ai/errors#content_policy_violation",
                    }
                ],
                {"x-fal-error-type": "content_policy_violation"},
            )
        if job.outcome == "fail":
            return detail(500, job.reason, {"X-Fal-Retryable": "false"})
        url = f"{origin(request)}/{PREFIX}/_cdn/{job.id}/{job.url_gen}.mp4"
        return web.json_response(
            {"video": {"url": url, "content_type": "video/mp4", "file_name": "output.mp4"}}
        )

    async def cancel(request: web.Request) -> web.StreamResponse:
        refused = denied(request)
        if refused is not None:
            return refused
        job = lookup(request)
        if job is None:
            return detail(404, "Request not found")
        return web.json_response({"status": "ALREADY_COMPLETED"}, status=400)

    def expired() -> web.Response:
        return web.Response(status=403, text="Forbidden: URL expired")

    app = "{app:[^{}]+?}"
    return [
        web.get(f"/{PREFIX}/_cdn/{{job}}/{{gen}}.mp4", state.cdn_handler(PREFIX, expired)),
        web.get(f"/{PREFIX}/{app}/requests/{{id}}/status", status),
        web.put(f"/{PREFIX}/{app}/requests/{{id}}/cancel", cancel),
        web.get(f"/{PREFIX}/{app}/requests/{{id}}", result),
        web.post(f"/{PREFIX}/{{app:.+}}", submit),
    ]
