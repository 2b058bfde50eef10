from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory.models import Brief, Production, PromptComponents, Shot
from memory.store import ProjectStore
from tools.settings import Settings

KEYS = {
    "RUNWAYML_API_SECRET": "rw-key-SECRET-0123456789",
    "LUMAAI_API_KEY": "luma-key-SECRET-0123456789",
    "GEMINI_API_KEY": "gem-key-SECRET-0123456789",
    "KLING_ACCESS_KEY": "kling-ak-SECRET-0123456789",
    "KLING_SECRET_KEY": "kling-sk-SECRET-0123456789",
    "FAL_KEY": "fal-key-SECRET-0123456789",
    "OPENAI_API_KEY": "oa-key-SECRET-0123456789",
    "ELEVENLABS_API_KEY": "xi-key-SECRET-0123456789",
}
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def keyed_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """Settings with every provider key set (and nothing reachable: tests pass transports)."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return Settings(data_dir=tmp_path / "data")


def shot(provider: str = "runway", duration: float = 5) -> Shot:
    return Shot(
        id="1.1",
        scene_index=0,
        index=0,
        description="a lighthouse",
        components=PromptComponents(),
        duration=duration,
        aspect="16:9",
        preferred_provider=provider,
        preferred_reason="test",
        provider=provider,
        provider_reason="test",
        prompt="a lighthouse at dusk",
    )


def project(store: ProjectStore) -> str:
    brief = Brief(
        title="Bodies",
        story="A lighthouse at dusk.",
        mood="calm",
        style="cinematic",
        duration=5,
        formats=["16:9"],
        audience="everyone",
    )
    return store.create_project(brief.title, Production(brief=brief)).id


async def no_sleep(_: float) -> None:
    return None


def adapter_kwargs(handler: Handler) -> dict[str, Any]:
    return {"transport": httpx.MockTransport(handler), "sleep": no_sleep}
