"""`reelforge export PROJECT --otio` and `reelforge post ...`: single post steps on files.

Heavy modules (PyAV, numpy, opentimelineio) are imported inside the commands so `reelforge
--help` stays fast. Results on stdout, progress on stderr, bad input is one line with exit 2.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer

EXIT_USAGE = 2
EXIT_FAILED = 1
T = TypeVar("T")

post_app = typer.Typer(
    name="post",
    help="Post-production on a file: upscale, interpolate, stabilise, grade, QC.",
    no_args_is_help=True,
)

InArg = Annotated[Path, typer.Argument(metavar="IN", help="Input video.")]
OutArg = Annotated[Path, typer.Argument(metavar="OUT", help="Output video (.mp4).")]


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _check_io(src: Path, out: Path | None = None) -> None:
    from tools.post.probe import ProbeError, probe

    try:
        info = probe(src)
    except ProbeError as exc:
        _fail(str(exc))
    if not info.has_video:
        _fail(f"{src}: no video stream")
    if out is not None and out.resolve() == src.resolve():
        _fail("OUT must differ from IN")


def _ffmpeg() -> str | None:
    from tools.settings import Settings

    return Settings().ffmpeg


def _run_step(
    label: str, step: Callable[[Callable[[float], None]], Coroutine[object, object, T]]
) -> T:
    """Run one step with a rich bar on stderr; ffmpeg failures become one line, exit 1."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tools.post.ops import PostError
    from tools.post.runner import FFmpegError, FFmpegNotFound

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    with progress:
        task = progress.add_task(label, total=1.0)
        try:
            return asyncio.run(step(lambda f: progress.update(task, completed=f)))
        except (FFmpegError, FFmpegNotFound, PostError) as exc:
            progress.stop()
            _fail(str(exc).splitlines()[0], EXIT_FAILED)


@post_app.command("upscale")
def upscale_cmd(
    src: InArg,
    out: OutArg,
    size: Annotated[str, typer.Option("--size", help="WIDTHxHEIGHT.")] = "3840x2160",
) -> None:
    """Upscale with lanczos to 3840x2160 (or --size), padding if the aspect differs."""
    from tools.post import ops

    width, sep, height = size.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) % 2 or int(height) % 2:
        _fail(f"--size takes even WIDTHxHEIGHT, e.g. 3840x2160, got {size!r}")
    _check_io(src, out)
    ff = _ffmpeg()
    _run_step(
        f"upscaling to {size}",
        lambda p: ops.upscale(src, out, size=(int(width), int(height)), ffmpeg=ff, on_progress=p),
    )
    typer.echo(str(out))


@post_app.command("interpolate")
def interpolate_cmd(
    src: InArg,
    out: OutArg,
    fps: Annotated[int, typer.Option("--fps", min=1, max=240, help="Target frame rate.")] = 60,
    quality: Annotated[
        str, typer.Option("--quality", help="fast (frame blending) or best (motion-compensated).")
    ] = "fast",
) -> None:
    """Change the frame rate: fast blends frames, best is motion-compensated (much slower)."""
    from tools.post import ops

    if quality not in ("fast", "best"):
        _fail(f"--quality takes fast or best, got {quality!r}")
    _check_io(src, out)
    ff = _ffmpeg()
    _run_step(
        f"interpolating to {fps} fps ({quality})",
        lambda p: ops.interpolate(
            src,
            out,
            fps=fps,
            quality="best" if quality == "best" else "fast",
            ffmpeg=ff,
            on_progress=p,
        ),
    )
    typer.echo(str(out))


@post_app.command("stabilise")
def stabilise_cmd(
    src: InArg,
    out: OutArg,
    method: Annotated[
        str, typer.Option("--method", help="auto (vidstab if available), vidstab or deshake.")
    ] = "auto",
    smoothing: Annotated[int, typer.Option("--smoothing", min=1, max=60)] = 12,
) -> None:
    """Steady a shaky clip: vidstab two-pass, or deshake when vidstab is missing."""
    from tools.post import ops

    if method not in ("auto", "vidstab", "deshake"):
        _fail(f"--method takes auto, vidstab or deshake, got {method!r}")
    _check_io(src, out)
    ff = _ffmpeg()
    used = _run_step(
        "stabilising",
        lambda p: ops.stabilise(
            src,
            out,
            method=method,  # type: ignore[arg-type]
            smoothing=smoothing,
            ffmpeg=ff,
            on_progress=p,
        ),
    )
    typer.echo(f"{out}\t{used}")


