"""Must hold: natural conversations leave exactly the brief they ask for (>= 95% of the set),
no brief field ever holds a go-ahead or filler phrase, a sentence the director does not
understand never changes the brief, and scene edits change only the scene named."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.conversation.interview import is_filler, is_go, read, title_from, wants_default
from agent.conversation.state import SceneState, ThreadState
from agent.director import OfflineDirector
from tests.agent.conversations.runner import Outcome, load, run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    return run(load(), tmp_path_factory.mktemp("conversations"))


def test_at_least_95_percent_of_the_conversations_give_exactly_the_right_brief(
    outcomes: list[Outcome],
) -> None:
    assert len(outcomes) >= 45
    failed = {o.name: o.diff() for o in outcomes if not o.ok}
    rate = 1 - len(failed) / len(outcomes)
    assert rate >= 0.95, f"{rate:.0%} right; wrong: {failed}"


def test_no_brief_field_ever_holds_a_go_ahead_or_filler_phrase(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        for name in ("title", "story", "mood", "style", "audience", "platform"):
            value = outcome.got.get(name)
            if value:
                text = str(value)
                assert not (is_go(text) or wants_default(text) or is_filler(text)), (
                    outcome.name,
                    name,
                    text,
                )
                assert "go ahead" not in text.lower() and "looks good" not in text.lower()


def test_the_director_never_loops_and_each_conversation_reaches_a_plan(
    outcomes: list[Outcome],
) -> None:
    for outcome in outcomes:
        assert "plan_production" in outcome.calls, outcome.name
        asked = [r for turn in outcome.replies for r in turn if "didn't catch" in r]
        assert len(asked) <= 2, (outcome.name, asked)


@pytest.mark.parametrize(
    ("text", "asked", "expected"),
    [
        ("moody", "mood", {"mood": "moody"}),  # was mood "y"
        ("Grandma's Bread", None, {}),  # a bare name is not a story, a mood or a title
        ("call it Grandma's Bread", None, {"title": "Grandma's Bread"}),
        ('title: "Grandma\'s Bread"', None, {"title": "Grandma's Bread"}),
        ("hmm, not sure", "mood", {}),
        ("Looks good, go ahead and make it.", None, {}),
        ("you choose", "style", {}),
        (
            "It's for people who follow slow-living accounts.",
            None,
            {"audience": "people who follow slow-living accounts"},
        ),
        ("for TikTok, one minute", None, {"platform": "tiktok", "duration": 60.0}),
        ("actually make it 30 seconds", "audience", {"duration": 30.0}),
        ("no, horizontal", "audience", {"formats": ["16:9"]}),
        ("change the mood to dark and tense", None, {"mood": "dark and tense"}),
        ("about 20 seconds, square format", "mood", {"duration": 20.0, "formats": ["1:1"]}),
        # a hedge or filler inside a whole answer is not part of the field
        (
            "warm and cozy i guess, handheld camera",
            "style",
            {"style": "warm and cozy, handheld camera"},
        ),
        ("gritty, i think, black and white", "style", {"style": "gritty, black and white"}),
        ("joyful, you know, a bit wild", "mood", {"mood": "joyful, a bit wild"}),
        (
            "soft and natural, like a lifestyle magazine",
            "style",
            {"style": "soft and natural, like a lifestyle magazine"},
        ),
    ],
)
def test_what_a_message_says(text: str, asked: str | None, expected: dict[str, object]) -> None:
    fields = read(text, asked, has_story=True).fields
    fields.pop("story_more", None)
    assert fields == expected


def test_the_lighthouse_message_reads_as_platform_and_story() -> None:
    first = read(
        "I want a short video for Instagram about a lighthouse keeper on his last night before "
        "the light is automated."
    ).fields
    assert first == {
        "platform": "instagram",
        "story": "A lighthouse keeper on his last night before the light is automated.",
    }
    assert title_from(first["story"]) == "A Lighthouse Keeper on His Last Night"
    second = read("Quiet and nostalgic, realistic style, about 20 seconds, square format.", "mood")
    assert second.fields == {
        "mood": "quiet and nostalgic",
        "style": "realistic",
        "duration": 20.0,
        "formats": ["1:1"],
    }


def test_handheld_camera_in_a_story_is_not_the_style() -> None:
    fields = read("a chef cooks pasta in a tiny kitchen, filmed with a handheld camera").fields
    assert "style" not in fields and "handheld camera" in fields["story"]


def test_a_sentence_it_does_not_understand_never_replaces_the_story() -> None:
    reading = read("my cousin is going to love this", "mood", has_story=True)
    assert "story" not in reading.fields


# -- scene edits ------------------------------------------------------------------------------

PLAN = (
    'Plan for "Pier" (20s, 9:16), 3 scene(s):\n'
    "- shot 1.1 (6s, animatic): A harbour at dawn. Why: default\n"
    "- shot 2.1 (8s, animatic): The daughter walks down the pier. Why: default\n"
    "- shot 3.1 (6s, animatic): Father and daughter embrace. Why: default\n"
    "Estimated cost of 1 take(s) per shot: free."
)


STATE = ThreadState(
    phase="planned",
    scenes=[
        SceneState(index=1, description="A harbour at dawn", duration=6.0),
        SceneState(index=2, description="The daughter walks down the pier", duration=8.0),
        SceneState(index=3, description="Father and daughter embrace", duration=6.0),
    ],
)


def _planned(text: str) -> AIMessage:
    """The director's answer to `text` after a plan: the scenes come from the tool's state
    (the artifact), not from the plan's sentence."""
    history: list[BaseMessage] = [
        AIMessage("", tool_calls=[{"name": "plan_production", "args": {}, "id": "c1"}]),
        ToolMessage(
            PLAN,
            tool_call_id="c1",
            name="plan_production",
            artifact=STATE.model_dump(mode="json"),
        ),
        AIMessage(f"{PLAN}\nShall I render it? Say 'go'."),
        HumanMessage(text),
    ]
    return OfflineDirector().respond(history)


