"""The one conversation runtime shared by `reelforge chat` and the Slack bot.

It owns the agent graph (LangChain `create_agent` with approval, summarisation and call-limit
middleware), the LangGraph checkpointer (SQLite in the data dir), and one lock per thread so a
thread runs one turn at a time: a second message waits for the first to finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentMiddleware,
    HumanInTheLoopMiddleware,
    InterruptOnConfig,
    ModelCallLimitMiddleware,
    SummarizationMiddleware,
)
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

import prompts
from agent.conversation import words
from agent.conversation.llm_interview import interviewer_from_settings
from agent.models import chat_model, is_offline
from agent.tools import ALL_TOOLS, PAID_TOOLS, ChatContext, Unpriceable, price_of
from tools.production import Reporter, Services
from tools.providers.registry import provider_ids
from tools.settings import Settings
from tools.studio import Studio

ROUTING_RULES = (
    "dialogue or native audio -> veo; stylised, cartoon or anime -> pika; longer than 8 s or "
    "heavy motion -> kling; realistic camera moves -> luma; quick creative clips -> runway; "
    "unconfigured providers fall back to the free offline animatic."
)
MODEL_CALLS_PER_TURN = 30
# The longest chat message taken in; a longer one is refused in one line and never stored.
MAX_MESSAGE_CHARS = 8000

Decision = Literal["approve", "reject", "edit"]


@dataclass(frozen=True)
class Approval:
    """Paid work waiting for a person's decision."""

    tool: str
    args: dict[str, Any]
    price_usd: float
    description: str
    # Why the call cannot be priced; such a call is refused, never approved at $0.
    refusal: str | None = None
    # The person edited the call's arguments: approving runs the edited call.
    edited: bool = False


@dataclass
class Turn:
    """What one message (or one approval decision) produced."""

    replies: list[str] = field(default_factory=list)
    approval: Approval | None = None


def system_prompt(settings: Settings) -> str:
    return prompts.render(
        "system",
        approve_above_usd=f"{settings.approve_above_usd:.2f}",
        providers=", ".join(provider_ids()),
        routing_rules=ROUTING_RULES,
        interview=prompts.load("interview").strip(),
        scenes=prompts.load("scenes").strip(),
        revision=prompts.load("revision").strip(),
    )


def _spend_question(studio: Studio, tool: str, args: dict[str, Any], price: float) -> str:
    return words.spend_question(tool, args, price, studio.budget())


def _approval_config(threshold: float) -> InterruptOnConfig:
    def when(request: ToolCallRequest) -> bool:
        ctx = cast(ChatContext, request.runtime.context)
        call = request.tool_call
        try:
            return price_of(ctx.studio, call["name"], dict(call["args"])) > threshold
        except Unpriceable:
            return True  # stop it: `_run` refuses it with the reason

    def describe(tool_call: Any, state: Any, runtime: Any) -> str:
        ctx: ChatContext = runtime.context
        args = dict(tool_call["args"])
        try:
            price = price_of(ctx.studio, tool_call["name"], args)
        except Unpriceable as exc:
            return f"Cannot price {tool_call['name']}: {exc}"
        return _spend_question(ctx.studio, tool_call["name"], args, price)

    return InterruptOnConfig(
        allowed_decisions=["approve", "edit", "reject"], description=describe, when=when
    )


