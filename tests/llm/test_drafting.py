"""Item 7 of issue 12: with an LLM configured, scenes and shot components come through structured
output (json_schema) from `ChatOpenAI` against the loopback fake OpenAI server, and go through the
offline writer's rules; bad output is repaired once, then the offline planner's work stands with a
note."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from memory.models import COMPONENT_NAMES, Brief, SceneSpec
from tests.fakes.openai_chat import Failure, FakeOpenAI, serve
from tools.drafting import LLMDrafter, drafter_from_settings
from tools.planner import plan_scenes, story_scenes
from tools.providers.registry import Registry, default_profile
from tools.settings import Settings

IDEA = "A lighthouse keeper on his last night before the light is automated."
PIER = (
    'On the pier the daughter tells her father "You came back." "I never left," he says. '
    "Then the ferry horn sounds and gulls wheel over the water."
)
LONG = "a weathered stone lighthouse " * 80  # about 2,300 characters


def brief(story: str = IDEA, **kw: object) -> Brief:
    base: dict[str, object] = {
        "title": "The Last Night",
        "story": story,
        "mood": "quiet and nostalgic",
        "style": "realistic",
        "duration": 20,
        "formats": ["1:1"],
        "audience": "slow-living followers",
    }
    return Brief.model_validate(base | kw)


GOOD_SCENES = {
    "scenes": [
        {"excerpt": IDEA, "beat": "the lighthouse on its cliff at dusk", "design": "establishing"},
        {"excerpt": IDEA, "beat": "the keeper climbs the spiral stair", "design": "action"},
        {"excerpt": IDEA, "beat": "his hand on the brass lamp", "design": "detail"},
        {"excerpt": IDEA, "beat": "the beam sweeps over the sea", "design": "resolution"},
    ]
}


def shots_asked(messages: list[BaseMessage]) -> list[dict[str, object]]:
    return list(json.loads(str(messages[1].content)))


def is_shots_call(messages: list[BaseMessage]) -> bool:
    return str(messages[0].content).startswith("You are a cinematographer")


def components_reply(messages: list[BaseMessage], **override: dict[str, str]) -> dict[str, object]:
    shots = []
    for shot in shots_asked(messages):
        sid = str(shot["shot_id"])
        c = {
            "subject": f"the old keeper ({sid})",
            "environment": "a granite lighthouse on a cliff",
            "camera_movement": "static tripod wide",
            "lighting": "cold lamp light",
            "style": "painted",
            "realism": "oil painting",
            "motion_detail": "the beam turning slowly",
            "emotional_tone": "elegiac",
        }
        shots.append({"shot_id": sid, "components": c | override.get(sid, {})})
    return {"shots": shots}


Brain = Callable[[list[BaseMessage]], AIMessage]


def chat(fake: FakeOpenAI) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4.1-mini",
        base_url=fake.url,
        api_key=SecretStr("test-key"),
        max_retries=0,
        timeout=30,
    )


def registry(tmp_path: Path, **keys: str) -> Registry:
    return Registry(Settings.model_validate({"data_dir": tmp_path / "data", **keys}))


def reply(obj: object) -> AIMessage:
    return AIMessage(obj if isinstance(obj, str) else json.dumps(obj))


def test_valid_structured_output_is_used_and_linted(tmp_path: Path) -> None:
    def brain(messages: list[BaseMessage]) -> AIMessage:
        if not is_shots_call(messages):
            return reply(GOOD_SCENES)
        return reply(
            components_reply(messages, **{"1.1": {"subject": "  "}, "2.1": {"environment": LONG}})
        )

    reg = registry(tmp_path, RUNWAYML_API_SECRET="rw-key")
    with serve(brain) as fake:
        drafter = LLMDrafter(chat(fake))
        scenes = plan_scenes(brief(formats=["16:9"]), reg, drafter=drafter)
    offline = plan_scenes(brief(formats=["16:9"]), reg)
    notes = drafter.take_notes()

    # both calls asked for structured output against the schemas
    formats = [r["response_format"] for r in fake.requests]
    assert [f["type"] for f in formats] == ["json_schema", "json_schema"]
    assert [f["json_schema"]["name"] for f in formats] == ["SceneDraft", "ShotsDraft"]
    assert len(fake.requests) == 2
    # the drafted beats are the scenes, each led by the person's words, verbatim
    assert [s.description for s in scenes] == [
        f"Establishing shot: {IDEA} The lighthouse on its cliff at dusk.",
        f"{IDEA} The keeper climbs the spiral stair.",
        f"Close detail: {IDEA} His hand on the brass lamp.",
        f"Closing image: {IDEA} The beam sweeps over the sea.",
    ]
    shots = {s.id: s for sc in scenes for s in sc.shots}
    off = {s.id: s for sc in offline for s in sc.shots}
    for sid, shot in shots.items():
        c = shot.components
        assert c.missing() == []  # all eight, always
        assert shot.description in shot.prompt  # the person's words, verbatim, lead the prompt
        assert len(shot.prompt) <= default_profile(shot.provider, shot.model).prompt_max_chars
        # the LLM chose what the person did not say ...
        assert c.subject == f"the old keeper ({sid})" or sid == "1.1"
        assert c.motion_detail == "the beam turning slowly"
        # ... but the person's look, mood and light ("his last night") stay theirs
        assert (c.style, c.emotional_tone) == ("realistic", "quiet and nostalgic")
        assert c.realism == off[sid].components.realism
        assert c.lighting and "cold lamp" not in c.lighting
    # the LLM's camera where the person named none
    assert shots["2.1"].components.camera_movement == "static tripod wide"
    # a component left empty is the offline writer's (for the drafted beat), with a note
    assert shots["1.1"].components.subject == "A lighthouse keeper"
    assert notes == ["shot 1.1: the LLM left subject empty; the offline writer filled it"]
    # an over-long component is fitted to Runway's 1,000 characters
    assert shots["2.1"].provider == "runway"
    assert len(shots["2.1"].prompt) <= 1000
    assert all(len(v.prompt) <= 1000 for v in shots["2.1"].variations)


def test_invalid_json_is_repaired_once_then_used(tmp_path: Path) -> None:
    seen: list[list[BaseMessage]] = []

    def brain(messages: list[BaseMessage]) -> AIMessage:
        seen.append(messages)
        if is_shots_call(messages):
            return reply(components_reply(messages))
        return reply(
            "Sure! Here are your scenes: establishing, action" if len(seen) == 1 else GOOD_SCENES
        )

    with serve(brain) as fake:
        drafter = LLMDrafter(chat(fake))
        scenes = plan_scenes(brief(), registry(tmp_path), drafter=drafter)
    assert len(fake.requests) == 3  # scenes, one repair, shots
    repair = seen[1]
    assert repair[-2].content == "Sure! Here are your scenes: establishing, action"
    assert "not valid JSON" in str(repair[-1].content)
    assert fake.requests[1]["response_format"]["json_schema"]["name"] == "SceneDraft"
    assert len(scenes) == 4 and scenes[1].description.endswith("climbs the spiral stair.")
    assert drafter.take_notes() == []


def test_a_rule_break_is_repaired_with_its_errors(tmp_path: Path) -> None:
    """The pier story's quoted lines must survive: a draft that loses one is sent back with the
    error, and the repaired draft is planned."""
    bad = {
        "scenes": [
            {"excerpt": "On the pier the daughter tells her father", "design": "dialogue"},
            {
                "excerpt": "Then the ferry horn sounds and gulls wheel over the water.",
                "design": "resolution",
            },
        ]
    }
    good = {
        "scenes": [
            {
                "excerpt": 'On the pier the daughter tells her father "You came back." '
                '"I never left," he says.',
                "design": "dialogue",
                "dialogue": "Daughter: You came back.\nFather: I never left",
            },
            {
                "excerpt": "Then the ferry horn sounds and gulls wheel over the water.",
                "design": "resolution",
            },
        ]
    }
    seen: list[list[BaseMessage]] = []

    def brain(messages: list[BaseMessage]) -> AIMessage:
        seen.append(messages)
        if is_shots_call(messages):
            return reply(components_reply(messages))
        return reply(bad if len(seen) == 1 else good)

    with serve(brain) as fake:
        scenes = plan_scenes(
            brief(PIER, duration=16, formats=["16:9"]),
            registry(tmp_path),
            drafter=LLMDrafter(chat(fake)),
        )
    errors = str(seen[1][-1].content)
    assert "'You came back.' is missing" in errors and "'I never left' is missing" in errors
    assert len(fake.requests) == 3
    assert scenes[0].dialogue == "Daughter: You came back.\nFather: I never left"
    shot = scenes[0].shots[0]
    assert '"You came back."' in shot.description and '"I never left,"' in shot.description
    assert shot.dialogue == scenes[0].dialogue  # the line stays in the shot record


def test_invalid_twice_falls_back_to_the_offline_planner_with_a_note(tmp_path: Path) -> None:
    invented = {"scenes": [{"excerpt": "A robot dances on the moon.", "design": "action"}]}

    def brain(messages: list[BaseMessage]) -> AIMessage:
        if is_shots_call(messages):
            return reply({"shots": [{"shot_id": "9.9", "components": {}}]})
        return reply(invented)

    reg = registry(tmp_path)
    with serve(brain) as fake:
        drafter = LLMDrafter(chat(fake))
        scenes = plan_scenes(brief(), reg, drafter=drafter)
    assert len(fake.requests) == 4  # each call asked, repaired once, given up
    notes = drafter.take_notes()
    assert len(notes) == 2
    assert (
        "invalid twice when asked to draft the scenes" in notes[0]
        and "not word for word" in notes[0]
    )
    assert notes[0].endswith("the offline planner drafted the scenes")
    assert "shot 1.1 is missing" in notes[1] and notes[1].endswith(
        "the offline writer wrote the prompts"
    )
    offline = plan_scenes(brief(), reg)
    assert [s.model_dump() for s in scenes] == [s.model_dump() for s in offline]
    assert [s.description for s in scenes] == [s.description for s in story_scenes(IDEA, 20)]


def test_server_error_falls_back_to_the_offline_planner_with_a_note(tmp_path: Path) -> None:
    def brain(messages: list[BaseMessage]) -> AIMessage:
        raise Failure(500, "model overloaded")

    reg = registry(tmp_path)
    with serve(brain) as fake:
        drafter = LLMDrafter(chat(fake))
        scenes = plan_scenes(brief(PIER, duration=16), reg, drafter=drafter)
    assert len(fake.requests) == 2  # no repair of a server error
    notes = drafter.take_notes()
    assert len(notes) == 2
    assert "could not draft the scenes" in notes[0] and "model overloaded" in notes[0]
    assert "could not write the shot components" in notes[1]
    offline = plan_scenes(brief(PIER, duration=16), reg)
    assert [s.model_dump() for s in scenes] == [s.model_dump() for s in offline]


def test_the_persons_camera_and_open_choices_stay_theirs(tmp_path: Path) -> None:
    """A scene the person wrote keeps its words; the LLM cannot replace their camera or fill a
    component they left open."""
    given = brief(
        scenes=[
            SceneSpec(description="A slow dolly-in that turns into a crane up over the harbour"),
            SceneSpec(description="Gulls over the water", camera="you choose"),
        ]
    )

    def brain(messages: list[BaseMessage]) -> AIMessage:
        return reply(components_reply(messages))

    with serve(brain) as fake:
        drafter = LLMDrafter(chat(fake))
        scenes = plan_scenes(given, registry(tmp_path), drafter=drafter)
    assert len(fake.requests) == 1  # the person's scenes are not redrafted
    first, second = scenes[0].shots[0], scenes[1].shots[0]
    assert first.components.camera_movement == "slow dolly-in that turns into a crane up"
    assert "slow dolly-in that turns into a crane up over the harbour" in first.prompt
    assert first.components.subject == "the old keeper (1.1)"
    assert second.components.left_open == ["camera_movement"]
    assert second.components.camera_movement == ""
    assert set(second.components.missing()) == {"camera_movement"}
    assert set(COMPONENT_NAMES) - set(first.components.missing()) == set(COMPONENT_NAMES)


def test_drafter_from_settings(tmp_path: Path) -> None:
    assert drafter_from_settings(Settings(data_dir=tmp_path)) is None
    assert drafter_from_settings(Settings(data_dir=tmp_path, model="offline")) is None

    def brain(messages: list[BaseMessage]) -> AIMessage:
        return reply(components_reply(messages) if is_shots_call(messages) else GOOD_SCENES)

    with serve(brain) as fake:
        settings = Settings.model_validate(
            {
                "data_dir": tmp_path,
                "model": "qwen2.5:7b",
                "OPENAI_BASE_URL": fake.url,
                "OPENAI_API_KEY": "sk-test",
            }
        )
        drafter = drafter_from_settings(settings)
        assert drafter is not None
        scenes = plan_scenes(brief(), registry(tmp_path), drafter=drafter)
    assert len(scenes) == 4
    assert {r["model"] for r in fake.requests} == {"qwen2.5:7b"}
    assert {h["authorization"] for h in fake.headers} == {"Bearer sk-test"}


@pytest.mark.parametrize("story", [IDEA, PIER])
def test_no_drafter_is_the_offline_plan(tmp_path: Path, story: str) -> None:
    reg = registry(tmp_path)
    a = plan_scenes(brief(story), reg)
    b = plan_scenes(brief(story), reg, drafter=None)
    assert [s.model_dump() for s in a] == [s.model_dump() for s in b]


def _scene(excerpt: str, design: str = "action", **kw: object) -> dict[str, object]:
    return {"excerpt": excerpt, "design": design, **kw}


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (
            {"scenes": [_scene("A keeper on his final night.")]},
            "not word for word from the story",
        ),
        (
            {"scenes": [_scene("A lighthouse keeper on his last night"), _scene("the light")]},
            "no scene's excerpt holds this sentence",
        ),
        (
            {"scenes": [_scene(IDEA, dialogue="Keeper: Goodbye, old light.")]},
            "has a line not in the story",
        ),
        (
            {"scenes": [_scene(IDEA, duration=5), _scene(IDEA, "detail", duration=5)]},
            "add up to 10s; the video is 20s long",
        ),
        (
            {"scenes": [_scene(IDEA, duration=19.9), _scene(IDEA, "detail")]},
            "give durations to all scenes or to none",
        ),
        ({"scenes": []}, "scenes: List should have at least 1 item"),
        ({"scenes": [_scene(IDEA, "montage")]}, "scenes.0.design"),
    ],
    ids=["invented", "cut", "invented-line", "short", "squeezed", "empty", "design"],
)
def test_each_rule_break_is_sent_back_with_its_error(
    tmp_path: Path, bad: dict[str, object], error: str
) -> None:
    seen: list[list[BaseMessage]] = []

    def brain(messages: list[BaseMessage]) -> AIMessage:
        seen.append(messages)
        if is_shots_call(messages):
            return reply(components_reply(messages))
        return reply(bad if len(seen) == 1 else GOOD_SCENES)

    with serve(brain) as fake:
        drafter = LLMDrafter(chat(fake))
        scenes = plan_scenes(brief(), registry(tmp_path), drafter=drafter)
    assert len(fake.requests) == 3  # scenes, one repair, shots
    assert error in str(seen[1][-1].content)
    assert len(scenes) == 4 and drafter.take_notes() == []
