"""Agent overhead per turn, excluding model latency, and the size of what every call sends.

A turn here is a person's message, one tool call (`show_status`, which reads the store) and a
reply: two model calls. The model answers instantly and times itself; overhead = turn wall time
minus time inside the model. Target <= 50 ms. Tokens are counted with langchain's approximate
counter (about 4 characters a token; exact counts need the model's own tokenizer).
Writes bench/results/agent.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage  # noqa: E402
from langchain_core.messages.utils import count_tokens_approximately  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.utils.function_calling import convert_to_openai_tool  # noqa: E402

from agent.runtime import ChatRuntime, system_prompt  # noqa: E402
from agent.tools import ALL_TOOLS  # noqa: E402
from tools.settings import Settings  # noqa: E402

TURNS = int(os.environ.get("BENCH_AGENT_TURNS", "60"))
RESULTS = ROOT / "bench" / "results"


class InstantModel(BaseChatModel):
    """Calls show_status, then replies; records the time spent inside itself."""

    spent: float = 0.0
    n: int = 0

    @property
    def _llm_type(self) -> str:
        return "instant"

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self

    async def _agenerate(self, messages: list[BaseMessage], *a: Any, **kw: Any) -> ChatResult:
        return self._generate(messages)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        start = time.perf_counter()
        self.n += 1
        if isinstance(messages[-1], ToolMessage):
            reply = AIMessage("Here is where we are.")
        else:
            reply = AIMessage(
                "", tool_calls=[{"name": "show_status", "args": {}, "id": f"c{self.n}"}]
            )
        result = ChatResult(generations=[ChatGeneration(message=reply)])
        self.spent += time.perf_counter() - start
        return result


async def overhead(data_dir: Path) -> dict[str, Any]:
    model = InstantModel()
    settings = Settings(data_dir=data_dir)
    times: list[float] = []
    async with ChatRuntime.open(settings, model=model) as runtime:
        await runtime.send("warm-up", "hello")
        for i in range(TURNS):
            model.spent = 0.0
            start = time.perf_counter()
            await runtime.send("bench", f"status {i}")
            times.append((time.perf_counter() - start - model.spent) * 1000)
    times.sort()
    return {
        "turns": TURNS,
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "target_ms": 50,
        "ok": statistics.median(times) <= 50,
        "note": "history grows to the summary threshold during the run (checkpoint writes grow)",
    }


def prompt_size(data_dir: Path) -> dict[str, Any]:
    prompt = system_prompt(Settings(data_dir=data_dir))
    schemas = [convert_to_openai_tool(t) for t in ALL_TOOLS]
    schema_text = json.dumps(schemas)
    system_tokens = count_tokens_approximately([SystemMessage(prompt)])
    tool_tokens = len(schema_text) // 4
    return {
        "system_prompt_chars": len(prompt),
        "system_prompt_tokens_approx": system_tokens,
        "tool_schemas": len(schemas),
        "tool_schema_chars": len(schema_text),
        "tool_schema_tokens_approx": tool_tokens,
        "total_tokens_approx": system_tokens + tool_tokens,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
            "date": time.strftime("%Y-%m-%d"),
            "overhead_per_turn": asyncio.run(overhead(Path(tmp) / "data")),
            "prompt": prompt_size(Path(tmp)),
        }
    o, p = result["overhead_per_turn"], result["prompt"]
    result["rows"] = [
        {
            "measure": "agent overhead per turn, model latency excluded (median / p95)",
            "result": f"{o['median_ms']} ms / {o['p95_ms']} ms",
            "target": "<= 50 ms",
            "ok": o["ok"],
        },
        {
            "measure": "system prompt + tool schemas sent with every model call",
            "result": f"~{p['total_tokens_approx']} tokens ({p['system_prompt_tokens_approx']} + "
            f"{p['tool_schema_tokens_approx']} for {p['tool_schemas']} tools)",
            "target": "reported",
            "ok": True,
        },
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "agent.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