def _call(reply: AIMessage) -> tuple[str, dict[str, object]]:
    assert reply.tool_calls, reply.content
    return reply.tool_calls[0]["name"], dict(reply.tool_calls[0]["args"])


def test_swap_the_second_scene_replaces_only_its_description() -> None:
    assert _call(_planned("swap the second scene for a beach")) == (
        "edit_scene",
        {"index": 2, "description": "A beach"},
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in scene 2 she says 'You came back'", {"index": 2, "dialogue": "You came back"}),
        ('scene 2: she says "You came back."', {"index": 2, "dialogue": "You came back."}),
        ("scene 3: drone shot", {"index": 3, "camera": "drone shot"}),
        ("scene 1 should be a foggy harbour", {"index": 1, "description": "A foggy harbour"}),
    ],
)
def test_one_scene_edits(text: str, expected: dict[str, object]) -> None:
    assert _call(_planned(text)) == ("edit_scene", expected)


def test_make_scene_2_faster_changes_scene_2_only() -> None:
    name, args = _call(_planned("make scene 2 faster"))
    scenes = args["scenes"]
    assert name == "set_scenes" and isinstance(scenes, list)
    assert [s["duration"] for s in scenes] == [6.0, 5.6, 6.0]
    assert [s["description"] for s in scenes] == [
        "A harbour at dawn",
        "The daughter walks down the pier",
        "Father and daughter embrace",
    ]


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("remove scene 2", ["A harbour at dawn", "Father and daughter embrace"]),
        ("delete the last scene", ["A harbour at dawn", "The daughter walks down the pier"]),
        (
            "swap scenes 1 and 3",
            [
                "Father and daughter embrace",
                "The daughter walks down the pier",
                "A harbour at dawn",
            ],
        ),
        (
            "move scene 3 to the start",
            [
                "Father and daughter embrace",
                "A harbour at dawn",
                "The daughter walks down the pier",
            ],
        ),
        (
            "add a scene of gulls over the water at the end",
            [
                "A harbour at dawn",
                "The daughter walks down the pier",
                "Father and daughter embrace",
                "Gulls over the water",
            ],
        ),
        (
            "add a scene where the boat docks after scene 1",
            [
                "A harbour at dawn",
                "The boat docks",
                "The daughter walks down the pier",
                "Father and daughter embrace",
            ],
        ),
    ],
)
def test_scene_list_edits(text: str, order: list[str]) -> None:
    name, args = _call(_planned(text))
    assert name == "set_scenes"
    assert [s["description"] for s in args["scenes"]] == order  # type: ignore[attr-defined]


def test_a_scene_change_it_cannot_make_offline_says_so_and_changes_nothing() -> None:
    reply = _planned("make scene 2 more emotional")
    assert not reply.tool_calls
    assert "language model" in str(reply.content)


def test_a_scene_that_does_not_exist_is_named() -> None:
    reply = _planned("remove scene 7")
    assert not reply.tool_calls and "1 to 3" in str(reply.content)


def test_conversation_files_exist() -> None:
    assert list(Path(__file__).parent.glob("conversations/*.yaml"))


def test_make_scene_2_slower_keeps_the_films_length() -> None:
    """A slower scene 2 gets more time and the other scenes give it back (the person set the
    film's length); only when they cannot spare it is a longer film suggested."""
    name, args = _call(_planned("make scene 2 a bit slower"))
    scenes = args["scenes"]
    assert name == "set_scenes" and isinstance(scenes, list)
    durations = [s["duration"] for s in scenes]
    assert durations[1] == 10.4 and sum(durations) == pytest.approx(20.0)
    assert durations[0] == durations[2] == 4.8
    assert [s["description"] for s in scenes][1] == "The daughter walks down the pier"


def test_a_scene_longer_than_the_others_can_spare_asks_for_a_longer_film() -> None:
    reply = _planned("make scene 2 18 seconds")
    assert not reply.tool_calls
    assert "make it 30 seconds" in str(reply.content)


@pytest.mark.parametrize(
    ("text", "durations"),
    [
        ("scene 2 should be 5 seconds", [6.0, 5.0, 6.0]),  # was the description "5 seconds"
        ("make scene 3 last 7 seconds", [5.6, 7.4, 7.0]),
        ("scene 2: 4s", [6.0, 4.0, 6.0]),
    ],
)
def test_a_scenes_length_in_seconds_is_its_duration_not_its_description(
    text: str, durations: list[float]
) -> None:
    name, args = _call(_planned(text))
    scenes = args["scenes"]
    assert name == "set_scenes" and isinstance(scenes, list)
    assert [s["duration"] for s in scenes] == durations
    assert [s["description"] for s in scenes][1] == "The daughter walks down the pier"
