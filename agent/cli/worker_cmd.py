"""`reelforge worker`: run the team's queued jobs (takes, productions) on this machine."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker_cmd(
        concurrency: Annotated[
            int,
            typer.Option(
                "--concurrency",
                "-c",
                min=1,
                max=64,
                help="Productions at once (takes: 4x as many; they mostly wait on providers).",
            ),
        ] = 2,
        stalled_after: Annotated[
            float,
            typer.Option(
                min=0.5,
                help="Seconds without a worker's heartbeat before its jobs are run again.",
            ),
        ] = 30.0,
        name: Annotated[str, typer.Option(help="This worker's name in the logs.")] = "worker",
    ) -> None:
        """Run queued takes, renders, finishing and exports from REELFORGE_DATABASE_URL until
        Ctrl-C / SIGTERM. Needs the database and the media folder (REELFORGE_DATA_DIR) the bot
        and the CLI use; any number of workers on any machines share the queue."""
        import asyncio
        import logging

        from pydantic import ValidationError

        from agent.cli.common import fail
        from tools.production.jobs import run_worker
        from tools.production.services import ProductionError
        from tools.settings import Settings

        try:
            settings = Settings()
        except ValidationError as exc:
            err = exc.errors()[0]
            fail(f"setting REELFORGE_{str(err['loc'][0]).upper()}: {err['msg']}")
        if settings.database_url is None:
            fail("`reelforge worker` needs REELFORGE_DATABASE_URL (the team's Postgres)")
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
        typer.echo(f"worker {name}: {concurrency} production(s) at once; Ctrl-C stops", err=True)
        try:
            asyncio.run(
                run_worker(
                    settings, concurrency=concurrency, stalled_after_s=stalled_after, name=name
                )
            )
        except ProductionError as exc:
            fail(str(exc), 1)
