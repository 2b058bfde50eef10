"""Veo on Vertex AI, the live route: the official google-genai SDK in vertexai mode completes a
generation against the sandbox (service-account token and API-key "express" mode), and so does
reelforge's adapter; the registry and the router reach Veo whenever Vertex AI is configured."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tools.providers.base import GenerationRequest, JobStatus
from tools.providers.registry import Registry
from tools.providers.sandbox.server import Sandbox
from tools.providers.veo import VeoProvider, unavailable
from tools.settings import Settings

PROMPT = 'Static medium two-shot. On the pier the daughter tells her father "You came back."'


def vertex_base(sandbox: Sandbox) -> str:
    return sandbox.base_urls()["REELFORGE_VEO_BASE_URL"]


def test_google_genai_sdk_in_vertex_mode_generates_a_video(
    sandbox: Sandbox, request: pytest.FixtureRequest
) -> None:
    from google import genai
    from google.genai import types
    from google.oauth2.credentials import Credentials

    sandbox.state.latency = 0.3
    client = genai.Client(
        vertexai=True,
        project="demo-project",
        location="us-central1",
        credentials=Credentials(token="sandbox-token"),  # type: ignore[no-untyped-call]
        http_options=types.HttpOptions(base_url=vertex_base(sandbox) + "/", api_version="v1"),
    )
    request.addfinalizer(client.close)
    operation = client.models.generate_videos(
        model="veo-3.1-generate-001",
        source=types.GenerateVideosSource(prompt=PROMPT),
        config=types.GenerateVideosConfig(
            duration_seconds=8, aspect_ratio="16:9", generate_audio=True, seed=7
        ),
    )
    assert operation.name is not None
    assert operation.name.startswith(
        "projects/demo-project/locations/us-central1/publishers/google/models/"
        "veo-3.1-generate-001/operations/"
    )
    seen = [bool(operation.done)]
    deadline = time.monotonic() + 20
    while not operation.done and time.monotonic() < deadline:
        time.sleep(0.1)
        operation = client.operations.get(operation)
        seen.append(bool(operation.done))
    assert seen[0] is False and operation.done
    assert operation.response is not None and operation.response.generated_videos
    video = operation.response.generated_videos[0].video
    assert video is not None and video.video_bytes is not None
    assert video.video_bytes[4:8] == b"ftyp"
    job = next(iter(sandbox.state.jobs.values()))
    assert job.request["instances"][0]["prompt"] == PROMPT
    assert job.request["parameters"]["generateAudio"] is True


def test_google_genai_sdk_in_vertex_express_mode_with_an_api_key(
    sandbox: Sandbox, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google import genai
    from google.genai import types

    for var in ("GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION"):
        monkeypatch.delenv(var, raising=False)
    client = genai.Client(
        vertexai=True,
        api_key="sandbox",
        http_options=types.HttpOptions(base_url=vertex_base(sandbox) + "/", api_version="v1"),
    )
    request.addfinalizer(client.close)
    operation = client.models.generate_videos(
        model="veo-3.1-fast-generate-001", source=types.GenerateVideosSource(prompt="a pier")
    )
    assert operation.name is not None
    assert operation.name.startswith("publishers/google/models/veo-3.1-fast-generate-001/")
    while not operation.done:
        operation = client.operations.get(operation)
    assert operation.response is not None and operation.response.generated_videos
    video = operation.response.generated_videos[0].video
    assert video is not None and (video.video_bytes or b"")[4:8] == b"ftyp"


async def finish(adapter: VeoProvider, job_id: str) -> JobStatus:
    for _ in range(200):
        status = await adapter.poll(job_id)
        if status.state in ("succeeded", "failed"):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError("the sandbox job never finished")


@pytest.mark.parametrize("mode", ["service_account", "api_key"])
async def test_the_adapter_generates_on_vertex_ai(
    mode: str, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.oauth2.credentials import Credentials

    monkeypatch.setenv("REELFORGE_VEO_VERTEX_BASE_URL", vertex_base(sandbox))
    creds: Any = None
    if mode == "service_account":
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-project")
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "sa.json"))
        creds = Credentials(token="sandbox-token")  # type: ignore[no-untyped-call]
    else:
        monkeypatch.setenv("GOOGLE_API_KEY", "sandbox")
        monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    settings = Settings(data_dir=tmp_path / "data")
    adapter = VeoProvider(settings, credentials=creds)
    assert adapter.mode == mode
    try:
        job_id = await adapter.submit(
            GenerationRequest(prompt=PROMPT, duration=6, aspect="9:16", seed=3)
        )
        assert "/publishers/google/models/veo-3.1-generate-001/operations/" in f"/{job_id}"
        status = await finish(adapter, job_id)
        assert status.state == "succeeded", status.error
        out = await adapter.download(status, tmp_path / "veo.mp4")
        assert out.read_bytes()[4:8] == b"ftyp"
    finally:
        await adapter.aclose()
    body = next(iter(sandbox.state.jobs.values())).request
    assert body["parameters"]["durationSeconds"] == 6 and body["parameters"]["seed"] == 3
    assert body["parameters"]["generateAudio"] is True


def test_the_registry_reaches_veo_whenever_vertex_ai_is_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in ("GOOGLE_CLOUD_PROJECT", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(var, raising=False)
    none = Settings(data_dir=tmp_path)
    assert "GOOGLE_CLOUD_PROJECT" in (unavailable(none) or "")
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    assert "retired" in (Registry(Settings(data_dir=tmp_path)).unavailable_reason("veo") or "")
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    assert Registry(Settings(data_dir=tmp_path)).unavailable_reason("veo") is None
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "sa.json"))
    settings = Settings(data_dir=tmp_path)
    assert Registry(settings).unavailable_reason("veo") is None

    from memory.briefs import load_brief
    from tests.conftest import EXAMPLES
    from tools.planner import plan_scenes

    brief = load_brief(EXAMPLES / "harbour-return.yaml")
    talk = plan_scenes(brief, Registry(settings))[0].shots[0]
    assert (talk.provider, talk.model) == ("veo", "veo-3.1-generate-001")
    assert talk.preferred_reason.startswith("dialogue → Veo 3")
    assert talk.provider_reason == "via Vertex AI veo-3.1-generate-001"
    assert 'Father says: "I never really left."' in talk.prompt and len(talk.prompt) <= 1024
