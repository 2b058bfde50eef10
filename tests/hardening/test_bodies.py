"""Every adapter survives every body: any status with any body ends in a ProviderError with
the right taxonomy (or, for a readable 2xx poll, a JobStatus), never a crash."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory.models import TakeStatus
from memory.store import ProjectStore
from tests.hardening.conftest import adapter_kwargs, project, shot
from tools.providers import elevenlabs, kling, luma, openai_media, pika, runway, veo
from tools.providers.base import GenerationRequest, JobStatus, ProviderError
from tools.providers.http import RETRYABLE
from tools.providers.registry import Registry
from tools.settings import Settings
from tools.takes import generate_takes

BODIES: dict[str, bytes] = {
    "nested-error": b'{"error": {"message": "overloaded"}}',
    "error-string": b'{"error": "overloaded"}',
    "error-null": b'{"error": null, "message": null}',
    "error-number": b'{"error": 5, "code": [1]}',
    "detail-dict": b'{"detail": {"status": 7, "message": {"deep": "x"}}}',
    "detail-list": b'{"detail": [{"loc": null, "msg": {"a": 1}}, 3, null]}',
    "issues-odd": b'{"error": "bad", "issues": [{"path": null, "message": [1]}, "x"]}',
    "issues-string": b'{"issues": "not a list", "error": {"details": 5, "message": 3}}',
    "kling-code": b'{"code": "1102", "message": null, "data": [1]}',
    "kling-ok-no-data": b'{"code": 0, "data": {"task_id": null}}',
    "empty-object": b"{}",
    "null": b"null",
    "number": b"42",
    "float": b"3.5",
    "bool": b"true",
    "empty-list": b"[]",
    "list": b'[1, "a", null, {"error": "x"}]',
    "string": b'"overloaded"',
    "html": b"<html><body><h1>502 Bad Gateway</h1><script>x()</script></body></html>",
    "empty": b"",
    "truncated": b'{"error": {"message": "trunc',
    "deep": b"[" * 5000 + b"]" * 5000,
    "binary": b"\xff\xfe\x00\x9b[31mgarbage\x07",
    "odd-fields": b'{"id": ["x"], "name": {"a": 1}, "status": ["RUNNING"], "state": 1, '
    b'"output": "x", "assets": [1], "done": "yes", "response": 5, "request_id": null}',
}
STATUSES = [200, 400, 401, 402, 404, 422, 429, 500, 503]
VIDEO = {
    "runway": runway.RunwayProvider,
    "luma": luma.LumaProvider,
    "veo": veo.VeoProvider,
    "kling": kling.KlingProvider,
    "pika": pika.PikaProvider,
}
JOB_IDS = {"kling": "text2video/abc", "pika": "fal-ai/pika/requests/abc", "veo": "operations/abc"}


def _answer(status: int, body: bytes) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": "application/json"})

    return handler


def _check(exc: ProviderError, status: int) -> None:
    text = str(exc)
    assert text and "\n" not in text and len(text) < 700
    if status >= 400:
        assert exc.kind is not None
        assert exc.retryable == (exc.kind in RETRYABLE)
    if status in (500, 503):
        assert exc.kind == "unavailable" and exc.retryable
    if status == 429:
        assert exc.kind in ("rate_limited", "credits")
    if status == 401:
        assert exc.kind in ("auth", "credits")


def _request(pid: str) -> GenerationRequest:
    model = "veo-3.1-generate-preview" if pid == "veo" else None
    return GenerationRequest(prompt="a lighthouse", duration=5, aspect="16:9", model=model)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("body", list(BODIES), ids=list(BODIES))
@pytest.mark.parametrize("pid", list(VIDEO))
def test_video_submit_and_poll_end_in_a_provider_error(
    pid: str, body: str, status: int, keyed_settings: Settings
) -> None:
    async def go() -> None:
        provider = VIDEO[pid](keyed_settings, **adapter_kwargs(_answer(status, BODIES[body])))
        try:
            with pytest.raises(ProviderError) as submit_error:
                await provider.submit(_request(pid))
            _check(submit_error.value, status)
            kling_error = pid == "kling" and body in ("error-number", "kling-code")
            if status == 200 and not kling_error:  # Kling reports errors on 200 with a code
                assert submit_error.value.kind == "timeout"  # unknown outcome: never resend
            try:
                polled = await provider.poll(JOB_IDS.get(pid, "abc"))
            except ProviderError as exc:
                _check(exc, status)
            else:
                assert status == 200 and isinstance(polled, JobStatus)
                assert polled.state != "succeeded"
        finally:
            await provider.aclose()

    asyncio.run(go())


# a 2xx speech body is the audio itself, so speech calls meet the table's error statuses only
MEDIA_CASES = [
    (call, body, status)
    for call in ("openai-image", "openai-speech", "elevenlabs-speech")
    for body in BODIES
    for status in STATUSES
    if status != 200 or call == "openai-image"
]


@pytest.mark.parametrize(("call", "body", "status"), MEDIA_CASES)
def test_media_calls_end_in_a_provider_error(
    call: str, body: str, status: int, keyed_settings: Settings, tmp_path: Path
) -> None:
    async def go() -> None:
        kwargs = adapter_kwargs(_answer(status, BODIES[body]))
        if call.startswith("openai"):
            media = openai_media.OpenAIMedia(keyed_settings, **kwargs)
            run = (
                media.image("a lighthouse", tmp_path / "a.png")
                if call == "openai-image"
                else media.speak("hello", tmp_path / "a.mp3")
            )
        else:
            voice = elevenlabs.ElevenLabs(keyed_settings, **kwargs)
            media, run = voice, voice.speak("hello", tmp_path / "a.mp3")  # type: ignore[assignment]
        try:
            with pytest.raises(ProviderError) as error:
                await run
            _check(error.value, status)
        finally:
            await media.aclose()

    asyncio.run(go())


def test_a_runway_503_overloaded_fails_the_take_instead_of_stranding_it(
    keyed_settings: Settings,
) -> None:
    """The issue's case: {"error": {"message": "overloaded"}} crashed with AttributeError and
    left the take `submitting`."""
    store = ProjectStore(keyed_settings.db_path)
    pid = project(store)
    handler = _answer(503, BODIES["nested-error"])
    registry = Registry(
        keyed_settings,
        {"runway": lambda s: runway.RunwayProvider(s, **adapter_kwargs(handler))},
    )

    async def go() -> None:
        await generate_takes(
            pid,
            [shot()],
            1,
            store=store,
            registry=registry,
            take_dir=keyed_settings.media_dir / "takes",
            sleep=adapter_kwargs(handler)["sleep"],
            max_attempts=1,
        )
        await registry.aclose()

    asyncio.run(go())
    (take,) = store.takes(pid)
    assert take.status is TakeStatus.FAILED
    assert take.error is not None and "overloaded" in take.error
    assert store.total_spend(pid) == 0
