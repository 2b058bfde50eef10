"""What every `reelforge` command shares, so command modules never import `agent.cli.main`:
the one-line error and exit codes, the services, loading a brief, running a pipeline and
printing its summary."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from memory.models import Brief, Production, Revision
    from tools.production import Services

T = TypeVar("T")

EXIT_USAGE = 2
EXIT_FAILED = 1


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr, then exit: the shape of every error a person sees."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def debug() -> bool:
    return os.environ.get("REELFORGE_DEBUG", "") not in ("", "0")


def services() -> Services:
    """The engine's services from the settings (a bad setting is one line, exit 2)."""
    from pydantic import ValidationError

    from tools.production import Services
    from tools.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(f"setting REELFORGE_{str(err['loc'][0]).upper()}: {err['msg']}")
    return Services.open(settings)


def load_brief(path: Path) -> Brief:
    from memory.briefs import BriefError, load_brief

    try:
        return load_brief(path)
    except BriefError as exc:
        fail(f"{path}: {exc}")


def check_out(out: Path | None) -> None:
    """`--out` must be a folder that exists or can be made, and writable: checked before
    anything is planned or paid (one line, exit 2)."""
    if out is None:
        return
    from tools.production.assembly import OutputError, check_output_dir

    try:
        check_output_dir(out)
    except OutputError as exc:
        fail(str(exc))


def check_music(brief: Brief) -> None:
    """A brief's `music:` must be an audio file: probed before anything renders."""
    from tools.production.soundtrack import MusicError, check_music_file

    if brief.music is None:
        return
    try:
        check_music_file(Path(brief.music))
    except MusicError as exc:
        fail(str(exc))


def run_pipeline(go: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a make or resume: over budget, a busy brief or an unusable output folder is a usage
    error (exit 2), a failed step exit 1; one line, never a traceback."""
    from tools.post.runner import FFmpegError, FFmpegNotFound
    from tools.production import OutputError, ProductionError, RunBusy
    from tools.spend import BudgetExceeded

    try:
        return asyncio.run(go())
    except (BudgetExceeded, OutputError, RunBusy) as exc:
        fail(str(exc))
    except (ProductionError, FFmpegError, FFmpegNotFound) as exc:
        fail(str(exc) if debug() else str(exc).splitlines()[0], EXIT_FAILED)


def print_run(
    project_id: str,
    revision: Revision,
    spend: float,
    *,
    as_json: bool,
    unreconciled: list[dict[str, Any]] | None = None,
) -> None:
    """The summary of a finished run: JSON on stdout, or a line and the export paths; with
    the takes a resume could not reconcile, named."""
    exports = [str(p) for p in revision.production.exports]
    if as_json:
        summary: dict[str, Any] = {
            "project_id": project_id,
            "revision": revision.number,
            "exports": exports,
            "spend_usd": spend,
        }
        if unreconciled is not None:
            summary["unreconciled"] = unreconciled
        typer.echo(json.dumps(summary))
        return
    typer.echo(f"project {project_id} (revision {revision.number}), spent ${spend:.2f}")
    for path in exports:
        typer.echo(path)
    for line in unreconciled_lines(unreconciled or []):
        typer.echo(line)


def unreconciled_lines(takes: list[dict[str, Any]]) -> list[str]:
    return [
        f"not reconciled: take {t['take']} of shot {t['shot']} on {t['provider']} ({t['error']});"
        f" ${t['held_usd']:.2f} is held in the ledger as possibly charged; it was not sent again"
        " (`reelforge resume --resubmit-unknown` sends it, and may pay twice)"
        for t in takes
    ]


def report_run(project_id: str, production: Production, services: Services) -> None:
    """On stderr: shots that fell back to another provider, and takes that failed (why)."""
    for shot in production.shots():
        if shot.provider_reason.startswith("fell back"):
            typer.echo(f"note: shot {shot.id} {shot.provider_reason}", err=True)
    failed = [t for t in services.store.takes(project_id) if t.status.value == "failed"]
    if failed:
        typer.echo(f"note: {len(failed)} take(s) failed and were not used:", err=True)
        for take in failed:
            typer.echo(f"  shot {take.shot_id} take {take.id}: {take.error}", err=True)
