"""The offline director's ears: brief fields from words, and revision phrases as changes."""

from __future__ import annotations

import pytest

from agent.extract import extract
from memory.models import Grade
from tools.revisions import RevisionNotUnderstood, parse_change
from tools.studio import _title_from, normalise_formats, platform_format


def test_first_message_yields_every_stated_field() -> None:
    fields = extract(
        "I want a 15 second video for Instagram Reels, all three formats. Mood: hopeful. "
        "In a cinematic film style. A girl stands on a rooftop at sunset. For young travellers."
    )
    assert fields["duration"] == 15
    assert fields["formats"] == ["9:16", "16:9", "1:1"]
    assert fields["platform"] == "instagram reels"
    assert fields["mood"] == "hopeful"
    assert fields["style"] == "cinematic film"
    assert fields["audience"] == "young travellers"
    assert fields["story"] == "A girl stands on a rooftop at sunset."


@pytest.mark.parametrize(
    ("asked", "text", "expected"),
    [
        ("mood", "dreamy and hopeful", {"mood": "dreamy and hopeful"}),
        ("duration", "12", {"duration": 12.0}),
        ("duration", "half a minute", {"duration": 30.0}),
        ("duration", "2 minutes", {"duration": 120.0}),
        ("formats", "vertical and square", {"formats": ["9:16", "1:1"]}),
        ("audience", "busy parents", {"audience": "busy parents"}),
    ],
)
def test_an_answer_fills_the_field_asked(
    asked: str, text: str, expected: dict[str, object]
) -> None:
    assert extract(text, asked) == expected


def test_an_answer_can_carry_other_fields() -> None:
    fields = extract("young travellers. Export all three formats.", "audience")
    assert fields == {"audience": "young travellers", "formats": ["9:16", "16:9", "1:1"]}


def test_formats_and_platforms() -> None:
    assert normalise_formats(["vertical", "16x9", "all"]) == ["9:16", "16:9", "1:1"]
    with pytest.raises(ValueError, match="unknown format '4:3'"):
        normalise_formats(["4:3"])
    assert platform_format("YouTube Shorts") == "9:16"
    assert platform_format("youtube") == "16:9"
    assert platform_format("a billboard") is None


def test_working_title() -> None:
    assert _title_from("A girl stands on a rooftop at sunset.") == "A Girl on a Rooftop at Sunset"


def _change(text: str, grade: Grade | None = None):  # type: ignore[no-untyped-def]
    return parse_change(
        text,
        grade=grade or Grade(),
        mood="hopeful",
        style="cinematic",
        duration=12,
        formats=["16:9"],
    )


def test_moodier_is_darker_cooler_more_contrasted_and_moodier_in_words() -> None:
    c = _change("can you make it moodier?")
    assert c.phrases == ["moodier"]
    assert c.grade.brightness < 0 and c.grade.temperature < 0 and c.grade.contrast > 1
    assert "moody" in c.mood and "low-key" in c.style
    again = _change("even moodier", c.grade)
    assert again.grade.brightness < c.grade.brightness  # revisions accumulate


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("warmer please", lambda c: c.grade.temperature > 0),
        ("a bit brighter", lambda c: c.grade.brightness > 0),
        ("more cinematic", lambda c: c.grade.contrast > 1 and "anamorphic" in c.style),
        ("faster", lambda c: c.duration < 12),
        ("make it shorter, 8 seconds", lambda c: c.duration == 8),
        ("vertical", lambda c: c.formats == ["9:16", "16:9"]),
    ],
)
def test_common_revision_phrases(text: str, check) -> None:  # type: ignore[no-untyped-def]
    assert check(_change(text))


def test_unknown_revision_names_what_is_understood() -> None:
    with pytest.raises(RevisionNotUnderstood, match="moodier, darker"):
        _change("add a dragon")


def test_the_director_keeps_asking_to_render_after_a_no() -> None:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    from agent.director import OfflineDirector

    director = OfflineDirector()
    history = [
        AIMessage("", tool_calls=[{"name": "plan_production", "args": {}, "id": "c1"}]),
        ToolMessage(
            "Plan for ...",
            tool_call_id="c1",
            name="plan_production",
            artifact={"phase": "planned"},  # the tool's state, which the director reads
        ),
        AIMessage("Plan for ...\nShall I render it? Say 'go'."),
        HumanMessage("not yet"),
    ]
    wait = director.respond(history)
    assert not wait.tool_calls
    go = director.respond([*history, wait, HumanMessage("go")])
    assert [c["name"] for c in go.tool_calls] == ["generate_takes"]
