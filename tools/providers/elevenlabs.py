"""ElevenLabs: text-to-speech, sound effects (`/v1/sound-generation`) and music (`/v1/music`).

Auth is the `xi-api-key` header. Errors are `{"detail": {"status", "message"}}`; note that an
exhausted quota comes back as 401 `quota_exceeded`, not 402.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.providers.base import ErrorKind
from tools.providers.http import (
    Endpoint,
    Failure,
    Sleep,
    connect,
    error_code,
    error_text,
    json_or_text,
    kind_for_status,
    retry_after,
)
from tools.providers.openai_media import _write
from tools.settings import Settings

if TYPE_CHECKING:
    import httpx

ENDPOINT = Endpoint(
    "elevenlabs", "ElevenLabs", "ELEVENLABS_API_KEY", "upgrade or top up at elevenlabs.io"
)
DEFAULT_VOICE = "JBFqnCBsd6RMkjVDRZzb"  # "George", the voice of ElevenLabs' SDK examples
STATUS_KINDS: dict[str, ErrorKind] = {
    "quota_exceeded": "credits",
    "invalid_api_key": "auth",
    "needs_authorization": "auth",
    "too_many_concurrent_requests": "rate_limited",
    "system_busy": "rate_limited",
    "model_not_found": "retired",
    "voice_not_found": "invalid",
    "content_policy_violation": "moderation",
    "max_character_limit_exceeded": "invalid",
}


def classify(response: httpx.Response, op: str) -> Failure:
    body = json_or_text(response)
    raw = body.get("detail") if isinstance(body, dict) else body
    kind = kind_for_status(response.status_code)
    if isinstance(raw, dict):
        status = error_code(body)
        kind = STATUS_KINDS.get(status, kind)
        detail = f"{error_text(raw)} [{status}]" if status else error_text(raw)
    else:
        detail = error_text(raw)
    return Failure(kind, detail, response.status_code, retry_after(response.headers))


def _output_format(dest: Path) -> str:
    return "wav_44100" if dest.suffix.lower() == ".wav" else "mp3_44100_128"


class ElevenLabs:
    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 300.0,
        sleep: Sleep | None = None,
    ) -> None:
        self.api = connect(
            ENDPOINT,
            settings.elevenlabs_api_key,
            base_url=settings.elevenlabs_base_url,
            classify=classify,
            auth=lambda key: {"xi-api-key": key},
            transport=transport,
            client=client,
            timeout_s=timeout_s,
            sleep=sleep,
        )

    async def _post(self, path: str, body: dict[str, Any], dest: Path, model: str) -> Path:
        response = await self.api.request(
            "POST",
            path,
            op="submit",
            json=body,
            params={"output_format": _output_format(dest)},
            model=model,
        )
        return _write(dest, response.content, ENDPOINT.label)

    async def speak(
        self,
        text: str,
        dest: Path,
        *,
        voice_id: str = DEFAULT_VOICE,
        model_id: str = "eleven_multilingual_v2",
        seed: int | None = None,
    ) -> Path:
        body: dict[str, Any] = {"text": text, "model_id": model_id}
        if seed is not None:
            body["seed"] = seed
        return await self._post(f"v1/text-to-speech/{voice_id}", body, dest, model_id)

    async def sound_effect(
        self,
        text: str,
        dest: Path,
        *,
        duration_s: float | None = None,
        prompt_influence: float | None = None,
        loop: bool = False,
        model_id: str = "eleven_text_to_sound_v2",
    ) -> Path:
        body: dict[str, Any] = {"text": text, "model_id": model_id, "loop": loop}
        if duration_s is not None:
            body["duration_seconds"] = min(30.0, max(0.5, duration_s))
        if prompt_influence is not None:
            body["prompt_influence"] = prompt_influence
        return await self._post("v1/sound-generation", body, dest, model_id)

    async def music(
        self,
        prompt: str,
        dest: Path,
        *,
        length_s: float = 30.0,
        instrumental: bool = True,
        model_id: str = "music_v1",
    ) -> Path:
        body: dict[str, Any] = {
            "prompt": prompt,
            "music_length_ms": int(min(600.0, max(3.0, length_s)) * 1000),
            "force_instrumental": instrumental,
            "model_id": model_id,
        }
        return await self._post("v1/music", body, dest, model_id)

    async def aclose(self) -> None:
        await self.api.aclose()
