"""The official SDKs complete a generation against the sandbox: proof the fakes are faithful."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.providers.conftest import is_mp4
from tools.providers.base import GenerationRequest
from tools.providers.sandbox import Sandbox
from tools.settings import Settings


def until(check: Callable[[], Any], *, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None:
            return value
        assert time.monotonic() < deadline, "the sandbox job never finished"
        time.sleep(0.02)


def fetch(url: str, dest: Path, headers: dict[str, str] | None = None) -> Path:
    response = httpx.get(url, headers=headers, follow_redirects=True)
    response.raise_for_status()
    dest.write_bytes(response.content)
    return dest


@pytest.fixture
def slow(sandbox: Sandbox) -> Sandbox:
    sandbox.state.latency = 0.1  # long enough that each SDK sees a non-terminal state
    return sandbox


def test_runwayml_sdk_text_and_image_to_video(
    slow: Sandbox, ref_image: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from runwayml import RunwayML

    # no SDK retries: on a loaded machine a slow answer would be sent again and counted twice
    client = RunwayML(
        api_key="sandbox",
        base_url=slow.base_urls()["REELFORGE_RUNWAY_BASE_URL"],
        max_retries=0,
        timeout=120,
    )
    request.addfinalizer(client.close)
    created = client.text_to_video.create(
        model="gen4.5", prompt_text="a lighthouse", ratio="1280:720", duration=5
    )
    statuses: list[str] = []

    def done() -> Any:
        task = client.tasks.retrieve(created.id)
        statuses.append(task.status)
        return task if task.status in ("SUCCEEDED", "FAILED") else None

    task = until(done)
    assert task.status == "SUCCEEDED" and {"PENDING", "RUNNING"} & set(statuses)
    assert is_mp4(fetch(task.output[0], tmp_path / "runway.mp4"))
    image = "data:image/png;base64," + base64.b64encode(ref_image.read_bytes()).decode()
    i2v = client.image_to_video.create(
        model="gen4.5", prompt_image=image, prompt_text="it moves", ratio="1280:720", duration=5
    )
    assert until(lambda: client.tasks.retrieve(i2v.id).status == "SUCCEEDED" or None)
    assert slow.stats()["submissions"] == {"runway": 2}


def test_lumaai_sdk_generation(
    slow: Sandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from lumaai import LumaAI

    client = LumaAI(
        auth_token="sandbox",
        base_url=slow.base_urls()["REELFORGE_LUMA_BASE_URL"],
        max_retries=0,
        timeout=120,
    )
    request.addfinalizer(client.close)
    generation = client.generations.create(
        model="ray-2", prompt="a lighthouse", aspect_ratio="16:9", duration="5s"
    )
    assert generation.state == "queued"
    done = until(
        lambda: g if (g := client.generations.get(generation.id)).state == "completed" else None
    )
    assert done.assets is not None and done.assets.video is not None
    assert is_mp4(fetch(done.assets.video, tmp_path / "luma.mp4"))


async def test_google_genai_sdk_polls_and_downloads_a_veo_operation(
    slow: Sandbox, sandbox_settings: Settings, request: pytest.FixtureRequest
) -> None:
    """google-genai 3.x refuses `generate_videos` with an API key ("only supported in Gemini
    Enterprise Agent Platform mode"), in line with the reported retirement of Veo on the Gemini
    API. The operation and file shapes are still checked with the SDK: our adapter creates the
    operation (documented REST), the SDK parses, polls and downloads it."""
    from google import genai
    from google.genai import types

    from tools.providers.veo import VeoProvider

    client = genai.Client(
        api_key="sandbox",
        http_options=types.HttpOptions(
            base_url=slow.base_urls()["REELFORGE_VEO_BASE_URL"], api_version="v1beta"
        ),
    )
    request.addfinalizer(client.close)
    with pytest.raises(ValueError, match="only supported in Gemini Enterprise"):
        client.models.generate_videos(
            model="veo-3.1-generate-preview", source=types.GenerateVideosSource(prompt="x")
        )
    adapter = VeoProvider(sandbox_settings)
    name = await adapter.submit(
        GenerationRequest(
            prompt="a lighthouse", duration=8, aspect="16:9", model="veo-3.1-generate-preview"
        )
    )
    await adapter.aclose()
    operation = types.GenerateVideosOperation(name=name)
    seen: list[bool] = []

    def done() -> Any:
        op = client.operations.get(operation)
        seen.append(bool(op.done))
        return op if op.done else None

    operation = until(done)
    assert seen[0] is False
    assert operation.response is not None and operation.response.generated_videos
    video = operation.response.generated_videos[0].video
    assert video is not None and video.uri is not None
    # The SDK takes the file id only from https URIs and fetches it from its base URL.
    https = types.Video(uri=video.uri.replace("http://", "https://", 1))
    data = client.files.download(file=https)
    assert data[4:8] == b"ftyp" and len(data) > 1000


def test_fal_client_queue_through_the_returned_urls_and_by_request_id(
    slow: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import fal_client
    import fal_client.client

    # fal-client builds queue URLs from this module constant (from FAL_QUEUE_RUN_HOST, https only).
    monkeypatch.setattr(fal_client.client, "QUEUE_URL_FORMAT", f"{slow.url}/fal/")
    client = fal_client.SyncClient(key="sandbox")
    request.addfinalizer(lambda: client._client.close())
    handle = client.submit(
        "fal-ai/pika/v2.2/text-to-video",
        arguments={"prompt": "a lighthouse", "duration": 5, "aspect_ratio": "16:9"},
    )
    assert isinstance(handle.status(), fal_client.Queued | fal_client.InProgress)
    result = handle.get(interval=0.02)
    assert is_mp4(fetch(result["video"]["url"], tmp_path / "pika.mp4"))
    again = client.result("fal-ai/pika/v2.2/text-to-video", handle.request_id)
    assert again["video"]["url"] and isinstance(
        client.status("fal-ai/pika/v2.2/text-to-video", handle.request_id), fal_client.Completed
    )


def test_openai_sdk_speech_and_gpt_image(sandbox: Sandbox, request: pytest.FixtureRequest) -> None:
    from openai import OpenAI

    client = OpenAI(api_key="sandbox", base_url=sandbox.base_urls()["REELFORGE_OPENAI_BASE_URL"])
    request.addfinalizer(client.close)
    speech = client.audio.speech.create(model="gpt-4o-mini-tts", voice="coral", input="Hello there")
    audio = speech.content
    assert audio[:3] == b"ID3" or audio[:2] == b"\xff\xfb"
    image = client.images.generate(model="gpt-image-1", prompt="a lighthouse", size="1536x1024")
    assert image.data and image.data[0].b64_json
    assert base64.b64decode(image.data[0].b64_json)[:8] == b"\x89PNG\r\n\x1a\n"
    assert sandbox.stats()["submissions"] == {"openai": 2}


def test_elevenlabs_sdk_speech_sound_effects_and_music(
    sandbox: Sandbox, request: pytest.FixtureRequest
) -> None:
    from elevenlabs.client import ElevenLabs

    http = httpx.Client(timeout=30)
    request.addfinalizer(http.close)
    client = ElevenLabs(
        api_key="sandbox",
        base_url=sandbox.base_urls()["REELFORGE_ELEVENLABS_BASE_URL"],
        httpx_client=http,
    )
    speech = b"".join(
        client.text_to_speech.convert(
            voice_id="JBFqnCBsd6RMkjVDRZzb", text="Hello there", model_id="eleven_multilingual_v2"
        )
    )
    sfx = b"".join(client.text_to_sound_effects.convert(text="waves", duration_seconds=2))
    music = b"".join(client.music.compose(prompt="calm piano", music_length_ms=4000))
    for audio in (speech, sfx, music):
        assert len(audio) > 500 and (audio[:3] == b"ID3" or audio[:2] == b"\xff\xfb")
    assert sandbox.stats()["submissions"] == {"elevenlabs": 3}
