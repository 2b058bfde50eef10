from __future__ import annotations

import pytest

from memory.briefs import load_brief, parse_brief
from memory.models import PromptComponents
from tests.conftest import EXAMPLES
from tools.planner import PlanError, plan_scenes, scene_durations, story_scenes
from tools.prompting import build_prompt, extract_components, lint_prompt
from tools.providers.base import CapabilityProfile
from tools.providers.registry import Registry, default_profile
from tools.router import ShotNeeds, capability_gap, preferred_provider, route
from tools.settings import Settings

NEON = (
    "Ultra-realistic cinematic shot of a woman walking through neon Tokyo streets at night, "
    "soft rain, bokeh lights, handheld camera motion, slow push-in, dramatic atmosphere"
)


def needs(description: str, **kw: object) -> ShotNeeds:
    components = extract_components(description, style=str(kw.pop("style", "cinematic")))
    base: dict[str, object] = {"duration": 5.0, "aspect": "16:9"}
    base.update(kw)
    return ShotNeeds(description=description, components=components, **base)  # type: ignore[arg-type]


def test_neon_prompt_states_all_eight_components() -> None:
    c = extract_components(NEON, style="ultra-realistic cinematic", mood="dramatic")
    assert c.missing() == []
    assert c.subject == "a woman"
    assert "through neon Tokyo streets at night" in c.environment
    assert c.camera_movement == "handheld camera motion, slow push-in"  # the words as written
    assert "neon" in c.lighting and c.realism == "photorealistic"
    assert "walking" in c.motion_detail and "rain" in c.motion_detail


def test_linter_names_what_a_bare_prompt_lacks() -> None:
    assert lint_prompt(NEON) == ["emotional_tone"]
    missing = lint_prompt("a cat")
    assert {"camera_movement", "lighting", "environment"} <= set(missing)


@pytest.mark.parametrize(
    ("description", "kw", "expected"),
    [
        ("a man talks to camera", {"dialogue": "Hello there"}, "veo"),
        ("we hear the sound of waves on a beach", {}, "veo"),
        ("an anime fox running in a forest", {}, "pika"),
        ("a dancer spinning in a studio", {}, "kling"),
        ("a calm lake", {"duration": 9.5}, "kling"),
        ("a drone shot flying over the city", {}, "luma"),
        ("a red apple on a table", {}, "runway"),
        ("title text appears", {"kind": "title"}, "animatic"),
    ],
)
def test_rules_pick_the_provider_professionals_would(
    description: str, kw: dict[str, object], expected: str
) -> None:
    provider, reason = preferred_provider(needs(description, **kw))
    assert provider == expected
    assert reason and "\n" not in reason


def test_without_keys_everything_falls_back_to_the_animatic_and_says_why(
    settings: Settings,
) -> None:
    r = route(needs("a drone shot flying over the city"), Registry(settings))
    assert (r.preferred, r.provider) == ("luma", "animatic")
    assert "luma" in r.provider_reason and "animatic" in r.provider_reason


def test_a_configured_capable_provider_is_used(settings: Settings) -> None:
    registry = Registry(settings, adapters={"luma": lambda s: None})  # type: ignore[dict-item]
    settings.lumaai_api_key = "k"  # type: ignore[assignment]
    r = route(needs("a drone shot flying over the city"), registry)
    assert r.provider == "luma" and r.model == "ray-2"


def test_the_closest_configured_provider_stands_in_and_the_reason_says_so(
    settings: Settings,
) -> None:
    settings.runwayml_api_secret = "k"  # type: ignore[assignment]
    fake = {"runway": lambda s: None, "luma": lambda s: None}
    registry = Registry(settings, adapters=fake)  # type: ignore[arg-type]
    r = route(needs("a drone shot flying over the city"), registry)
    assert (r.preferred, r.provider) == ("luma", "runway")
    assert "luma is not configured (set LUMAAI_API_KEY)" in r.provider_reason


