"""The runtime's promises: one turn per thread at a time, bounded history, tool errors the model
can act on, and a conversation that resumes from its checkpoint."""

from __future__ import annotations

import asyncio
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.director import summarize
from agent.runtime import ChatRuntime
from tests.fakes.scripted import ScriptedChatModel, call
from tools.settings import Settings


def test_a_second_message_waits_for_the_first_turn(tmp_path: Path) -> None:
    model = ScriptedChatModel(
        script=[call("show_brief"), AIMessage("first done"), AIMessage("second done")]
    )

    async def run() -> list[list[str]]:
        async with ChatRuntime.open(Settings(data_dir=tmp_path), model=model) as rt:
            turns = await asyncio.gather(rt.send("t", "one"), rt.send("t", "two"))
            return [t.replies for t in turns]

    assert asyncio.run(run()) == [["first done"], ["second done"]]
    model.assert_complete()
    # the second turn started only after the first finished: it saw the first's whole exchange
    seen = [type(m).__name__ for m in model.calls[2]]
    assert seen[-4:] == ["AIMessage", "ToolMessage", "AIMessage", "HumanMessage"]
    assert str(model.calls[2][-1].content) == "two"


def test_a_tool_error_comes_back_as_a_message_the_model_can_act_on(tmp_path: Path) -> None:
    model = ScriptedChatModel(
        script=[
            call("update_brief", duration=-3, formats=["4:3"]),
            AIMessage("That length can't work; how long should it be?"),
        ]
    )

    async def run() -> None:
        async with ChatRuntime.open(Settings(data_dir=tmp_path), model=model) as rt:
            turn = await rt.send("t", "minus three seconds, 4:3")
            assert turn.replies == ["That length can't work; how long should it be?"]
            assert rt.studio("t").session.draft == {}  # nothing half-saved

    asyncio.run(run())
    model.assert_complete()
    result = model.calls[1][-1]
    assert isinstance(result, ToolMessage)
    assert str(result.content).startswith("error: duration must be between 0 and 600")


def test_long_histories_are_summarised_so_the_prompt_stays_bounded(tmp_path: Path) -> None:
    turns = 30
    model = ScriptedChatModel(script=[AIMessage(f"reply {i}") for i in range(turns)])
    settings = Settings(data_dir=tmp_path, history_messages=12)

    async def run() -> None:
        async with ChatRuntime.open(settings, model=model, summarizer=summarize) as rt:
            for i in range(turns):
                await rt.send("t", f"message {i}")

    asyncio.run(run())
    model.assert_complete()
    sizes = [len(c) for c in model.calls]
    assert max(sizes) <= 12 + 2  # system prompt + summary on top of the kept messages
    last = model.calls[-1]
    assert any(isinstance(m, HumanMessage) and "summary" in str(m.content).lower() for m in last), (
        "the dropped history was replaced by a summary"
    )
    assert str(last[-1].content) == f"message {turns - 1}"


def test_a_thread_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    first = ScriptedChatModel(script=[AIMessage("Noted: a cat film.")])
    second = ScriptedChatModel(script=[AIMessage("Still the cat film.")])
    settings = Settings(data_dir=tmp_path)

    async def run(model: ScriptedChatModel, text: str) -> None:
        async with ChatRuntime.open(settings, model=model) as rt:
            await rt.send("cli:abc", text)

    asyncio.run(run(first, "a film about a cat"))
    asyncio.run(run(second, "what was it about?"))
    second.assert_complete()
    contents = [str(m.content) for m in second.calls[0]]
    assert "a film about a cat" in contents and "Noted: a cat film." in contents
