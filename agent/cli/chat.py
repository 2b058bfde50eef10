"""`reelforge chat`: the conversation in the terminal, or piped.

On a terminal it is an interactive prompt. When stdin is not a terminal it reads one message per
line, writes replies to stdout and progress to stderr, and reads approval answers ("approve",
"reject [reason]", "edit takes=2") from the same stream, so a whole conversation can be piped.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

if TYPE_CHECKING:
    from agent.runtime import ChatRuntime, Turn
    from memory.models import Shot, Take

from agent.conversation.turns import parse_decision

QUIT = {"/quit", "/exit", "quit", "exit"}


class LineReporter:
    """Progress for chat: one line on stderr per stage as it starts and ends."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self._seen: dict[str, float] = {}

    def step(self, name: str, fraction: float) -> None:
        from agent.conversation.turns import STEP_LABELS

        label = STEP_LABELS.get(name, name)
        if name not in self._seen:
            self.err.write(f"... {label}\n")
        if fraction >= 1.0 and self._seen.get(name, 0.0) < 1.0:
            self.err.write(f"... {label}: done\n")
        self._seen[name] = fraction
        self.err.flush()

    def take(self, shot: Shot, take: Take) -> None:
        if take.error:
            self.err.write(f"... shot {shot.id} take failed: {take.error}\n")
            self.err.flush()


def _print_turn(turn: Turn, out: Callable[[str], None]) -> None:
    for reply in turn.replies:
        out(reply)


async def _converse(
    runtime: ChatRuntime, thread_id: str, lines: Any, out: Callable[[str], None]
) -> int:
    """Run the conversation; returns how many turns failed (piped chat then exits 1)."""
    from agent.conversation import words  # with the runtime, which is already loaded

    failed = 0
    pending = await runtime.restore_pending(thread_id)
    if pending is not None:
        out(words.approval_question(pending.description))
    while True:
        line = await lines()
        if line is None:
            break
        text = line.strip()
        if not text:
            continue
        if text.lower() in QUIT:
            break
        approval = runtime.pending(thread_id)
        try:
            if approval is not None:
                decision = parse_decision(text)
                if decision is None:
                    out(words.approval_question(approval.description))
                    continue
                kind, message, args = decision
                turn = await runtime.decide(thread_id, kind, message=message, args=args)  # type: ignore[arg-type]
            else:
                turn = await runtime.send(thread_id, text)
        except Exception as exc:  # the model or a bug: say so in one line, keep the conversation
            from agent.cli.common import debug

            if debug():
                raise
            failed += 1
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            sys.stderr.write(f"error: this turn failed ({type(exc).__name__}: {first[:300]})\n")
            if "model" in first.lower() or "openai" in type(exc).__module__:
                sys.stderr.write(
                    "hint: check REELFORGE_MODEL / OPENAI_BASE_URL, or REELFORGE_MODEL=offline\n"
                )
            continue
        _print_turn(turn, out)
        if turn.approval is not None:
            out(words.approval_question(turn.approval.description))
    return failed


def register(app: typer.Typer) -> None:
    @app.command("chat")
    def chat_cmd(
        project: Annotated[
            str | None,
            typer.Option("--project", "-P", help="Resume a project's conversation and production."),
        ] = None,
        thread: Annotated[
            str | None, typer.Option("--thread", "-t", help="Conversation thread id to resume.")
        ] = None,
        out: Annotated[
            Path | None, typer.Option("--out", "-o", help="Write exports under DIR/rev-N/.")
        ] = None,
    ) -> None:
        """Talk it through: interview, plan, approve, make and revise, in conversation."""
        from agent.cli.common import check_out, fail
        from agent.cli.common import services as open_services
        from agent.runtime import ChatRuntime
        from memory.store import ProjectNotFound

        check_out(out)
        services = open_services()
        interactive = sys.stdin.isatty()
        err = sys.stderr
        thread_id = thread
        if project is not None:
            try:
                found = services.store.get_project(project)
            except ProjectNotFound as exc:
                services.store.close()
                fail(str(exc))
            thread_id = (
                thread_id or services.store.thread_for_project(found.id) or f"cli:{found.id}"
            )
        thread_id = thread_id or f"cli:{secrets.token_hex(4)}"

        def say(text: str) -> None:
            typer.echo(text)
            if interactive:
                typer.echo("")

        async def read_line() -> str | None:
            if interactive:
                try:
                    return await asyncio.to_thread(input, "you> ")
                except EOFError:
                    return None
            line = await asyncio.to_thread(sys.stdin.readline)
            return line if line else None

        async def main() -> int:
            reporter = LineReporter(err)
            try:
                async with ChatRuntime.open(
                    services.settings,
                    reporter=reporter,
                    services=services,
                    out_dir=out,
                    read_dirs=(Path.cwd(),),
                ) as runtime:
                    studio = runtime.studio(thread_id)
                    if project is not None and studio.session.project_id is None:
                        studio.attach(project)
                    err.write(f"thread {thread_id}\n")
                    if interactive:
                        say("reelforge: tell me about the video you want to make. (/quit to leave)")
                    failed = await _converse(runtime, thread_id, read_line, say)
                    attached = runtime.studio(thread_id).project()
                    if attached is not None:
                        err.write(f"resume with: reelforge chat --project {attached.id}\n")
                    return failed
            finally:
                await services.aclose()

        if asyncio.run(main()) and not interactive:
            err.write("error: a turn of this conversation failed (see above)\n")
            raise typer.Exit(1)
