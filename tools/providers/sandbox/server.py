"""The sandbox server: every fake on one loopback port, one path prefix per provider.

aiohttp rather than `http.server`: async handlers make latency, hangs and streamed clip
downloads cheap, and the server runs on its own loop in a thread so sync SDKs can call it.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any, get_args

from aiohttp import web

from tools.providers.sandbox import elevenlabs, fal, kling, luma, openai, runway, veo
from tools.providers.sandbox.core import Fault, FaultKind, Media, State

FAKES = (runway, luma, veo, kling, fal, openai, elevenlabs)
SANDBOX_KEY = "sandbox"


def build_app(state: State) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    for fake in FAKES:
        app.add_routes(fake.routes(state))
    app.add_routes(control_routes(state))
    return app


def control_routes(state: State) -> list[web.RouteDef]:
    names = {f.name for f in fields(Fault)}

    async def stats(request: web.Request) -> web.StreamResponse:
        return web.json_response(state.stats())

    async def add_faults(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        items = body if isinstance(body, list) else [body]
        kinds = get_args(FaultKind)
        try:
            faults = [Fault(**{k: v for k, v in item.items() if k in names}) for item in items]
        except TypeError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        for fault in faults:
            if fault.kind not in kinds:
                return web.json_response(
                    {"error": f"unknown fault kind {fault.kind!r}; one of {', '.join(kinds)}"},
                    status=400,
                )
        for fault in faults:
            state.add_fault(fault)
        return web.json_response(state.stats())

    async def clear_faults(request: web.Request) -> web.StreamResponse:
        state.clear()
        return web.json_response(state.stats())

    async def reset(request: web.Request) -> web.StreamResponse:
        state.reset()
        return web.json_response(state.stats())

    async def config(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if "latency" in body:
            state.latency = float(body["latency"])
        return web.json_response(state.stats())

    return [
        web.get("/_sandbox/stats", stats),
        web.post("/_sandbox/faults", add_faults),
        web.delete("/_sandbox/faults", clear_faults),
        web.post("/_sandbox/reset", reset),
        web.post("/_sandbox/config", config),
    ]


class Sandbox:
    """Run the fakes on loopback in a background thread (`start`/`stop`, or `with`)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        cache_dir: Path | None = None,
        ffmpeg: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        cache = cache_dir or Path(tempfile.gettempdir()) / "reelforge-sandbox-cache"
        self.state = State(Media(cache, ffmpeg), latency=latency)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def base_urls(self) -> dict[str, str]:
        """Each REELFORGE_*_BASE_URL setting, pointing at this sandbox."""
        u = self.url
        return {
            "REELFORGE_RUNWAY_BASE_URL": f"{u}/{runway.PREFIX}",
            "REELFORGE_LUMA_BASE_URL": f"{u}/{luma.PREFIX}/dream-machine/v1",
            "REELFORGE_VEO_BASE_URL": f"{u}/{veo.PREFIX}",
            "REELFORGE_KLING_BASE_URL": f"{u}/{kling.PREFIX}",
            "REELFORGE_FAL_BASE_URL": f"{u}/{fal.PREFIX}",
            "REELFORGE_OPENAI_BASE_URL": f"{u}/{openai.PREFIX}/v1",
            "REELFORGE_ELEVENLABS_BASE_URL": f"{u}/{elevenlabs.PREFIX}",
        }

    def env(self) -> dict[str, str]:
        """Everything to export so reelforge talks to this sandbox instead of paying."""
        keys = {
            "RUNWAYML_API_SECRET": SANDBOX_KEY,
            "LUMAAI_API_KEY": SANDBOX_KEY,
            "GEMINI_API_KEY": SANDBOX_KEY,
            "KLING_ACCESS_KEY": SANDBOX_KEY,
            "KLING_SECRET_KEY": kling.SANDBOX_SECRET,
            "FAL_KEY": SANDBOX_KEY,
            "OPENAI_API_KEY": SANDBOX_KEY,
            "ELEVENLABS_API_KEY": SANDBOX_KEY,
        }
        # The sandbox fakes OpenAI's media endpoints, not chat: keep the offline director.
        return {**keys, **self.base_urls(), "REELFORGE_MODEL": "offline"}

    async def _start(self) -> None:
        self._runner = web.AppRunner(
            build_app(self.state), handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    def start(self) -> Sandbox:
        ready = threading.Event()
        errors: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start())
            except BaseException as exc:
                errors.append(exc)
                loop.close()
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=main, name="reelforge-sandbox", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        return self

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = self._thread = None

    async def serve(self, ready: Callable[[], None] | None = None) -> None:
        """Run in the caller's loop until cancelled (the CLI's foreground mode)."""
        await self._start()
        if ready is not None:
            ready()
        try:
            await asyncio.Event().wait()
        finally:
            await self._shutdown()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test conveniences (the same as POST /_sandbox/faults etc.) ------------------------

    def fault(self, provider: str, kind: str, **kwargs: Any) -> None:
        self.state.add_fault(Fault(provider, kind, **kwargs))  # type: ignore[arg-type]

    def reset(self) -> None:
        self.state.reset()

    def stats(self) -> dict[str, Any]:
        return self.state.stats()


@contextmanager
def running(**kwargs: Any) -> Iterator[Sandbox]:
    with Sandbox(**kwargs) as sandbox:
        yield sandbox
