"""Fake Kling API (`/v1/videos/{text2video,image2video}`), verifying the HS256 JWT."""

from __future__ import annotations

import time
import uuid
from typing import Any

from aiohttp import web

from tools.providers.sandbox.core import Fault, Job, State, bearer, size_for_aspect

PREFIX = "kling"
SANDBOX_SECRET = "sandbox-kling-secret-0123456789abcdef"  # >= 32 bytes for HS256
MODELS = {
    "kling-v1",
    "kling-v1-6",
    "kling-v2-master",
    "kling-v2-1-master",
    "kling-v2-5-turbo",
    "kling-v2-6",
    "kling-v3",
}


def kling_error(
    http: int, code: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"code": code, "message": message, "request_id": str(uuid.uuid4())}
    return web.json_response(body, status=http, headers=headers)


def fault_response(fault: Fault, model: str = "") -> web.Response:
    if fault.kind == "rate_limit":
        return kling_error(
            429, 1302, "request too frequent", {"Retry-After": f"{fault.retry_after:g}"}
        )
    if fault.kind == "server_error":
        return kling_error(fault.status, 5000, "server internal error")
    if fault.kind == "bad_key":
        return kling_error(401, 1002, "authorization token is invalid")
    if fault.kind == "out_of_credits":
        return kling_error(429, 1102, "resource pack is depleted or expired")
    if fault.kind == "retired":
        return kling_error(404, 1203, f"model_name {model} not found")
    return kling_error(500, 5000, f"sandbox cannot play {fault.kind} here")


def routes(state: State) -> list[web.RouteDef]:
    import jwt

    by_external: dict[str, str] = {}

    def denied(request: web.Request) -> web.Response | None:
        token = bearer(request)
        if token is None:
            return kling_error(401, 1001, "authorization is empty")
        try:
            jwt.decode(
                token,
                SANDBOX_SECRET,
                algorithms=["HS256"],
                options={"require": ["iss", "exp", "nbf"]},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            return kling_error(401, 1004, "authorization token has expired")
        except jwt.ImmatureSignatureError:
            return kling_error(401, 1003, "authorization token is not yet valid")
        except jwt.PyJWTError:
            return kling_error(401, 1002, "authorization token is invalid")
        return None

    def task(job: Job, kind: str) -> dict[str, Any]:
        phase, _ = job.phase()
        status = {"queued": "submitted", "running": "processing"}.get(phase, "succeed")
        data: dict[str, Any] = {
            "task_id": job.id,
            "task_status": status,
            "task_status_msg": "",
            "task_info": {"external_task_id": job.extra.get("external_task_id", "")},
            "created_at": int(job.created_wall * 1000),
            "updated_at": int(time.time() * 1000),
        }
        if status == "succeed" and job.outcome != "ok":
            data["task_status"] = "failed"
            data["task_status_msg"] = (
                "Failure to pass the risk control system"
                if job.outcome == "moderation"
                else job.reason
            )
        elif status == "succeed":
            data["final_unit_deduction"] = "1.5"
            data["task_result"] = {
                "videos": [
                    {
                        "id": job.id,
                        "url": job.extra["url"](job),
                        "duration": f"{job.duration:.1f}",
                    }
                ]
            }
        return data

    def ok(data: dict[str, Any], message: str = "SUCCEED") -> web.Response:
        return web.json_response(
            {"code": 0, "message": message, "request_id": str(uuid.uuid4()), "data": data}
        )

    async def create(request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        refused = denied(request)
        body: dict[str, Any] = await request.json()
        model = str(body.get("model_name") or "kling-v1")
        fault = await state.play(PREFIX, "submit")
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"), model)
        if state.is_retired(model) or model not in MODELS:
            return kling_error(404, 1203, f"model_name {model} not found")
        if kind == "text2video" and not body.get("prompt"):
            return kling_error(400, 1201, "prompt is required")
        if len(str(body.get("prompt", ""))) > 2500:
            return kling_error(400, 1201, "prompt must be at most 2500 characters")
        duration = body.get("duration", "5")
        if duration not in ("5", "10"):
            return kling_error(400, 1201, "duration must be the string '5' or '10'")
        aspect = body.get("aspect_ratio", "16:9")
        if aspect not in ("16:9", "9:16", "1:1"):
            return kling_error(400, 1201, "aspect_ratio must be 16:9, 9:16 or 1:1")
        if kind == "image2video":
            if not body.get("image"):
                return kling_error(400, 1201, "image is required")
            for field in ("image", "image_tail"):
                if str(body.get(field, "")).startswith("data:"):
                    return kling_error(400, 1201, f"{field}: base64 must not have a data: prefix")
        external = str(body.get("external_task_id") or "")
        if external and external in by_external:
            return kling_error(400, 1201, f"external_task_id {external} already exists")
        width, height = size_for_aspect(str(aspect))
        job = Job(
            PREFIX,
            model,
            float(duration),
            width,
            height,
            state.latency,
            audio=body.get("sound") == "on",
            request=body,
        )
        origin = f"{request.scheme}://{request.host}"
        job.extra = {
            "kind": kind,
            "external_task_id": external,
            "url": lambda j: f"{origin}/{PREFIX}/_cdn/{j.id}/{j.url_gen}.mp4",
        }
        state.new_job(job)
        if external:
            by_external[external] = job.id
        await state.answer_late(PREFIX)
        return ok(task(job, kind))

    async def query(request: web.Request) -> web.StreamResponse:
        refused = denied(request)
        fault = await state.play(PREFIX, "poll")
        if refused is not None or fault is not None:
            return refused or fault_response(fault or Fault(PREFIX, "bad_key"))
        kind, key = request.match_info["kind"], request.match_info["id"]
        job = state.job(by_external.get(key, key), PREFIX)
        if job is None or job.extra.get("kind") != kind:
            return kling_error(404, 1202, "task not found")
        return ok(task(job, kind), "SUCCEED")

    def expired() -> web.Response:
        return web.Response(status=403, text="<Error><Code>AccessDenied</Code></Error>")

    return [
        web.post(f"/{PREFIX}/v1/videos/{{kind:text2video|image2video}}", create),
        web.get(f"/{PREFIX}/v1/videos/{{kind:text2video|image2video}}/{{id}}", query),
        web.get(f"/{PREFIX}/_cdn/{{job}}/{{gen}}.mp4", state.cdn_handler(PREFIX, expired)),
    ]
