"""The review board's web app: server-rendered pages (Starlette + Jinja2), no build step.

Every request needs the run's token: `?token=` on the first visit (the printed URL), then a
strict same-site cookie; every form posts it again. Media is served only when the resolved file
is one of the project's own (a take, an export, the master, a sheet) or lies in its folders.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from agent.board import actions
from agent.board.view import board_view, sheets_dir

if TYPE_CHECKING:
    from tools.production import Services

COOKIE = "reelforge_board"
_MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".png": "image/png",
    ".srt": "text/plain",
    ".otio": "application/json",
}


def new_token() -> str:
    return secrets.token_urlsafe(24)


class TokenGate(BaseHTTPMiddleware):
    """Refuse (403) any request without the run's token in the query or the cookie."""

    def __init__(self, app: Any, token: str) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        given = request.query_params.get("token") or request.cookies.get(COOKIE) or ""
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            return PlainTextResponse("forbidden: open the URL printed by `reelforge review`", 403)
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
        return response


def allowed_media(services: Services, project_id: str, path: Path) -> Path | None:
    """`path` resolved, if it is one of the project's files or inside its folders; else None."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_file():
        return None
    store = services.store
    production = store.working(project_id)
    files = {t.file for t in store.takes(project_id) if t.file is not None}
    for rev in store.revisions(project_id):
        files.update(rev.production.exports)
        if rev.production.master:
            files.add(rev.production.master)
    files.update(production.exports)
    if production.master:
        files.add(production.master)
    for f in files:
        try:
            if f.resolve() == real:
                return real
        except OSError:
            continue
    roots = (
        sheets_dir(services, project_id),
        services.settings.data_dir / "projects" / project_id,
    )
    for root in roots:
        if real.is_relative_to(root.resolve()):
            return real
    return None


def create_app(services: Services, project_id: str, token: str) -> Starlette:
    env = Environment(
        loader=PackageLoader("agent.board", "templates"),
        autoescape=select_autoescape(["html"]),
    )

    def media_url(path: Path | None) -> str:
        return "" if path is None else "/media?path=" + quote(str(path), safe="")

    env.globals["media_url"] = media_url
    page = env.get_template("board.html")

    def render(**extra: Any) -> HTMLResponse:
        view = board_view(services, project_id)
        html = page.render(view=view, token=token, **extra)
        return HTMLResponse(html)

    async def form(request: Request) -> dict[str, str]:
        body = (await request.body()).decode()
        data = {k: v[-1] for k, v in parse_qs(body).items()}
        if not secrets.compare_digest(data.get("token", "").encode(), token.encode()):
            raise PermissionError("the form lacks the run's token")
        return data

    async def index(request: Request) -> Response:
        return await asyncio.to_thread(
            render, message=request.query_params.get("msg", ""), quote=None
        )

    def back(message: str) -> RedirectResponse:
        return RedirectResponse("/?msg=" + quote(message), status_code=303)

    async def pick(request: Request) -> Response:
        try:
            data = await form(request)
            text = actions.pick(services, project_id, data["shot"], int(data["number"]))
        except PermissionError as exc:
            return PlainTextResponse(str(exc), 403)
        except (actions.ActionError, KeyError, ValueError) as exc:
            text = f"not picked: {exc}"
        return back(text)

    async def quote_more(request: Request) -> Response:
        try:
            data = await form(request)
            q = actions.quote_more_takes(services, project_id, data["shot"], int(data["adding"]))
        except PermissionError as exc:
            return PlainTextResponse(str(exc), 403)
        except (actions.ActionError, KeyError, ValueError) as exc:
            return back(f"no quote: {exc}")
        return await asyncio.to_thread(render, message="", quote=q)

    async def add_takes(request: Request) -> Response:
        try:
            data = await form(request)
            if data.get("confirm") != "yes":
                return back("nothing rendered: the price was not confirmed")
            text = await actions.add_takes(
                services,
                project_id,
                data["shot"],
                int(data["adding"]),
                float(data["price"]),
            )
        except PermissionError as exc:
            return PlainTextResponse(str(exc), 403)
        except (actions.ActionError, KeyError, ValueError) as exc:
            text = f"nothing rendered: {exc}"
        return back(text)

    async def export(request: Request) -> Response:
        try:
            await form(request)
            text = await actions.export(services, project_id)
        except PermissionError as exc:
            return PlainTextResponse(str(exc), 403)
        except actions.ActionError as exc:
            text = f"not exported: {exc}"
        return back(text)

    async def media(request: Request) -> Response:
        raw = request.query_params.get("path", "")
        real = (
            await asyncio.to_thread(allowed_media, services, project_id, Path(raw)) if raw else None
        )
        if real is None:
            return PlainTextResponse("forbidden: not one of this project's files", 403)
        kind = _MEDIA_TYPES.get(real.suffix.lower(), "application/octet-stream")
        download = request.query_params.get("download") == "1"
        return FileResponse(real, media_type=kind, filename=real.name if download else None)

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/pick", pick, methods=["POST"]),
            Route("/quote", quote_more, methods=["POST"]),
            Route("/takes", add_takes, methods=["POST"]),
            Route("/export", export, methods=["POST"]),
            Route("/media", media),
        ]
    )
    app.add_middleware(TokenGate, token=token)
    return app
