from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.providers.sandbox import Sandbox
from tools.settings import Settings


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One loopback sandbox for the session; clips are cached across tests."""
    with Sandbox(cache_dir=tmp_path_factory.mktemp("sandbox-cache")) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Iterator[Sandbox]:
    sandbox_server.reset()
    sandbox_server.state.latency = 0.0
    yield sandbox_server
    sandbox_server.reset()


@pytest.fixture
def sandbox_settings(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """Settings as a user gets them after exporting what `reelforge sandbox` prints."""
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    return Settings(data_dir=tmp_path / "data")


class FakeSleep:
    """Records the waits an adapter asks for, without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def ref_image(tmp_path: Path) -> Path:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 180), (200, 40, 40)).save(buf, format="PNG")
    path = tmp_path / "ref.png"
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture
def ref_image_2(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "last.png"
    Image.new("RGB", (320, 180), (40, 40, 200)).save(path, format="PNG")
    return path


def is_mp4(path: Path) -> bool:
    head = path.read_bytes()[:64]
    return path.stat().st_size > 1000 and b"ftyp" in head
