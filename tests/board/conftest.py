"""One real project (3 animatic takes of its one shot) shared by the board tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from memory.briefs import load_brief
from memory.models import Project
from tools.production import Services, make
from tools.settings import Settings

BRIEF = """\
title: Garage Night
story: A mechanic fixes an old car in a dim garage at night.
mood: moody
style: cinematic
duration: 3
formats: ["16:9", "9:16"]
audience: everyone
scenes:
  - description: A mechanic works under a car in a dim garage, neon light, handheld close-up
"""


@dataclass
class BoardProject:
    data_dir: Path
    services: Services
    project: Project


@pytest.fixture(scope="module")
def board_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoardProject]:
    root = tmp_path_factory.mktemp("board")
    (root / "brief.yaml").write_text(BRIEF)
    settings = Settings(data_dir=root / "data")
    services = Services.open(settings)
    brief = load_brief(root / "brief.yaml")
    project, _ = asyncio.run(make(brief, services, takes=3, out_dir=root / "out"))
    yield BoardProject(root / "data", services, project)
    asyncio.run(services.aclose())


@pytest.fixture
def use_data_dir(board_project: BoardProject, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI in this test reads the shared project's data dir."""
    monkeypatch.setenv("REELFORGE_DATA_DIR", str(board_project.data_dir))
