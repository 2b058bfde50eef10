"""References in shots: the planner pass attaches them, prompts carry canonical descriptions,
providers get reference images within their limits, and `plan` flags characters with none."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli.main import plan_json
from memory.models import Brief, Production, SceneSpec
from memory.refstore import RefStore
from tools.planner import plan_scenes
from tools.providers.registry import Registry, default_profile
from tools.references import attach_references, reference_images, unreferenced_characters
from tools.settings import Settings


@pytest.fixture
def production(tmp_path: Path) -> Production:
    brief = Brief(
        title="Golden",
        story="s",
        mood="hopeful",
        style="warm faded seventies film",
        duration=12,
        formats=["9:16"],
        audience="everyone",
        scenes=[
            SceneSpec(description="Mia runs across the top of the building at sunset"),
            SceneSpec(description="Tom waits by the water while Nadia mends a net"),
            SceneSpec(description='title card with the words "Golden Mia"'),
        ],
    )
    registry = Registry(Settings(data_dir=tmp_path / "data"))
    return Production(brief=brief, scenes=plan_scenes(brief, registry))


def test_attach_references_puts_refs_and_canonical_descriptions_into_shots(
    production: Production, library_store: RefStore
) -> None:
    planned = attach_references(production, library_store, None)
    first, second, title = planned.shots()
    by_id = {r.id: r for r in library_store.get([*first.reference_ids, *second.reference_ids])}
    names = [by_id[i].name for i in first.reference_ids]
    assert names[:2] == ["Mia", "Rooftop"]  # character first
    assert names[2:] == ["Vintage film"]  # the library look that matches the brief's style
    assert "a young girl with a red scarf and a yellow raincoat" in first.prompt
    assert "water towers" in first.components.environment
    assert {"Tom", "Vintage film"} <= {by_id[i].name for i in second.reference_ids}
    assert title.reference_ids == [] and title.prompt == production.shots()[2].prompt


def test_plan_json_shows_references_and_flags_unreferenced_characters(
    production: Production, library_store: RefStore
) -> None:
    data = plan_json(attach_references(production, library_store, None), takes=1)
    shots = [s for sc in data["scenes"] for s in sc["shots"]]
    assert (
        shots[0]["references"][0].startswith("mia-") and shots[0]["unreferenced_characters"] == []
    )
    assert shots[1]["unreferenced_characters"] == ["Nadia"]  # Tom has a reference; Nadia none
    assert shots[2]["unreferenced_characters"] == []  # title text is not a character
    assert plan_json(production, takes=1)["scenes"][0]["shots"][0]["unreferenced_characters"] == [
        "Mia"
    ]


def test_reference_images_respect_each_providers_limit(
    production: Production, library_store: RefStore
) -> None:
    shot = attach_references(production, library_store, None).shots()[0]
    refs = library_store.get(shot.reference_ids)
    assert len(refs) >= 3
    for provider, model, limit in [("veo", None, 3), ("runway", "gen4.5", 1), ("luma", None, 0)]:
        paths = reference_images(shot, refs, default_profile(provider, model))
        assert len(paths) == limit
        if limit:
            assert paths[0] == refs[0].file  # the character's image goes first
            assert all(p.exists() for p in paths)


def test_unreferenced_characters_reads_names_not_places() -> None:
    from memory.models import PromptComponents, Shot

    shot = Shot(
        id="1.1", scene_index=1, index=1, description="Mia walks through Tokyo with Tom.",
        components=PromptComponents(), duration=4, aspect="9:16", preferred_provider="animatic",
        preferred_reason="r", provider="animatic", provider_reason="r",
        reference_ids=["mia-1234abcd"],
    )  # fmt: skip
    assert unreferenced_characters(shot) == ["Tom"]
