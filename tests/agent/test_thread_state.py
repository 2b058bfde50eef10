"""Must hold: words up, logic down. Every tool hands back its sentence and the thread's state as
data (the ToolMessage artifact); the state survives the checkpointer and the approval step; the
offline director decides from it (or from a summary's JSON state line), so rewording a sentence
cannot break it, and rebuilding the scene list keeps each scene's dialogue and camera."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.conversation import words
from agent.conversation.state import STATE_LINE, SceneState, ThreadState, from_summary
from agent.director import OfflineDirector, summarize, thread_state
from agent.runtime import ChatRuntime
from memory.store import ProjectStore
from tests.agent.test_approvals import _runtime_parts, _script
from tools.production import Services
from tools.providers.registry import Registry
from tools.settings import Settings
from tools.studio import Studio

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BRIEF = (
    "A video for TikTok: a fisherman mends his net, then his daughter walks down the pier, then "
    "they watch the boats come in. Calm and nostalgic, cinematic, 15 seconds, vertical, for "
    "young travellers."
)


def _results(history: list[BaseMessage]) -> list[ToolMessage]:
    return [m for m in history if isinstance(m, ToolMessage)]


def test_the_state_survives_the_checkpointer_and_a_rejected_approval(tmp_path: Path) -> None:
    settings, services, _fake = _runtime_parts(tmp_path)
    model = _script("Understood, nothing was rendered.")

    async def first() -> None:
        async with ChatRuntime.open(settings, model=model, services=services) as rt:
            assert (await rt.send("t", "make me a coffee video")).approval is not None
            await rt.decide("t", "reject", message="too expensive")

    asyncio.run(first())
    settings2, services2, _ = _runtime_parts(tmp_path)

    async def reopened() -> list[BaseMessage]:
        async with ChatRuntime.open(settings2, services=services2) as rt:
            return await rt.history("t")

    history = asyncio.run(reopened())  # read back from the checkpoint on disk
    brief, plan, rejected = _results(history)
    assert brief.name == "update_brief" and isinstance(brief.artifact, dict)
    assert ThreadState.model_validate(brief.artifact).brief["story"].startswith("A cup of coffee")
    planned = ThreadState.model_validate(plan.artifact)
    assert planned.phase == "planned" and planned.missing == [] and planned.scenes
    # the approval step answered for the tool: no artifact, and the director keeps the plan's
    assert rejected.status == "error" and rejected.artifact is None
    assert thread_state(history).phase == "planned"


@pytest.mark.ffmpeg
def test_an_approved_render_reports_its_state(tmp_path: Path) -> None:
    settings, services, _fake = _runtime_parts(tmp_path)
    model = _script("Rendered.")

    async def run() -> list[BaseMessage]:
        async with ChatRuntime.open(settings, model=model, services=services) as rt:
            await rt.send("t", "make me a coffee video")
            await rt.decide("t", "approve")
            return await rt.history("t")

    rendered = _results(asyncio.run(run()))[-1]
    assert rendered.name == "generate_takes"
    state = ThreadState.model_validate(rendered.artifact)
    assert state.phase == "rendered" and state.approval == "approved"


async def _talk(
    settings: Settings, lines: list[str]
) -> tuple[list[str], Studio, list[BaseMessage]]:
    """The offline director's chat; the studio it returns reads the same (still open) store."""
    replies: list[str] = []
    async with ChatRuntime.open(settings, model=OfflineDirector()) as rt:
        for line in lines:
            replies += (await rt.send("t", line)).replies
        history = await rt.history("t")
    store = ProjectStore(settings.db_path)
    return replies, Studio(Services(settings, store, Registry(settings)), "t"), history


