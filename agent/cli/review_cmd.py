"""`reelforge takes PROJECT [--json]` and `reelforge review [PROJECT] [--port N]`: see every take
(with a contact sheet per shot) and pick, add takes and export from a board in the browser."""

from __future__ import annotations

import json
from typing import Annotated

import typer

LOOPBACK = "127.0.0.1"


def register(app: typer.Typer) -> None:
    @app.command("takes")
    def takes_cmd(
        project_ref: Annotated[
            str, typer.Argument(metavar="PROJECT", help="Id, id prefix or slug.")
        ],
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Every take of every shot with its score, QC flags and price, and each shot's contact
        sheet (a PNG with the takes side by side)."""
        from agent.board.view import board_view, takes_json
        from agent.cli.common import fail
        from agent.cli.common import services as open_services
        from memory.store import ProjectNotFound

        services = open_services()
        try:
            try:
                project = services.store.get_project(project_ref)
            except ProjectNotFound as exc:
                fail(str(exc))
            view = board_view(services, project.id)
        finally:
            services.store.close()
        data = takes_json(view)
        if as_json:
            typer.echo(json.dumps({"project_id": project.id, "shots": data}, indent=2))
            return
        for shot in data:
            typer.echo(f"shot {shot['shot']}: {len(shot['takes'])} take(s); sheet {shot['sheet']}")
            for t in shot["takes"]:
                mark = " *picked*" if t["picked"] else ""
                score = "-" if t["score"] is None else f"{t['score']:.2f}"
                flags = "; ".join(t["qc_flags"]) or "QC ok"
                typer.echo(
                    f"  take {t['number']}{mark}: score {score}, ${t['cost_usd']:.2f}, "
                    f"{t['provider']}, {flags}"
                )

    @app.command("review")
    def review_cmd(
        project_ref: Annotated[
            str | None,
            typer.Argument(metavar="[PROJECT]", help="Id, id prefix or slug; default: the latest."),
        ] = None,
        port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free).")] = 0,
        host: Annotated[
            str,
            typer.Option("--host", help="Address to bind; the token guards every request."),
        ] = LOOPBACK,
    ) -> None:
        """Serve the review board and print its URL (with this run's token)."""
        import socket

        import uvicorn

        from agent.board.app import create_app, new_token
        from agent.cli.common import fail
        from agent.cli.common import services as open_services
        from memory.store import ProjectNotFound

        services = open_services()
        try:
            if project_ref is None:
                rows = services.store.list_projects()
                if not rows:
                    fail("no projects yet: `reelforge make BRIEF.yaml` starts one")
                project = max((p for p, _ in rows), key=lambda p: p.created_at)
            else:
                project = services.store.get_project(project_ref)
        except ProjectNotFound as exc:
            services.store.close()
            fail(str(exc))
        token = new_token()
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(128)  # connections queue from the moment the URL is printed
        except OSError as exc:
            services.store.close()
            fail(f"cannot listen on {host}:{port}: {exc.strerror}")
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"review board for {project.title}: http://{shown}:{bound}/?token={token}")
        typer.echo("Ctrl-C stops it.", err=True)
        config = uvicorn.Config(
            create_app(services, project.id, token), log_level="warning", lifespan="off"
        )
        try:
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            services.store.close()