def build_agent(
    model: BaseChatModel,
    settings: Settings,
    checkpointer: BaseCheckpointSaver[Any] | None,
    tools: list[BaseTool] | None = None,
    summarizer: Any = None,
) -> Any:
    """The agent graph. `tools` defaults to every reelforge tool; long histories are summarised
    by `summarizer` (default: the chat model itself, or an extractive summary offline)."""
    from agent.director import summarize

    if summarizer is None:
        summarizer = summarize if is_offline(model) else model
    middleware: list[AgentMiddleware[Any, Any, Any]] = [
        HumanInTheLoopMiddleware(
            interrupt_on={
                name: _approval_config(settings.approve_above_usd) for name in PAID_TOOLS
            },
            description_prefix="Approve spend",
        ),
        SummarizationMiddleware(
            model,
            summarizer=summarizer,
            trigger=("messages", settings.history_messages),
            keep=("messages", max(6, settings.history_messages // 3)),
        ),
        ModelCallLimitMiddleware(run_limit=MODEL_CALLS_PER_TURN, exit_behavior="end"),
    ]
    return create_agent(
        model,
        tools=tools if tools is not None else ALL_TOOLS,
        system_prompt=system_prompt(settings),
        middleware=middleware,
        context_schema=ChatContext,
        checkpointer=checkpointer,
        name="reelforge",
    )


class ThreadLock:
    """One thread's turn lock, re-entrant within one task: a front end may hold it around a
    whole job (Slack posts replies and files after a turn) while the turn itself takes it
    again; another task waits."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._depth = 0

    async def __aenter__(self) -> ThreadLock:
        me = asyncio.current_task()
        if self._owner is not None and self._owner is me:
            self._depth += 1
            return self
        await self._lock.acquire()
        self._owner, self._depth = me, 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Where conversations are checkpointed: LangGraph's Postgres saver on
    REELFORGE_DATABASE_URL (shared by every process), else SQLite in the data dir."""
    if settings.database_url is not None:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        # a small pool that checks a connection before lending it, so a Postgres restart (or a
        # dropped connection) costs a reconnect, not every later turn; the saver's own settings
        # are what its from_conn_string uses
        async with AsyncConnectionPool(
            settings.database_url.get_secret_value(),
            min_size=1,
            max_size=4,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            check=AsyncConnectionPool.check_connection,
            open=False,
        ) as pool:
            pg_saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]  # rows are dict_row
            await pg_saver.setup()  # its own versioned migrations, applied once
            yield pg_saver
        return
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(settings.data_dir / "threads.db")
    try:
        # WAL + synchronous=NORMAL: durable across a process crash, one fsync per
        # checkpoint rather than per write; this is most of a turn's overhead otherwise.
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        yield AsyncSqliteSaver(conn)
    finally:
        await conn.close()


class ChatRuntime:
    """Conversations over one set of services; safe to share between front ends."""

    def __init__(
        self,
        services: Services,
        model: BaseChatModel,
        checkpointer: BaseCheckpointSaver[Any] | None,
        reporter: Reporter | None = None,
        out_dir: Path | None = None,
        summarizer: Any = None,
        read_dirs: tuple[Path, ...] = (),
    ) -> None:
        self.services = services
        self.model = model
        self.reporter = reporter
        self.out_dir = out_dir
        self.read_dirs = read_dirs
        self.graph = build_agent(model, services.settings, checkpointer, summarizer=summarizer)
        # With an LLM configured, update_brief reads each message through structured output.
        self.interviewer = (
            None if is_offline(model) else interviewer_from_settings(services.settings)
        )
        self._locks: dict[str, ThreadLock] = {}
        self._pending: dict[str, Approval] = {}

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings,
        *,
        model: BaseChatModel | None = None,
        reporter: Reporter | None = None,
        services: Services | None = None,
        out_dir: Path | None = None,
        summarizer: Any = None,
        read_dirs: tuple[Path, ...] = (),
    ) -> AsyncIterator[ChatRuntime]:
        """A runtime with the configured checkpointer (`open_checkpointer`), closed on exit."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        own = services is None
        services = services or Services.open(settings)
        try:
            async with open_checkpointer(settings) as saver:
                yield cls(
                    services,
                    model or chat_model(settings),
                    saver,
                    reporter,
                    out_dir,
                    summarizer,
                    read_dirs,
                )
        finally:
            if own:
                await services.aclose()

    def studio(self, thread_id: str) -> Studio:
        return Studio(self.services, thread_id, self.reporter, self.out_dir, self.read_dirs)

    def lock(self, thread_id: str) -> ThreadLock:
        """The thread's one turn lock (the Slack worker holds it around a whole job)."""
        return self._locks.setdefault(thread_id, ThreadLock())

    _lock = lock

    def pending(self, thread_id: str) -> Approval | None:
        return self._pending.get(thread_id)

    async def send(self, thread_id: str, text: str) -> Turn:
        """One message from the person; waits for any turn already running in this thread.
        A message over MAX_MESSAGE_CHARS is refused in one line and never stored."""
        if len(text) > MAX_MESSAGE_CHARS:
            return Turn(
                [
                    f"That message is too long ({len(text)} characters; the limit is "
                    f"{MAX_MESSAGE_CHARS}). Send it shorter, or put long text in a brief file."
                ]
            )
        async with self._lock(thread_id):
            if thread_id in self._pending:
                approval = self._pending[thread_id]
                return Turn([f"Waiting for your decision first: {approval.description}"], approval)
            return await self._run(thread_id, {"messages": [HumanMessage(text)]})

    async def decide(
        self,
        thread_id: str,
        decision: Decision,
        *,
        message: str | None = None,
        args: dict[str, Any] | None = None,
    ) -> Turn:
        """Answer the thread's pending approval; the decision lands in the spend ledger.

        An edit (`takes=3`) is re-quoted and asked again with the new price and the budget;
        an edit that cannot be priced or does not fit the budget is refused with the reason."""
        async with self._lock(thread_id):
            approval = self._pending.pop(thread_id, None)
            if approval is None:
                return Turn(["There is nothing waiting for approval."])
            studio = self.studio(thread_id)
            if approval.refusal is not None and decision != "reject":
                return await self._refuse(
                    thread_id, studio, approval, f"it cannot be priced: {approval.refusal}"
                )
            if decision == "approve":
                studio.record_decision(True, approval.price_usd, approval.description)
                answer: dict[str, Any] = {"type": "approve"}
                if approval.edited:
                    answer = {
                        "type": "edit",
                        "edited_action": {"name": approval.tool, "args": approval.args},
                    }
            elif decision == "edit":
                new_args = {**approval.args, **(args or {})}
                try:
                    price = price_of(studio, approval.tool, new_args)
                except Unpriceable as exc:
                    return await self._refuse(
                        thread_id, studio, approval, f"that edit cannot be priced: {exc}"
                    )
                problem = studio.budget_problem(price)
                if problem is not None:
                    edited = Approval(approval.tool, new_args, price, approval.description)
                    return await self._refuse(thread_id, studio, edited, problem)
                again = Approval(
                    approval.tool,
                    new_args,
                    price,
                    _spend_question(studio, approval.tool, new_args, price),
                    edited=True,
                )
                self._pending[thread_id] = again
                return Turn([f"Re-quoted the edit: {again.description}"], again)
            else:
                studio.record_decision(False, approval.price_usd, approval.description)
                answer = {
                    "type": "reject",
                    "message": message or "The person rejected this spend; nothing was rendered.",
                }
            return await self._run(thread_id, Command(resume={"decisions": [answer]}))

    async def _refuse(
        self, thread_id: str, studio: Studio, approval: Approval, reason: str
    ) -> Turn:
        """Refuse a paid call with its reason: in the reply, in the ledger, and to the model."""
        said = f"Not done, nothing was spent: {reason}."
        studio.record_decision(False, approval.price_usd, f"refused ({reason}): {approval.tool}")
        answer = {"type": "reject", "message": said}
        turn = await self._run(thread_id, Command(resume={"decisions": [answer]}))
        turn.replies.insert(0, said)
        return turn

    async def _run(self, thread_id: str, payload: Any) -> Turn:
        config: Any = {"configurable": {"thread_id": thread_id}, "recursion_limit": 100}
        context = ChatContext(studio=self.studio(thread_id), interviewer=self.interviewer)
        turn = Turn()
        # Messages already in the thread are never replies of this turn, even when the
        # summariser hands the kept history back as an update.
        seen = {m.id for m in await self.history(thread_id) if m.id}
        async for update in self.graph.astream(
            payload, config, context=context, stream_mode="updates"
        ):
            for node, data in update.items():
                if node == "__interrupt__":
                    turn.approval = self._approval_from(thread_id, data)
                    continue
                for message in _messages(data):
                    if message.id and message.id in seen:
                        continue
                    if message.id:
                        seen.add(message.id)
                    if isinstance(message, AIMessage) and message.text.strip():
                        turn.replies.append(message.text.strip())
        if turn.approval is not None and turn.approval.refusal is not None:
            refused = turn.approval
            after = await self._refuse(
                thread_id,
                self.studio(thread_id),
                refused,
                f"it cannot be priced: {refused.refusal}",
            )
            return Turn([*turn.replies, *after.replies], after.approval)
        if turn.approval is not None:
            self._pending[thread_id] = turn.approval
        return turn

    def _approval_from(self, thread_id: str, interrupts: Any) -> Approval:
        value = interrupts[0].value
        request = value["action_requests"][0]
        studio = self.studio(thread_id)
        args = dict(request["args"])
        try:
            price = price_of(studio, request["name"], args)
        except Unpriceable as exc:
            return Approval(request["name"], args, 0.0, request["description"], refusal=str(exc))
        return Approval(request["name"], args, price, request["description"])

    async def history(self, thread_id: str) -> list[BaseMessage]:
        state = await self.graph.aget_state({"configurable": {"thread_id": thread_id}})
        return list(state.values.get("messages", [])) if state.values else []

    async def restore_pending(self, thread_id: str) -> Approval | None:
        """After a restart, a thread may be waiting for an approval in its checkpoint."""
        state = await self.graph.aget_state({"configurable": {"thread_id": thread_id}})
        if state.interrupts:
            approval = self._approval_from(thread_id, state.interrupts)
            self._pending[thread_id] = approval
            return approval
        return None


def _messages(data: Any) -> list[BaseMessage]:
    if isinstance(data, dict):
        found = data.get("messages", [])
        return list(found) if isinstance(found, list) else []
    return []