def test_a_swap_keeps_each_scenes_dialogue_and_camera(tmp_path: Path) -> None:
    lines = [BRIEF, "in scene 2 she says 'You came back'", "scene 3: drone shot"]
    _, studio, history = asyncio.run(_talk(Settings(data_dir=tmp_path), lines))
    before = studio.brief().scenes
    assert before is not None and before[1].dialogue == "You came back"
    assert before[2].camera == "drone shot"
    reply = OfflineDirector().respond([*history, HumanMessage("swap scene 1 and scene 2")])
    assert reply.tool_calls and reply.tool_calls[0]["name"] == "set_scenes"
    scenes = reply.tool_calls[0]["args"]["scenes"]
    assert [s["description"] for s in scenes] == [
        before[1].description,
        before[0].description,
        before[2].description,
    ]
    assert scenes[0]["dialogue"] == "You came back" and "dialogue" not in scenes[1]
    assert scenes[2]["camera"] == "drone shot" and "camera" not in scenes[0]


def test_a_swap_through_the_chat_saves_the_scenes_with_their_dialogue(tmp_path: Path) -> None:
    lines = [BRIEF, "in scene 2 she says 'You came back'", "swap scene 1 and scene 2"]
    _, studio, _ = asyncio.run(_talk(Settings(data_dir=tmp_path), lines))
    scenes = studio.brief().scenes
    assert scenes is not None
    assert [s.dialogue for s in scenes] == ["You came back", None, None]


def test_rewording_the_tools_sentences_cannot_break_the_director(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(words, "brief", lambda view: "Noted, thanks!")
    monkeypatch.setattr(words, "plan", lambda view: "Here is a plan.")
    lines = ["A girl stands on a rooftop at sunset.", "hopeful", "anime", "20 seconds"]
    lines += ["square", "young travellers", "remove scene 1"]
    replies, studio, history = asyncio.run(_talk(Settings(data_dir=tmp_path), lines))
    assert studio.missing() == [] and studio.project() is not None
    assert studio.session.draft["style"] == "anime"
    calls = [c["name"] for m in history for c in getattr(m, "tool_calls", []) or []]
    assert "plan_production" in calls and calls[-1] == "set_scenes"
    assert "Shall I render it?" in replies[-1]


def test_a_summarised_thread_resumes_from_the_state_line_not_the_prose() -> None:
    state = ThreadState(
        brief={"story": "A harbour at dawn."},
        phase="planned",
        scenes=[
            SceneState(index=1, description="A harbour", duration=5, camera="drone shot"),
            SceneState(index=2, description="A pier", duration=5, dialogue="Hello"),
        ],
    )
    history: list[BaseMessage] = [
        AIMessage("", tool_calls=[{"name": "plan_production", "args": {}, "id": "c1"}]),
        ToolMessage("whatever words", tool_call_id="c1", name="plan_production"),
    ]
    history[1].artifact = state.model_dump(mode="json")
    summary = summarize(history)
    lines = [line for line in summary.splitlines() if line.startswith(STATE_LINE)]
    assert len(lines) == 1 and from_summary(summary) == state
    resumed = [HumanMessage(summary), HumanMessage("swap scenes 1 and 2")]
    reply = OfflineDirector().respond(resumed)
    assert reply.tool_calls[0]["args"]["scenes"] == [
        {"description": "A pier", "dialogue": "Hello", "duration": 5.0},
        {"description": "A harbour", "camera": "drone shot", "duration": 5.0},
    ]


def test_a_thread_summarised_by_the_runtime_still_edits_its_scenes(tmp_path: Path) -> None:
    # 10 messages at most, 6 kept: the filler turns push every tool result into the summary
    settings = Settings(data_dir=tmp_path, history_messages=10)
    lines = [BRIEF, "in scene 2 she says 'You came back'", *["hmm", "ok"] * 4, "remove scene 1"]
    _, studio, history = asyncio.run(_talk(settings, lines))
    summaries = [m for m in history if m.additional_kwargs.get("lc_source") == "summarization"]
    assert summaries and STATE_LINE in str(summaries[0].content)
    assert isinstance(history[-2], ToolMessage) and history[-2].name == "set_scenes"
    scenes = studio.brief().scenes
    assert scenes is not None and len(scenes) == 2 and scenes[0].dialogue == "You came back"
