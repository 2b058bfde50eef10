"""`reelforge resume [PROJECT]`: finish an interrupted production without paying twice.

In-flight jobs are polled by their recorded ids, submits whose answer was lost are reconciled
with the provider, takes never started are rendered, and the production is picked, assembled,
exported and committed as `reelforge make` would have done.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    @app.command("resume")
    def resume_cmd(
        project_ref: Annotated[
            str | None,
            typer.Argument(
                metavar="[PROJECT]",
                help="Id, id prefix or slug; default: the latest project with unfinished work.",
            ),
        ] = None,
        resubmit_unknown: Annotated[
            bool,
            typer.Option(
                "--resubmit-unknown",
                help="Send again the takes whose submit could not be reconciled (may pay twice).",
            ),
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Finish an interrupted `reelforge make`: poll in-flight jobs, never resubmit them."""
        from agent.cli.common import (
            fail,
            print_run,
            report_run,
            run_pipeline,
            unreconciled_lines,
        )
        from agent.cli.common import (
            services as open_services,
        )
        from agent.cli.progress import RichReporter
        from memory.store import ProjectNotFound
        from tools.production import resume
        from tools.takes import unreconciled_takes

        services = open_services()
        store = services.store
        try:
            if project_ref is not None:
                project = store.get_project(project_ref)
            else:
                pending = store.unfinished_projects()
                if not pending:
                    store.close()
                    typer.echo("nothing to resume: every project's takes and exports are finished")
                    return
                project = store.get_project(pending[0])
        except ProjectNotFound as exc:
            store.close()
            fail(str(exc))
        recorded = store.run(project.id)
        if recorded is None:
            store.close()
            fail(f"{project.id} was not started by `reelforge make`; continue it where it began")
        if recorded[1] and project.id not in store.unfinished_projects():
            store.close()
            typer.echo(f"nothing to resume: {project.id} is finished (`reelforge show` has it)")
            return
        unreconciled: list[dict[str, Any]] = []

        def left_unknown() -> list[dict[str, Any]]:
            return [
                {
                    "take": t.take_id,
                    "shot": t.shot_id,
                    "provider": t.provider,
                    "error": t.why,
                    "held_usd": t.held_usd,
                }
                for t in unreconciled_takes(store, project.id)
            ]

        async def go() -> tuple[Any, float]:
            with RichReporter() as reporter:
                try:
                    try:
                        _, revision = await resume(
                            project, services, reporter, resubmit_unknown=resubmit_unknown
                        )
                    finally:
                        unreconciled.extend(left_unknown())
                    report_run(project.id, revision.production, services)
                    return revision, store.total_spend(project.id)
                finally:
                    await services.aclose()

        typer.echo(f"resuming {project.id}", err=True)
        try:
            revision, spend = run_pipeline(go)
        except typer.Exit:
            # the run failed (one line on stderr): still name what could not be reconciled
            if as_json:
                typer.echo(json.dumps({"project_id": project.id, "unreconciled": unreconciled}))
            else:
                for line in unreconciled_lines(unreconciled):
                    typer.echo(line)
            raise
        print_run(project.id, revision, spend, as_json=as_json, unreconciled=unreconciled)
