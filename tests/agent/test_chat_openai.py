"""Must hold: the same conversation runs through `ChatOpenAI` against a loopback fake OpenAI
server speaking chat completions with tool calls, both streamed and not.

The fake server's brain is the offline director, fed what came over HTTP, so every tool call
and tool result makes the round trip through the real openai client and LangChain's converters.
The one thing HTTP does not carry is a tool's artifact (the thread's state as data, which the
offline director decides from instead of parsing sentences): the brain reads it from the thread's
studio, as the tool would have handed it over.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from agent.conversation.state import of_studio
from agent.director import OfflineDirector
from agent.runtime import ChatRuntime
from tests.agent.conversation import CONVERSATION
from tests.fakes.openai_chat import serve
from tools.settings import Settings
from tools.studio import Studio

pytestmark = pytest.mark.ffmpeg


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
def test_conversation_through_chat_openai(tmp_path: Path, streaming: bool) -> None:
    director = OfflineDirector()
    studios: list[Studio] = []

    def brain(messages: list[BaseMessage]) -> AIMessage:
        results = [m for m in messages if isinstance(m, ToolMessage)]
        if results and studios:
            results[-1].artifact = of_studio(studios[0]).model_dump(mode="json")
        return director.respond(messages)

    with serve(brain) as fake:
        model = ChatOpenAI(
            model="qwen2.5:7b",
            base_url=fake.url,
            api_key=SecretStr("not-needed"),
            streaming=streaming,
            max_retries=0,
            timeout=30,
        )
        settings = Settings(data_dir=tmp_path / "data")

        async def talk() -> list[str]:
            replies: list[str] = []
            async with ChatRuntime.open(settings, model=model) as runtime:
                studios.append(runtime.studio("openai-thread"))
                for line in CONVERSATION:
                    turn = await runtime.send("openai-thread", line)
                    assert turn.approval is None  # the animatic is free: nothing to approve
                    replies += turn.replies
                project = runtime.studio("openai-thread").project()
                assert project is not None
                revisions = runtime.services.store.revisions(project.id)
                assert len(revisions) == 2
                assert all(len(r.production.exports) == 3 for r in revisions)
                assert all(p.exists() for r in revisions for p in r.production.exports)
            return replies

        replies = asyncio.run(talk())

    assert any(r.startswith("Exported revision 1") for r in replies)
    assert any(r.startswith("Exported revision 2") for r in replies)
    tools_sent = {t["function"]["name"] for t in fake.requests[0]["tools"]}
    assert {"update_brief", "plan_production", "generate_takes", "revise_video"} <= tools_sent
    assert all(r.get("stream", False) is streaming for r in fake.requests)
    assert all(h["authorization"] == "Bearer not-needed" for h in fake.headers)
    # tool results went back to the model as role "tool" messages
    roles = [m["role"] for m in fake.requests[-1]["messages"]]
    assert roles[0] == "system" and "tool" in roles
