"""A character added to the reference library is pulled into the chat's plan of a shot naming
her: the reference id on the shot and her canonical description in its prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory.refstore import RefStore
from tests.refs.conftest import make_png
from tools.production import Services
from tools.references import add_reference
from tools.settings import Settings
from tools.studio import Studio


def _mia(settings: Settings, tmp_path: Path, description: str = "a girl with a red scarf"):  # type: ignore[no-untyped-def]
    """Mia, a character in the shared library."""
    return add_reference(
        make_png(tmp_path / "mia.png", "mia"),
        "character",
        "Mia",
        description,
        None,
        store=RefStore.open(settings.data_dir),
        refs_dir=settings.data_dir / "refs",
    )


def _plan(studio: Studio, story: str, fmt: str = "9:16") -> None:
    studio.update_brief(
        story=story,
        mood="hopeful",
        style="cinematic",
        duration=4,
        formats=[fmt],
        audience="travellers",
    )
    studio.plan()


def test_plan_in_chat_uses_library_references(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    added = _mia(settings, tmp_path)
    services = Services.open(settings)
    try:
        studio = Studio(services, "t")
        _plan(studio, "Mia stands on a rooftop at sunset.")
        project, production = studio._require_project()
        (shot,) = production.shots()
        assert shot.reference_ids == [added.reference.id]
        assert "red scarf" in shot.prompt
    finally:
        services.store.close()


def test_no_reference_store_means_no_chroma(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    services = Services.open(settings)
    try:
        studio = Studio(services, "t")
        _plan(studio, "Mia stands on a rooftop.", "1:1")
        assert not (settings.data_dir / "chroma").exists()
    finally:
        services.store.close()


def test_reference_tools_through_the_agent(tmp_path: Path) -> None:
    import asyncio

    from langchain_core.messages import AIMessage, ToolMessage

    from agent.runtime import ChatRuntime
    from tests.fakes.scripted import ScriptedChatModel, call

    png = make_png(tmp_path / "roof.png", "roof")
    bad = tmp_path / "fake.png"
    bad.write_bytes(b"%PDF-1.4 not an image")
    model = ScriptedChatModel(
        script=[
            call("add_reference", "c0", path=str(png), kind="environment", name="the roof"),
            call("add_reference", "c1", path=str(bad), kind="environment", name="x", library=True),
            call(
                "add_reference",
                "c2",
                path=str(png),
                kind="environment",
                name="the roof",
                description="a flat concrete rooftop with a water tower",
                library=True,
            ),
            call("find_references", "c3", text="rooftop"),
            AIMessage("done"),
        ]
    )

    async def run() -> None:
        async with ChatRuntime.open(
            Settings(data_dir=tmp_path / "data"), model=model, read_dirs=(tmp_path,)
        ) as rt:
            await rt.send("t", "here is the roof")

    asyncio.run(run())
    model.assert_complete()
    results = [str(m.content) for m in model.calls[-1] if isinstance(m, ToolMessage)]
    assert results[0].startswith("error: plan first")  # no project yet: nowhere to keep it
    assert results[1].startswith("error:") and "fake.png" in results[1]
    assert results[2].startswith("Added environment reference 'the roof'")
    assert "the roof (environment" in results[3]


@pytest.mark.ffmpeg
def test_reference_images_reach_the_provider(tmp_path: Path) -> None:
    import asyncio

    from pydantic import SecretStr

    from memory.store import ProjectStore
    from tests.fakes.providers import FakePaidProvider
    from tools.providers.registry import Registry

    settings = Settings(data_dir=tmp_path / "data", runwayml_api_secret=SecretStr("k"))
    added = _mia(settings, tmp_path)
    fake = FakePaidProvider()
    services = Services(
        settings,
        ProjectStore(settings.db_path),
        Registry(settings, adapters={"runway": lambda _s: fake}),
    )
    try:
        studio = Studio(services, "t")
        _plan(studio, "Mia waves from a rooftop.")
        asyncio.run(studio.generate(2))
        project, _ = studio._require_project()
        takes = services.store.takes(project.id)
    finally:
        services.store.close()
    assert [r.reference_images for r in fake.submits] == [[added.reference.file]] * 2
    # each take was scored against Mia's reference, and that is part of how takes rank
    assert all(any(n.startswith("consistency ") for n in t.qc_notes) for t in takes)
