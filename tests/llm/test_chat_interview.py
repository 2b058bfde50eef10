"""Item 7 of issue 12 in chat: with an LLM configured, `update_brief` saves what the person's message
says as read through structured output (`BriefReading`) under the interview's guard, not the chat
model's arguments as they come. Everything runs through `ChatRuntime` against the loopback fake
OpenAI server: the chat model's tool calls and the interviewer's JSON replies are both scripted."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agent.conversation.llm_interview import SYSTEM as INTERVIEW_SYSTEM
from agent.extract import extract
from agent.runtime import ChatRuntime
from tests.fakes.openai_chat import FakeOpenAI, serve
from tools.settings import Settings

STORY = "a lighthouse keeper on his last night before the light is automated"


class Script:
    """The fake's brain: the chat model calls update_brief with `calls` (one per person message)
    and relays the tool's sentence; the interviewer's requests get `readings` in order."""

    def __init__(self, calls: list[dict[str, Any]], readings: list[object]) -> None:
        self.calls = list(calls)
        self.readings = list(readings)
        self.interview_requests: list[list[BaseMessage]] = []

    def __call__(self, messages: list[BaseMessage]) -> AIMessage:
        system = messages[0] if messages and isinstance(messages[0], SystemMessage) else None
        if system is not None and str(system.content) == INTERVIEW_SYSTEM:
            self.interview_requests.append(messages)
            reply = self.readings.pop(0)
            return AIMessage(reply if isinstance(reply, str) else json.dumps(reply))
        last = messages[-1]
        if isinstance(last, ToolMessage):
            return AIMessage(str(last.content))
        assert isinstance(last, HumanMessage)
        args = self.calls.pop(0)
        return AIMessage("", tool_calls=[{"name": "update_brief", "args": args, "id": "call_1"}])


def converse(
    tmp_path: Path, script: Script, lines: list[str]
) -> tuple[list[str], dict[str, Any], FakeOpenAI]:
    with serve(script) as fake:
        settings = Settings.model_validate(
            {"data_dir": tmp_path / "data", "OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "sk-t"}
        )

        async def talk() -> tuple[list[str], dict[str, Any]]:
            replies: list[str] = []
            async with ChatRuntime.open(settings) as runtime:
                assert runtime.interviewer is not None
                for line in lines:
                    replies += (await runtime.send("t", line)).replies
                return replies, dict(runtime.studio("t").session.draft)

        replies, draft = asyncio.run(talk())
    return replies, draft, fake


def interview_bodies(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [b for b in fake.requests if "response_format" in b]


def test_multi_field_first_message_is_read_through_structured_output(tmp_path: Path) -> None:
    first = (
        f"I want a 20 second square video for Instagram about {STORY}, quiet and nostalgic, "
        "realistic style."
    )
    script = Script(
        # the chat model itself only passes the story along ...
        [{"story": STORY}],
        # ... the structured reading finds every field, and a title made of the story's words
        [
            {
                "story": STORY,
                "title": "The Keeper's Last Night",
                "mood": "quiet, nostalgic",
                "style": "realistic",
                "duration": 20,
                "formats": ["1:1"],
                "platform": "instagram",
                "not_a_field": [],
            }
        ],
    )
    replies, draft, fake = converse(tmp_path, script, [first])
    assert draft == {
        "story": STORY,
        "title": "The Keeper's Last Night",
        "mood": "quiet, nostalgic",
        "style": "realistic",
        "duration": 20.0,
        "formats": ["1:1"],
        "platform": "instagram",
    }
    (body,) = interview_bodies(fake)
    assert body["response_format"]["json_schema"]["name"] == "BriefReading"
    assert json.loads(body["messages"][-1]["content"])["message"] == first
    assert not any("Note:" in r or "Not saved" in r for r in replies)


def test_invalid_json_is_repaired_once_in_chat(tmp_path: Path) -> None:
    script = Script(
        [{"story": STORY}, {"mood": "moody"}],
        [
            {"story": STORY, "not_a_field": []},
            "Mood: moody",  # not JSON: sent back once with the error
            {"mood": "moody", "not_a_field": []},
        ],
    )
    replies, draft, fake = converse(tmp_path, script, [STORY, "moody"])
    assert draft["mood"] == "moody"
    assert len(interview_bodies(fake)) == 3
    assert "not valid JSON" in str(script.interview_requests[2][-1].content)
    assert not any("Note:" in r for r in replies)


def test_twice_invalid_falls_back_to_the_offline_interview_with_a_note(tmp_path: Path) -> None:
    text = f"{STORY}. Quiet and nostalgic, realistic style, about 20 seconds, square format."
    script = Script([{}], ["nope", {"duration": -5}])
    replies, draft, fake = converse(tmp_path, script, [text])
    assert len(interview_bodies(fake)) == 2
    offline = extract(text, None)
    assert {k: draft[k] for k in offline} == offline
    assert {"story", "mood", "style", "duration", "formats"} <= set(offline)
    assert draft["title"]  # the offline director's working title from the story
    assert any(
        "invalid twice when asked to read the message" in r and "the offline interview read it" in r
        for r in replies
    )


def test_go_ahead_proposed_by_the_model_never_lands_in_a_field(tmp_path: Path) -> None:
    go = "Looks good, go ahead and make it"
    script = Script(
        [{"story": STORY}, {"style": go, "mood": "looks good"}],
        [
            {"story": STORY, "not_a_field": []},
            {"style": go, "not_a_field": [go]},
        ],
    )
    replies, draft, _ = converse(tmp_path, script, [STORY, go])
    assert "style" not in draft and "mood" not in draft
    assert draft["story"] == STORY
    assert any("Not saved as the style: go-ahead or filler" in r for r in replies)
    assert any("Not saved as the mood" in r for r in replies)


def test_a_title_the_model_invents_from_elsewhere_is_refused(tmp_path: Path) -> None:
    script = Script(
        [{"story": STORY, "title": "Storm Over Paris"}],
        [{"story": STORY, "title": "Storm Over Paris", "not_a_field": []}],
    )
    replies, draft, _ = converse(tmp_path, script, [STORY])
    assert draft["title"] == "A Lighthouse Keeper on His Last Night"  # drawn from the story
    assert any("Not saved as the title" in r for r in replies)