@post_app.command("grade")
def grade_cmd(
    src: InArg,
    out: OutArg,
    look: Annotated[
        str | None,
        typer.Option(
            "--look", help="A shipped look: moody, warm, cool, teal-orange, bleach, vintage."
        ),
    ] = None,
    words: Annotated[
        str | None, typer.Option("--words", help='Free words, e.g. "moodier and a bit warmer".')
    ] = None,
) -> None:
    """Colour-grade a file with a look LUT plus eq, from a look name or plain words."""
    from tools.post import ops
    from tools.post.grades import LOOKS, UnknownGradeWords, grade_for

    if (look is None) == (words is None):
        _fail("give exactly one of --look NAME or --words TEXT")
    if look is not None:
        if look not in LOOKS:
            _fail(f"unknown look {look!r}; use one of {', '.join(LOOKS)}")
        chosen = LOOKS[look]
    else:
        try:
            chosen = grade_for(words or "")
        except UnknownGradeWords as exc:
            _fail(str(exc))
    _check_io(src, out)
    ff = _ffmpeg()
    _run_step(
        f"grading ({chosen.lut or chosen.name})",
        lambda p: ops.grade(src, out, chosen, ffmpeg=ff, on_progress=p),
    )
    typer.echo(str(out))


@post_app.command("qc")
def qc_cmd(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A take or any video.")],
    duration: Annotated[float | None, typer.Option("--duration", help="Expected seconds.")] = None,
    aspect: Annotated[
        str | None, typer.Option("--aspect", help="Expected aspect, e.g. 9:16.")
    ] = None,
    audio: Annotated[bool, typer.Option("--audio", help="Sound is expected.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check a take for black, frozen or flickering picture, wrong length or shape, silence."""
    from tools.post import qc

    if aspect is not None and aspect not in ("9:16", "16:9", "1:1"):
        _fail(f"--aspect takes 9:16, 16:9 or 1:1, got {aspect!r}")
    if not file.is_file():
        _fail(f"{file}: no such file")
    report = qc.check(
        file, duration_s=duration, aspect=aspect, expect_audio=audio, ffmpeg=_ffmpeg()
    )
    if as_json:
        typer.echo(json.dumps(report.to_json()))
        return
    typer.echo(f"{file}\tscore {report.score:.2f}")
    for flag in report.flags:
        typer.echo(f"  {flag.kind}: {flag.message}")
    if not report.flags:
        typer.echo("  no problems found")


def export_cmd(
    project_ref: Annotated[str, typer.Argument(metavar="PROJECT", help="Id, id prefix or slug.")],
    otio_flag: Annotated[
        bool, typer.Option("--otio", help="Write an OpenTimelineIO timeline of the picked takes.")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where to write it.")] = None,
) -> None:
    """Export a project for an editor: --otio writes a timeline pointing at the source takes."""
    from memory.store import ProjectNotFound, ProjectStore
    from tools.post.otio_export import OTIOExportError, from_production, write
    from tools.settings import Settings

    if not otio_flag:
        _fail("choose an export format: --otio")
    store = ProjectStore(Settings().db_path)
    try:
        try:
            project = store.get_project(project_ref)
        except ProjectNotFound as exc:
            _fail(str(exc))
        revisions = store.revisions(project.id)
        production = revisions[-1].production if revisions else store.working(project.id)
        try:
            timeline = from_production(
                production, store.take, title=project.title, project_id=project.id
            )
        except OTIOExportError as exc:
            _fail(str(exc))
        except KeyError as exc:
            _fail(f"take {exc.args[0]} is not in the store")
    finally:
        store.close()
    target = out or Path(f"{project.slug}.otio")
    write(timeline, target)
    typer.echo(str(target))


def register(app: typer.Typer) -> None:
    """Add `export` and the `post` group to the main app."""
    app.command("export")(export_cmd)
    app.add_typer(post_app, name="post")
