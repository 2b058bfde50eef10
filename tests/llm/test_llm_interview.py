"""Item 7 of issue 12, the interview: with an LLM configured, a message's brief fields come through
structured output from `ChatOpenAI` against the loopback fake OpenAI server, under the interview's
guard rules; bad output is repaired once, then the offline extraction reads the message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from agent.conversation.llm_interview import (
    Extraction,
    LLMInterviewer,
    guard_fields,
    interviewer_from_settings,
)
from agent.extract import extract
from tests.fakes.openai_chat import Brain, Failure, FakeOpenAI, serve
from tools.settings import Settings

FIRST = (
    "I want a short video for Instagram about a lighthouse keeper on his last night before the "
    "light is automated."
)
STORY = "A lighthouse keeper on his last night before the light is automated."


def chat(fake: FakeOpenAI) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4.1-mini",
        base_url=fake.url,
        api_key=SecretStr("test-key"),
        max_retries=0,
        timeout=30,
    )


def scripted(*replies: object) -> tuple[list[list[BaseMessage]], Brain]:
    seen: list[list[BaseMessage]] = []
    queue = list(replies)

    def brain(messages: list[BaseMessage]) -> AIMessage:
        seen.append(messages)
        r = queue.pop(0)
        if isinstance(r, Failure):
            raise r
        return AIMessage(r if isinstance(r, str) else json.dumps(r))

    return seen, brain


def read(
    text: str, *replies: object, asked: str | None = None, brief: dict[str, object] | None = None
) -> tuple[Extraction, FakeOpenAI, list[list[BaseMessage]]]:
    seen, brain = scripted(*replies)
    with serve(brain) as fake:
        result = LLMInterviewer(chat(fake)).read(text, asked, brief)
    return result, fake, seen


def test_valid_reading_is_used() -> None:
    result, fake, seen = read(
        FIRST,
        {"story": STORY, "platform": "instagram", "not_a_field": []},
    )
    assert result.source == "llm" and result.note is None
    assert result.fields == {"story": STORY, "platform": "instagram"}
    body = fake.requests[0]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "BriefReading"
    assert "not_a_field" in body["response_format"]["json_schema"]["schema"]["properties"]
    sent = json.loads(str(seen[0][1].content))
    assert sent["message"] == FIRST and sent["question_just_asked"] is None


def test_several_fields_in_one_message() -> None:
    text = "Quiet and nostalgic, realistic style, about 20 seconds, square format."
    result, _, _ = read(
        text,
        {
            "mood": "quiet, nostalgic",
            "style": "realistic",
            "duration": 20,
            "formats": ["1:1"],
            "not_a_field": [],
        },
        asked="mood",
        brief={"story": STORY},
    )
    assert result.fields == {
        "mood": "quiet, nostalgic",
        "style": "realistic",
        "duration": 20.0,
        "formats": ["1:1"],
    }


@pytest.mark.parametrize(
    "text",
    ["Looks good, go ahead and make it", "hmm, not sure", "you choose", "go", "ok thanks!"],
)
def test_filler_classified_as_not_a_field_never_lands(text: str) -> None:
    # a careless LLM also puts the phrase in a field: the guard refuses it all the same
    result, _, _ = read(
        text,
        {"style": text, "mood": text, "not_a_field": [text]},
        asked="style",
        brief={"story": STORY},
    )
    assert result.fields == {}
    assert result.not_a_field == [text]
    assert set(result.dropped) == {"style", "mood"}


def test_filler_the_llm_mislabels_is_still_refused() -> None:
    result, _, _ = read(
        "Looks good, go ahead and make it", {"style": "looks good", "not_a_field": []}
    )
    assert result.fields == {}
    assert result.dropped == {"style": "go-ahead or filler, not a field"}


def test_a_scene_edit_never_overwrites_the_story_or_title() -> None:
    text = "swap the second scene for a beach"
    result, _, _ = read(
        text,
        {"story": "A beach", "title": "beach", "not_a_field": []},
        brief={"story": STORY, "title": "The Last Night"},
    )
    assert "story" not in result.fields and "title" not in result.fields
    assert "scene" in result.dropped["story"]


def test_an_invented_story_or_title_is_refused() -> None:
    result, _, _ = read(
        "make it feel warmer",
        {
            "story": "A keeper lights a warm fire in the lamp room",
            "title": "Warm Light",
            "mood": "warmer",
        },
        brief={"story": STORY},
    )
    assert result.fields == {"mood": "warmer"}
    assert result.dropped["story"] == "not the person's words; the story stays"
    assert (
        result.dropped["title"] == "not a title the person gave, nor one made of the story's words"
    )


@pytest.mark.parametrize(
    ("title", "brief", "kept"),
    [
        # drawn from the story told in this message: kept
        ("The Keeper's Last Night", None, True),
        ("Last Light", None, True),
        # words the story never says, a sentence, filler: refused
        ("Storm Over Paris", None, False),
        ("The keeper waits. The light goes out.", None, False),
        ("Looks good", None, False),
        # the brief already has a title and this message does not tell the story: it stays
        ("Last Light", {"story": STORY, "title": "Sea Glass"}, False),
    ],
)
def test_a_title_drawn_from_the_story_is_allowed(
    title: str, brief: dict[str, object] | None, kept: bool
) -> None:
    text = FIRST if brief is None else "make it warmer"
    reading = {"title": title, "not_a_field": []}
    if brief is None:
        reading["story"] = STORY
    result, _, _ = read(text, reading, brief=brief)
    assert (result.fields.get("title") == title) is kept
    assert ("title" in result.dropped) is not kept


def test_title_keeps_its_apostrophe() -> None:
    result, _, _ = read("Call it Grandma's Bread", {"title": "Grandma's Bread", "not_a_field": []})
    assert result.fields == {"title": "Grandma's Bread"}


def test_invalid_json_is_repaired_once_then_used() -> None:
    result, fake, seen = read(
        "about 20 seconds",
        "Duration: 20 seconds",
        {"duration": 20, "not_a_field": []},
        asked="duration",
    )
    assert len(fake.requests) == 2
    assert seen[1][-2].content == "Duration: 20 seconds"
    assert "not valid JSON" in str(seen[1][-1].content)
    assert result.source == "llm" and result.fields == {"duration": 20.0}


def test_schema_error_is_repaired_with_the_error() -> None:
    result, fake, seen = read(
        "for TikTok, vertical",
        {"formats": ["vertical"], "platform": "tiktok"},
        {"formats": ["9:16"], "platform": "tiktok"},
    )
    assert len(fake.requests) == 2
    assert "formats.0" in str(seen[1][-1].content)
    assert result.fields == {"formats": ["9:16"], "platform": "tiktok"}


def test_invalid_twice_falls_back_to_the_offline_extraction_with_a_note() -> None:
    text = "Quiet and nostalgic, realistic style, about 20 seconds, square format."
    result, fake, _ = read(text, "nope", {"duration": -5}, asked="mood")
    assert len(fake.requests) == 2
    assert result.source == "offline"
    assert result.fields == extract(text, "mood")
    assert result.note is not None
    assert "invalid twice when asked to read the message" in result.note
    assert result.note.endswith("the offline interview read it")


def test_server_error_falls_back_to_the_offline_extraction_with_a_note() -> None:
    result, fake, _ = read(FIRST, Failure(503, "no capacity"))
    assert len(fake.requests) == 1
    assert result.source == "offline"
    assert result.fields == extract(FIRST, None)
    assert result.note is not None and "could not read the message" in result.note
    assert "no capacity" in result.note


def test_interviewer_from_settings(tmp_path: Path) -> None:
    assert interviewer_from_settings(Settings(data_dir=tmp_path)) is None
    seen, brain = scripted({"mood": "moody", "not_a_field": []})
    with serve(brain) as fake:
        settings = Settings.model_validate(
            {"data_dir": tmp_path, "OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "sk-test"}
        )
        interviewer = interviewer_from_settings(settings)
        assert interviewer is not None
        assert interviewer.extract("moody", asked="mood") == {"mood": "moody"}
    assert fake.requests[0]["model"] == "gpt-4.1-mini"
    assert fake.headers[0]["authorization"] == "Bearer sk-test"


def test_guard_fields_for_a_chat_agents_tool_arguments() -> None:
    """An LLM chat agent's update_brief arguments meet the same rules."""
    kept, dropped = guard_fields(
        {
            "style": "Looks good, go ahead and make it",
            "story": "A beach",
            "duration": -3,
            "mood": "nostalgic",
            "colour": "blue",
        },
        "swap the second scene for a beach, and make it nostalgic",
        {"story": STORY},
    )
    assert kept == {"mood": "nostalgic"}
    assert set(dropped) == {"style", "story", "duration", "colour"}
