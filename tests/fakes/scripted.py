"""A scripted chat model for agent tests: returns the scripted messages in order, records what it
was shown, and fails the test if the script was not played to the end (`assert_complete`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult


def call(tool: str, call_id: str | None = None, /, **args: Any) -> AIMessage:
    """A scripted tool call."""
    return AIMessage("", tool_calls=[{"name": tool, "args": args, "id": call_id or f"call_{tool}"}])


class UnexpectedModelCall(AssertionError):
    pass


class ScriptedChatModel(BaseChatModel):
    script: list[AIMessage]
    calls: list[list[BaseMessage]] = []
    bound_tools: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Any:
        self.bound_tools = [getattr(t, "name", "") for t in tools]
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if len(self.calls) >= len(self.script):
            raise UnexpectedModelCall(
                f"model called {len(self.calls) + 1} times, script has {len(self.script)} steps; "
                f"last message: {messages[-1].content!r}"
            )
        self.calls.append(list(messages))
        return ChatResult(generations=[ChatGeneration(message=self.script[len(self.calls) - 1])])

    def assert_complete(self) -> None:
        assert len(self.calls) == len(self.script), (
            f"only {len(self.calls)} of {len(self.script)} scripted steps ran"
        )
