"""Drive recorded conversations through the real ChatRuntime with the offline director and
compare the brief each one leaves with the brief it must produce (shared by the test and
bench/interview.py)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.director import OfflineDirector
from agent.runtime import ChatRuntime, build_agent
from agent.tools import ALL_TOOLS
from tools.settings import Settings

HERE = Path(__file__).resolve().parent
KEYS = ("title", "story", "mood", "style", "duration", "formats", "audience", "platform")
# Rendering is not what these conversations test: without these tools a go-ahead is recorded
# as the director's call (and its error) instead of minutes of animatic renders.
NOT_HERE = ("generate_takes", "export_video", "apply_revision")


@dataclass
class Outcome:
    name: str
    expected: dict[str, Any]
    got: dict[str, Any]
    replies: list[list[str]]
    calls: list[str] = field(default_factory=list)
    director_ms: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.diff()

    def diff(self) -> dict[str, tuple[Any, Any]]:
        out = {}
        for key in KEYS:
            if key not in self.expected and key in ("title",):
                continue
            want = self.expected.get(key)
            have = self.got.get(key)
            if key == "duration" and want is not None:
                want = float(want)
            if want != have:
                out[key] = (want, have)
        return out


def load(path: Path | None = None) -> list[dict[str, Any]]:
    files = [path] if path else sorted(HERE.glob("*.yaml"))
    cases: list[dict[str, Any]] = []
    for f in files:
        cases += yaml.safe_load(f.read_text())
    return cases


class TimedDirector(OfflineDirector):
    """The offline director, timing its own decisions (the per-turn agent overhead it adds)."""

    spent: float = 0.0

    def respond(self, messages: Any) -> Any:
        start = time.perf_counter()
        try:
            return super().respond(messages)
        finally:
            type(self).spent += time.perf_counter() - start


async def run_all(cases: list[dict[str, Any]], data_dir: Path) -> list[Outcome]:
    model = TimedDirector()
    settings = Settings(data_dir=data_dir)
    outcomes = []
    async with ChatRuntime.open(settings, model=model) as runtime:
        tools = [t for t in ALL_TOOLS if t.name not in NOT_HERE]
        runtime.graph = build_agent(model, settings, runtime.graph.checkpointer, tools=tools)
        for i, case in enumerate(cases):
            thread = f"conv-{i}"
            replies, times = [], []
            for message in case["messages"]:
                TimedDirector.spent = 0.0
                turn = await runtime.send(thread, str(message))
                times.append(TimedDirector.spent * 1000)
                replies.append(turn.replies)
            history = await runtime.history(thread)
            calls = [c["name"] for m in history for c in getattr(m, "tool_calls", []) or []]
            draft = runtime.studio(thread).session.draft
            got = {k: draft.get(k) for k in KEYS}
            expected = dict(case["brief"])
            outcomes.append(Outcome(case["name"], expected, got, replies, calls, times))
    return outcomes


def run(cases: list[dict[str, Any]], data_dir: Path) -> list[Outcome]:
    return asyncio.run(run_all(cases, data_dir))
