"""Background work for the Slack bot: one asyncio loop in a thread runs the shared `ChatRuntime`.

Listeners hand jobs over and return at once (Slack wants an ack within 3 s; a turn may render
for minutes). Jobs of one Slack thread run one at a time, in arrival order; different threads run
concurrently. Replies, approval and take buttons, previews, contact sheets and exports are posted
back into the thread. Web API calls are blocking (slack-sdk's WebClient, with its 429 Retry-After handler), so
they run in a small pool off the loop. `join()` waits until no job is outstanding: tests use it
instead of sleeping.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from agent.slack import blocks
from agent.slack.allow import REFUSAL
from memory.models import Shot, Take

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agent.runtime import Approval, ChatRuntime, Turn
    from tools.production import Services
    from tools.settings import Settings
    from tools.studio import Snapshot, Studio

logger = logging.getLogger(__name__)

OOPS = (
    ":warning: Something went wrong on my side and I stopped there. Nothing else will run for "
    "that message; the details are in the bot's log. Try again, or say 'status'."
)
WORKING = "hourglass_flowing_sand"
MAX_PREVIEWS = 8
MAX_IMAGE_BYTES = 50 * 1024 * 1024
KIND_WORDS = ("character", "environment", "style", "prop", "wardrobe")

# Adds an image file as a project reference: (file, kind, name, description, project) -> id.
RefAdder = Callable[[Path, str, str, str, str], str]


@dataclass(frozen=True)
class Where:
    """A Slack thread, which is one conversation and one production."""

    team: str
    channel: str
    thread_ts: str
    channel_type: str | None = None

    @property
    def key(self) -> str:
        return f"slack:{self.team}:{self.channel}:{self.thread_ts}"


def fingerprint(approval: Approval) -> str:
    """Identifies one approval request, so a stale button cannot approve a newer one."""
    raw = json.dumps([approval.tool, approval.args, approval.description], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


_progress: ContextVar[Progress | None] = ContextVar("reelforge_slack_progress", default=None)


class SlackReporter:
    """`tools.production.Reporter` for the runtime: routes each step to the progress message of
    the Slack thread whose job is running (a context variable, so concurrent threads don't mix)."""

    def step(self, name: str, fraction: float) -> None:
        progress = _progress.get()
        if progress is not None:
            progress.step(name, fraction)

    def take(self, shot: Shot, take: Take) -> None:
        progress = _progress.get()
        if progress is not None and take.error:
            progress.note(f"shot {shot.id}: a take failed ({take.error})")


class Progress:
    """One message per long turn, posted at the first pipeline step and updated as steps go by.

    Updates are coalesced: at most one Web API call in flight, always showing the newest step.
    """

    def __init__(self, worker: SlackWorker, where: Where) -> None:
        self.worker = worker
        self.where = where
        self.ts: str | None = None
        self._want: str | None = None
        self._shown: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._notes: list[str] = []

    def step(self, name: str, fraction: float) -> None:
        from agent.conversation.turns import STEP_LABELS

        label = STEP_LABELS.get(name, name)
        self._want = f":{WORKING}: {label}" + (" (done)" if fraction >= 1.0 else "...")
        self.worker.loop.call_soon_threadsafe(self._kick)

    def note(self, text: str) -> None:
        self._notes.append(text)

    def _kick(self) -> None:
        if not self._closed and (self._task is None or self._task.done()):
            self._task = self.worker.loop.create_task(self._flush())

    async def _flush(self) -> None:
        while self._want is not None and self._want != self._shown:
            text = self._want
            await self._show(text)
            self._shown = text

    async def _show(self, text: str) -> None:
        if self.ts is None:
            resp = await self.worker.call(
                "chat_postMessage",
                channel=self.where.channel,
                thread_ts=self.where.thread_ts,
                text=text,
                blocks=blocks.status_blocks(text),
            )
            self.ts = str(resp["ts"])
        else:
            await self.worker.call(
                "chat_update",
                channel=self.where.channel,
                ts=self.ts,
                text=text,
                blocks=blocks.status_blocks(text),
            )

    async def finish(self) -> None:
        self._closed = True
        if self._task is not None:
            await self._task
        if self.ts is not None:
            notes = "".join(f"\n{n}" for n in self._notes)
            await self._show(f":white_check_mark: done{notes}")


class SlackWorker:
    """Owns the background loop, the runtime and every call back into Slack."""

    def __init__(
        self,
        settings: Settings,
        client: WebClient,
        *,
        services: Services | None = None,
        model: BaseChatModel | None = None,
        add_reference: RefAdder | None = None,
        api_threads: int = 8,
    ) -> None:
        self.settings = settings
        self.client = client
        self.services = services
        self.model = model
        self._add_reference = add_reference
        self._pool = ThreadPoolExecutor(api_threads, thread_name_prefix="slack-api")
        self._cond = threading.Condition()
        self._outstanding = 0
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._runtime: ChatRuntime | None = None
        self._startup_error: BaseException | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures: list[str] = []  # thread keys whose job failed unexpectedly

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "start() the worker first"
        return self._loop

    @property
    def runtime(self) -> ChatRuntime:
        assert self._runtime is not None, "start() the worker first"
        return self._runtime

    def start(self, timeout: float = 60.0) -> SlackWorker:
        self._thread = threading.Thread(target=self._run, name="reelforge-slack", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the conversation runtime did not start")
        if self._startup_error is not None:
            raise self._startup_error
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(); the thread ends
            self._startup_error = exc
            self._ready.set()

    async def _main(self) -> None:
        from agent.runtime import ChatRuntime

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with ChatRuntime.open(
            self.settings, model=self.model, services=self.services, reporter=SlackReporter()
        ) as runtime:
            self._runtime = runtime
            self._ready.set()
            await self._stop.wait()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join()
        self._pool.shutdown(wait=True)

    def join(self, timeout: float = 300.0) -> None:
        """Block until every submitted job has finished."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._outstanding == 0, timeout):
                raise TimeoutError(f"{self._outstanding} Slack job(s) still running")

    # -- submitting (called from bolt's listener threads) -----------------------------------

    def message(self, where: Where, user: str, text: str, ts: str | None, files: list[Any]) -> None:
        self._spawn(where, partial(self._on_message, where, user, text, ts, files))

    def action(
        self, where: Where, user: str, action_id: str, value: str, message_ts: str | None
    ) -> None:
        self._spawn(where, partial(self._on_action, where, user, action_id, value, message_ts))

    def refuse(self, where: Where, user: str | None) -> None:
        self._spawn(where, partial(self._refuse, where, user))

    def greet(self, where: Where) -> None:
        self._spawn(where, partial(self._greet, where))

    async def _greet(self, where: Where) -> None:
        await self._post(where, "Tell me about the video you want to make.")

    def _spawn(self, where: Where, job: Callable[[], Awaitable[None]]) -> None:
        with self._cond:
            self._outstanding += 1
        try:
            self.loop.call_soon_threadsafe(self._start_task, where, job)
        except BaseException:
            self._done()
            raise

    def _start_task(self, where: Where, job: Callable[[], Awaitable[None]]) -> None:
        task = self.loop.create_task(self._guarded(where, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, where: Where, job: Callable[[], Awaitable[None]]) -> None:
        try:
            async with self.runtime.lock(where.key):
                await job()
        except Exception:
            logger.exception("Slack job failed in thread %s", where.key)
            self.failures.append(where.key)
            try:
                await self._post(where, OOPS)
            except Exception:
                logger.exception("could not tell thread %s about the failure", where.key)
        finally:
            self._done()

    def _done(self) -> None:
        with self._cond:
            self._outstanding -= 1
            self._cond.notify_all()

    # -- Slack Web API ----------------------------------------------------------------------

    async def call(self, method: str, **kwargs: Any) -> SlackResponse:
        """A WebClient method off the loop (it blocks, and may sleep out a 429 Retry-After)."""
        fn = getattr(self.client, method)
        result: SlackResponse = await self.loop.run_in_executor(self._pool, partial(fn, **kwargs))
        return result

    async def _post(self, where: Where, text: str, blocks_: list[Any] | None = None) -> str:
        kwargs: dict[str, Any] = {"blocks": blocks_} if blocks_ else {}
        resp = await self.call(
            "chat_postMessage",
            channel=where.channel,
            thread_ts=where.thread_ts,
            text=text,
            **kwargs,
        )
        return str(resp.get("ts", ""))

    async def _quietly(self, method: str, **kwargs: Any) -> None:
        """Status niceties (reactions, assistant status) must never fail a turn."""
        try:
            await self.call(method, **kwargs)
        except SlackApiError as exc:
            logger.info("%s failed: %s", method, exc.response.get("error"))

    async def _status(self, where: Where, ts: str | None, on: bool) -> None:
        if ts is not None:
            method = "reactions_add" if on else "reactions_remove"
            await self._quietly(method, channel=where.channel, timestamp=ts, name=WORKING)
        if where.channel_type == "im":
            await self._quietly(
                "assistant_threads_setStatus",
                channel_id=where.channel,
                thread_ts=where.thread_ts,
                status="is working on it..." if on else "",
            )

    async def _refuse(self, where: Where, user: str | None) -> None:
        if user is None:
            return
        await self._quietly(
            "chat_postEphemeral",
            channel=where.channel,
            user=user,
            thread_ts=where.thread_ts,
            text=REFUSAL,
        )

    # -- turns ------------------------------------------------------------------------------

    async def _on_message(
        self, where: Where, user: str, text: str, ts: str | None, files: list[Any]
    ) -> None:
        if files and await self._references(where, files, text):
            return  # the words with an image describe the image
        if not text.strip():
            return
        from agent.conversation.turns import parse_decision

        runtime = self.runtime
        key = where.key
        await self._status(where, ts, on=True)
        try:
            pending = runtime.pending(key) or await runtime.restore_pending(key)
            decision = parse_decision(text) if pending is not None else None
            if decision is not None:
                kind, message, args = decision
                await self._turn(
                    where,
                    lambda: runtime.decide(key, kind, message=message, args=args),  # type: ignore[arg-type]
                )
            else:
                await self._turn(where, lambda: runtime.send(key, text))
        finally:
            await self._status(where, ts, on=False)

    def _studio(self, where: Where) -> Studio:
        return self.runtime.studio(where.key)

    async def _turn(self, where: Where, run: Callable[[], Awaitable[Turn]]) -> None:
        """Run one turn with a progress message, then post what it produced."""
        studio = self._studio(where)
        before = studio.snapshot()
        progress = Progress(self, where)
        token = _progress.set(progress)
        try:
            turn = await run()
        finally:
            _progress.reset(token)
            await progress.finish()
        await self._publish(where, studio, before, turn.replies, turn.approval)

    async def _publish(
        self,
        where: Where,
        studio: Studio,
        before: Snapshot,
        replies: list[str],
        approval: Approval | None,
    ) -> None:
        asks_formats = (
            approval is None and studio.project() is None and studio.missing()[:1] == ["formats"]
        )
        for i, reply in enumerate(replies):
            if asks_formats and i == len(replies) - 1:
                await self._post(where, reply, blocks.format_blocks(reply))
            else:
                await self._post(where, reply)
        news = studio.news_since(before)
        if news.takes:
            await self._post_takes(where, studio, news.takes)
        for number, exports in news.revisions:
            await self._post_exports(where, number, exports)
        if approval is not None:
            await self._post(
                where,
                approval.description,
                blocks.approval_blocks(
                    approval.description, approval.price_usd, fingerprint(approval)
                ),
            )

    def _shot_takes(
        self, studio: Studio, only: frozenset[str] | None
    ) -> tuple[list[blocks.ShotTakes], list[tuple[str, Path]]]:
        shots = [
            blocks.ShotTakes(
                c.shot_id,
                c.description,
                [blocks.TakeChoice(n, score, picked) for n, score, picked in c.takes],
                c.one_take_usd,
            )
            for c in studio.take_choices(only)
        ]
        return shots, studio.take_previews(only)

    async def _post_takes(self, where: Where, studio: Studio, new: frozenset[str]) -> None:
        shots, previews = self._shot_takes(studio, new)
        existing = [(name, path) for name, path in previews if Path(path).is_file()]
        if existing:
            await self.call(
                "files_upload_v2",
                channel=where.channel,
                thread_ts=where.thread_ts,
                initial_comment="New takes:",
                file_uploads=[
                    {"file": str(path), "filename": name, "title": name}
                    for name, path in existing[:MAX_PREVIEWS]
                ],
            )
        sheets = [(shot_id, path) for shot_id, path in self._sheets(studio, new) if path.is_file()]
        if sheets:
            await self.call(
                "files_upload_v2",
                channel=where.channel,
                thread_ts=where.thread_ts,
                initial_comment=blocks.SHEETS_COMMENT,
                file_uploads=[
                    {"file": str(path), **blocks.sheet_names(shot_id)} for shot_id, path in sheets
                ],
            )
        if shots:
            await self._post(
                where, "Pick a take for each shot, or ask for a new one.", blocks.take_blocks(shots)
            )

    def _sheets(self, studio: Studio, new: frozenset[str]) -> list[tuple[str, Path]]:
        """The contact sheets of the shots with new takes; a sheet that cannot be drawn is
        logged and left out (the takes and their buttons still arrive)."""
        try:
            return studio.contact_sheets(new)
        except (OSError, ValueError):
            logger.exception("could not draw the contact sheets")
            return []

    async def _post_exports(self, where: Where, number: int, exports: list[Path]) -> None:
        for i, path in enumerate(exports):
            if not Path(path).is_file():
                await self._post(where, f"Export {Path(path).name} is missing on disk.")
                continue
            await self.call(
                "files_upload_v2",
                channel=where.channel,
                thread_ts=where.thread_ts,
                file=str(path),
                filename=Path(path).name,
                title=f"rev {number}: {Path(path).name}",
                initial_comment=f"Revision {number}" if i == 0 else None,
            )

    # -- buttons ----------------------------------------------------------------------------

    async def _on_action(
        self, where: Where, user: str, action_id: str, value: str, message_ts: str | None
    ) -> None:
        if action_id in (blocks.APPROVE, blocks.REJECT):
            await self._decide(where, user, action_id == blocks.APPROVE, value, message_ts)
        elif action_id.startswith(blocks.PICK):
            data = json.loads(value)
            await self._pick(where, str(data["shot"]), int(data["take"]), message_ts)
        elif action_id.startswith(blocks.REGENERATE):
            data = json.loads(value)
            await self._regenerate(where, user, str(data["shot"]), float(data["usd"]))
        elif action_id == blocks.EXPORT:
            await self._on_message(where, user, "export", None, [])
        elif action_id.startswith(blocks.FORMAT):
            await self._on_message(where, user, value, None, [])
        else:
            logger.info("unknown action %s", action_id)

    async def _decide(
        self, where: Where, user: str, approve: bool, token: str, message_ts: str | None
    ) -> None:
        runtime = self.runtime
        key = where.key
        pending = runtime.pending(key) or await runtime.restore_pending(key)
        if pending is None or fingerprint(pending) != token:
            await self._post(where, "That approval is no longer waiting; nothing was changed.")
            return
        if message_ts is not None:
            await self.call(
                "chat_update",
                channel=where.channel,
                ts=message_ts,
                text=pending.description,
                blocks=blocks.decided_blocks(pending.description, approve, user),
            )
        await self._turn(where, lambda: runtime.decide(key, "approve" if approve else "reject"))

    async def _pick(self, where: Where, shot: str, take: int, message_ts: str | None) -> None:
        from agent.conversation import words
        from tools.studio import StudioError

        studio = self._studio(where)
        try:
            text = words.picked(studio.pick(shot, take))
        except StudioError as exc:
            await self._post(where, str(exc))
            return
        if message_ts is not None:
            shots, _ = self._shot_takes(studio, None)
            await self.call(
                "chat_update",
                channel=where.channel,
                ts=message_ts,
                text="Pick a take for each shot, or ask for a new one.",
                blocks=blocks.take_blocks(shots),
            )
        await self._post(where, text)

    async def _regenerate(self, where: Where, user: str, shot_id: str, shown_usd: float) -> None:
        """One more take of a shot. The button showed the price, so pressing it approves it."""
        from agent.conversation import words
        from tools.studio import PriceChanged, StudioError

        studio = self._studio(where)
        before = studio.snapshot()
        progress = Progress(self, where)
        token = _progress.set(progress)
        try:
            text = words.generated(await studio.one_more_take(shot_id, shown_usd, f"<@{user}>"))
        except PriceChanged as exc:
            await self._post(where, words.price_changed(exc))
            return
        except StudioError as exc:
            await self._post(where, f"No new take: {exc}")
            return
        finally:
            _progress.reset(token)
            await progress.finish()
        await self._publish(where, studio, before, [text], None)

    # -- reference images -----------------------------------------------------------------

    async def _references(self, where: Where, files: list[Any], text: str) -> bool:
        """Add the images as references; True if there were any."""
        from tools.references import ReferenceError

        studio = self._studio(where)
        images = [f for f in files if str(f.get("mimetype", "")).startswith("image/")]
        for other in (f for f in files if f not in images):
            await self._post(where, f"{other.get('name', 'That file')} is not an image; skipped.")
        if not images:
            return False
        project = studio.project()
        if project is None:
            await self._post(
                where,
                "I'll use reference images once there is a plan for this thread (finish the "
                "brief first), so they belong to this production. Please upload them again then.",
            )
            return True
        low = text.lower()
        kind = next((k for k in KIND_WORDS if k in low), "character")
        for item in images:
            name = Path(str(item.get("title") or item.get("name") or item.get("id"))).stem
            try:
                path = await self._download(item)
                ref_id = await asyncio.to_thread(
                    self._adder(), path, kind, name, text.strip(), project.id
                )
            except ReferenceError as exc:
                await self._post(where, f"I couldn't use {name} as a reference: {exc}")
                continue
            await self._post(
                where,
                f'Added {name!r} as a {kind} reference ({ref_id}) to "{project.title}". '
                "It is used from the next plan or re-render.",
            )
        return True

    def _adder(self) -> RefAdder:
        if self._add_reference is None:
            from tools.references import add_reference

            store = self.runtime.services.refs()  # the engine's one reference store
            refs_dir = self.settings.data_dir / "refs"

            def add(file: Path, kind: str, name: str, description: str, project: str) -> str:
                added = add_reference(
                    file, kind, name, description, project, store=store, refs_dir=refs_dir
                )
                return added.reference.id

            self._add_reference = add
        return self._add_reference

    def _trusted(self, url: str) -> bool:
        """The bot token goes only to Slack's own hosts (or the Web API host in use)."""
        host = urlsplit(url).hostname or ""
        api_host = urlsplit(self.client.base_url).hostname or ""
        return host == api_host or (
            url.startswith("https://") and (host == "slack.com" or host.endswith(".slack.com"))
        )

    async def _download(self, item: dict[str, Any]) -> Path:
        import httpx

        from tools.references import ReferenceError

        url = str(item.get("url_private_download") or item.get("url_private") or "")
        if not url or not self._trusted(url):
            raise ReferenceError("the file is not on Slack's file host")
        size = int(item.get("size") or 0)
        if size > MAX_IMAGE_BYTES:
            raise ReferenceError(f"{size / 1e6:.1f} MB is over the 50 MB limit")
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(item.get("id") or "file"))
        suffix = re.sub(r"[^a-z0-9.]", "", Path(str(item.get("name", ""))).suffix.lower())
        dest = self.settings.data_dir / "slack" / "uploads" / f"{safe}{suffix}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        headers = {"Authorization": f"Bearer {self.client.token}"}
        data = bytearray()
        async with (
            httpx.AsyncClient(timeout=60, follow_redirects=False) as http,
            http.stream("GET", url, headers=headers) as resp,
        ):
            if resp.status_code != 200:
                raise ReferenceError(
                    f"Slack answered {resp.status_code} for the file (does the app have files:read?)"
                )
            async for chunk in resp.aiter_bytes():
                data.extend(chunk)
                if len(data) > MAX_IMAGE_BYTES:
                    raise ReferenceError("the file is over the 50 MB limit")
        dest.write_bytes(bytes(data))
        return dest