def test_capability_gaps_are_explained() -> None:
    runway = default_profile("runway")
    assert capability_gap(runway, needs("x", aspect="1:1")) == "runway does not render 1:1"
    assert "at most 10s" in (capability_gap(runway, needs("x", duration=12.0)) or "")
    refs = needs("x", references=3)
    assert "takes 1 reference images" in (capability_gap(runway, refs) or "")
    assert capability_gap(runway, needs("x")) is None


def test_retired_models_are_not_defaults() -> None:
    veo = default_profile("veo")
    # the Gemini-API previews are reported retired: the default is the Vertex AI GA model
    assert veo.model == "veo-3.1-generate-001" and veo.retired is None
    assert default_profile("veo", "veo-3.1-generate-preview").retired
    profile = CapabilityProfile(
        provider="x",
        model="m",
        label="x",
        durations=[5, 10],
        aspects=["16:9"],
        resolutions=["720p"],
    )
    assert profile.fit_duration(4) == 5 and profile.fit_duration(7) == 10
    assert profile.fit_duration(11) is None


def test_story_becomes_scenes_and_durations_fill_the_brief() -> None:
    specs = story_scenes("One. Two! Three?\nFour")
    assert [s.description for s in specs] == ["One", "Two!", "Three?", "Four"]
    assert scene_durations(specs, 10) == [2.5, 2.5, 2.5, 2.5]
    with pytest.raises(PlanError, match="at least"):
        scene_durations(story_scenes("Aa one. Bb two. Cc three. Dd four."), 1)


def test_three_scene_example_plans_as_expected(settings: Settings) -> None:
    scenes = plan_scenes(load_brief(EXAMPLES / "rooftop-sunset.yaml"), Registry(settings))
    shots = [shot for scene in scenes for shot in scene.shots]
    assert [s.preferred_provider for s in shots] == ["runway", "luma", "animatic"]
    assert all(s.provider == "animatic" and s.provider_reason for s in shots)
    assert sum(s.duration for s in shots) == pytest.approx(12)
    assert shots[2].kind == "title" and shots[2].text_overlay == "Golden Hour"
    assert shots[1].reframe == "pad" and shots[0].reframe == "crop"


def test_long_scenes_are_cut_into_renderable_shots(settings: Settings) -> None:
    brief = parse_brief(
        {
            "title": "t",
            "story": "s",
            "mood": "m",
            "style": "cinematic",
            "duration": 25,
            "formats": ["16:9"],
            "audience": "a",
            "scenes": [{"description": "a long walk"}],
        }
    )
    shots = plan_scenes(brief, Registry(settings))[0].shots
    assert [s.id for s in shots] == ["1.1", "1.2", "1.3"]
    assert sum(s.duration for s in shots) == pytest.approx(25)
    assert all(s.duration <= 10 for s in shots)


def test_overrides_are_honoured_and_checked(settings: Settings) -> None:
    brief = load_brief(EXAMPLES / "rooftop-sunset.yaml")
    shots = [
        s
        for sc in plan_scenes(brief, Registry(settings), overrides={"1": "pika"})
        for s in sc.shots
    ]
    assert shots[0].preferred_provider == "pika" and "override" in shots[0].preferred_reason
    with pytest.raises(PlanError, match="no shot or scene 9"):
        plan_scenes(brief, Registry(settings), overrides={"9": "pika"})


def test_prompts_follow_each_dialect() -> None:
    c = PromptComponents(
        subject="a woman",
        environment="on a pier",
        camera_movement="slow push-in",
        lighting="blue hour",
        style="cinematic",
        realism="photorealistic",
        motion_detail="walking",
        emotional_tone="melancholic",
    )
    assert build_prompt(c, "runway").startswith("Slow push-in: A woman walking on a pier.")
    assert build_prompt(c, "veo", dialogue="Wait").endswith('A woman says: "Wait"')  # Veo's guide
    assert build_prompt(c, "pika").startswith("cinematic, photorealistic style, a woman")
    assert (
        len(build_prompt(c.model_copy(update={"subject": "x" * 5000}), "kling", max_chars=100))
        == 100
    )
