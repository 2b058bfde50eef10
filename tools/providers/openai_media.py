"""OpenAI audio and images: text-to-speech (`/audio/speech`) and gpt-image-1 concept art
(`/images/generations`, always base64). Synchronous endpoints; each returns a file path."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.providers.base import ProviderError
from tools.providers.http import (
    Endpoint,
    Failure,
    Sleep,
    connect,
    dig,
    error_code,
    error_text,
    json_or_text,
    kind_for_status,
    retry_after,
)
from tools.settings import Settings

if TYPE_CHECKING:
    import httpx

ENDPOINT = Endpoint(
    "openai", "OpenAI", "OPENAI_API_KEY", "add credits at platform.openai.com/settings/billing"
)
AUDIO_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")


def classify(response: httpx.Response, op: str) -> Failure:
    body = json_or_text(response)
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    message = error_text(err.get("message")) or error_text(body)
    code = error_code(body)
    kind = kind_for_status(response.status_code)
    if code == "insufficient_quota":
        kind = "credits"  # OpenAI reports an empty balance as 429
    elif code in ("invalid_api_key", "missing_api_key"):
        kind = "auth"
    elif code == "model_not_found":
        kind = "retired"
    elif code in ("moderation_blocked", "content_policy_violation") or "safety system" in message:
        kind = "moderation"
    detail = f"{message} [{code}]" if code else message
    return Failure(kind, detail, response.status_code, retry_after(response.headers))


class OpenAIMedia:
    """OpenAI TTS and image generation for the later steps (voice-over, concept art)."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 120.0,
        sleep: Sleep | None = None,
    ) -> None:
        self.api = connect(
            ENDPOINT,
            settings.openai_api_key,
            base_url=settings.openai_base_url,
            classify=classify,
            auth=lambda key: {"Authorization": f"Bearer {key}"},
            transport=transport,
            client=client,
            timeout_s=timeout_s,
            sleep=sleep,
        )

    async def speak(
        self,
        text: str,
        dest: Path,
        *,
        voice: str = "alloy",
        model: str = "gpt-4o-mini-tts",
        instructions: str | None = None,
        speed: float | None = None,
    ) -> Path:
        """Speech for `text` written to `dest`; the format follows its suffix (default mp3)."""
        fmt = dest.suffix.lstrip(".").lower() or "mp3"
        if fmt not in AUDIO_FORMATS:
            raise ProviderError(f"OpenAI TTS writes {', '.join(AUDIO_FORMATS)}, not {fmt}")
        body: dict[str, Any] = {
            "model": model,
            "input": text,
            "voice": voice,
            "response_format": fmt,
        }
        if instructions and not model.startswith("tts-1"):
            body["instructions"] = instructions
        if speed is not None:
            body["speed"] = speed
        response = await self.api.request(
            "POST", "audio/speech", op="submit", json=body, model=model
        )
        return _write(dest, response.content, "OpenAI TTS")

    async def image(
        self,
        prompt: str,
        dest: Path,
        *,
        model: str = "gpt-image-1",
        size: str = "1536x1024",
        quality: str = "medium",
    ) -> Path:
        """One concept-art image for `prompt`, written to `dest` as PNG."""
        body = {"model": model, "prompt": prompt, "n": 1, "size": size, "quality": quality}
        response = await self.api.request(
            "POST", "images/generations", op="submit", json=body, model=model
        )
        encoded = dig(self.api.json_object(response, "submit"), "data", 0, "b64_json")
        if not isinstance(encoded, str) or not encoded:
            raise ProviderError("OpenAI returned no image data", kind="failed")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise ProviderError("OpenAI returned unreadable image data", kind="failed") from exc
        return _write(dest, raw, "OpenAI images")

    async def aclose(self) -> None:
        await self.api.aclose()


def _write(dest: Path, content: bytes, label: str) -> Path:
    if not content:
        raise ProviderError(f"{label} returned an empty file", kind="failed")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.part")
    part.write_bytes(content)
    part.replace(dest)
    return dest
