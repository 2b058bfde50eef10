"""`reelforge export PROJECT --otio` and `reelforge post ...`: single post steps on files.

Heavy modules (PyAV, numpy, opentimelineio) are imported inside the commands so `reelforge
--help` stays fast. Results on stdout, progress on stderr, bad input is one line with exit 2.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from tools.post.ops import Levelled
    from tools.post.probe import MediaInfo

EXIT_USAGE = 2
EXIT_FAILED = 1
T = TypeVar("T")

post_app = typer.Typer(
    name="post",
    help="Post-production on a file: upscale, interpolate, stabilise, grade, QC, loudness, "
    "voice-over, mix, subtitles, title, poster.",
    no_args_is_help=True,
)

InArg = Annotated[Path, typer.Argument(metavar="IN", help="Input video.")]
OutArg = Annotated[Path, typer.Argument(metavar="OUT", help="Output video (.mp4).")]


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _probe(path: Path) -> MediaInfo:
    from tools.post.probe import ProbeError, probe

    try:
        return probe(path)
    except ProbeError as exc:
        _fail(str(exc))


def _check_io(src: Path, out: Path | None = None) -> MediaInfo:
    info = _probe(src)
    if not info.has_video:
        _fail(f"{src}: no video stream")
    if out is not None and out.resolve() == src.resolve():
        _fail("OUT must differ from IN")
    return info


def _check_sound(path: Path, what: str) -> MediaInfo:
    info = _probe(path)
    if not info.has_audio:
        _fail(f"{path}: no audio stream ({what})")
    return info


def _check_out(out: Path, *inputs: Path | None) -> None:
    for path in inputs:
        if path is not None and out.resolve() == path.resolve():
            _fail(f"OUT must differ from the input {path}")


def _ffmpeg() -> str | None:
    from tools.settings import Settings

    return Settings().ffmpeg


def _run_step(
    label: str, step: Callable[[Callable[[float], None]], Coroutine[object, object, T]]
) -> T:
    """Run one step with a rich bar on stderr; ffmpeg failures become one line, exit 1."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tools.post.ops import PostError, PostInputError
    from tools.post.runner import FFmpegError, FFmpegNotFound
    from tools.post.sound import VoiceOverUnavailable

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
        except (FFmpegError, FFmpegNotFound, PostError, VoiceOverUnavailable) as exc:
            progress.stop()
            code = EXIT_USAGE if isinstance(exc, PostInputError) else EXIT_FAILED
            _fail(str(exc).splitlines()[0], code)


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


@post_app.command(
    "loudness",
    epilog="Two-pass linear loudnorm, into a peak limiter first only when one linear gain "
    "would break the ceiling. The loudness and true peak before and after (ebur128) are "
    "printed on stderr.",
)
def loudness_cmd(
    src: Annotated[Path, typer.Argument(metavar="IN", help="A video or an audio file.")],
    out: Annotated[
        Path,
        typer.Argument(
            metavar="OUT",
            help="The levelled file. A video keeps its picture (stream copied); "
            ".wav/.flac/.mp3/.m4a/.ogg/.opus/.aac get the sound only.",
        ),
    ],
    lufs: Annotated[float, typer.Option("--lufs", help="Integrated loudness target.")] = -14.0,
    true_peak: Annotated[
        float, typer.Option("--true-peak", help="True-peak ceiling, dBTP.")
    ] = -1.0,
) -> None:
    """Level the sound to -14 LUFS under a -1 dBTP true peak (or --lufs, --true-peak)."""
    from tools.post import ops

    try:
        ops.check_level_targets(lufs, true_peak)
    except ValueError as exc:
        _fail(str(exc))
    _check_sound(src, "nothing to level")
    _check_out(out, src)
    ff = _ffmpeg()
    result = _run_step(
        f"levelling to {lufs:g} LUFS",
        lambda p: ops.loudness(src, out, lufs=lufs, true_peak=true_peak, ffmpeg=ff, on_progress=p),
    )
    _report_levels(result, lufs, true_peak)
    typer.echo(str(out))


def _report_levels(result: Levelled, lufs: float, true_peak: float) -> None:
    (i0, tp0), (i1, tp1) = result.before, result.after
    typer.echo(f"before: {i0:.1f} LUFS, true peak {tp0:.1f} dBTP", err=True)
    if result.normalization == "dynamic":
        how = "loudnorm used its dynamic mode: the sound is too short or steady for a linear gain"
    else:
        how = "one linear gain"
    if result.pre_gain_db:
        how += f", after {result.pre_gain_db:+.1f} dB into a peak limiter"
    typer.echo(f"after:  {i1:.1f} LUFS, true peak {tp1:.1f} dBTP ({how})", err=True)
    if not result.on_target(lufs, true_peak):
        typer.echo(
            f"warning: missed {lufs:g} LUFS +/- 1 under {true_peak:g} dBTP "
            "(very short or very peaky sound)",
            err=True,
        )


@post_app.command(
    "voiceover",
    epilog="Paid voices (OpenAI TTS, ElevenLabs) are not bought from this command: they cost "
    "money like a take, so they are spent through a production's ledger and budget (chat's "
    "finish_options, then an export), where the charge is written before the request.",
)
def voiceover_cmd(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What to say.")],
    out: Annotated[Path, typer.Argument(metavar="OUT.wav", help="The voice-over (.wav).")],
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="auto (the offline voice installed, espeak-ng) or espeak-ng."
        ),
    ] = "auto",
    voice: Annotated[str, typer.Option("--voice", help="espeak-ng voice, e.g. en-us, en-gb.")] = (
        "en-us"
    ),
    wpm: Annotated[
        int, typer.Option("--wpm", min=80, max=450, help="Speaking rate, words per minute.")
    ] = 160,
) -> None:
    """Speak TEXT into a WAV with an offline voice (espeak-ng); no engine, no file (exit 1)."""
    from tools.post import ops, sound

    if engine not in ("auto", "espeak-ng"):
        _fail(f"--engine takes auto or espeak-ng, got {engine!r} (paid voices: see --help)")
    if not text.strip():
        _fail("TEXT is blank: nothing to say")
    if out.suffix.lower() != ".wav":
        _fail(f"OUT must be a .wav file, got {out.name!r}")
    try:
        sound.espeak_exe()
    except sound.VoiceOverUnavailable:
        _fail(
            "no voice-over engine: espeak-ng is not installed (apt install espeak-ng); "
            "nothing written",
            EXIT_FAILED,
        )

    async def speak(report: Callable[[float], None]) -> Path:
        spoken = await ops.voice_over(text.strip(), out, voice=voice, words_per_minute=wpm)
        report(1.0)
        return spoken

    _run_step(f"speaking {len(text.split())} word(s)", speak)
    typer.echo(f"{_probe(out).duration_s:.1f} s of speech", err=True)
    typer.echo(str(out))


@post_app.command(
    "mix",
    epilog="The video's own sound (when it has any), the voice and the music (looped, ducked "
    "under the voice by sidechain compression) are mixed, levelled to -14 LUFS under -1 dBTP "
    "and put with the video stream, copied, into OUT.",
)
def mix_cmd(
    video: Annotated[Path, typer.Argument(metavar="VIDEO", help="The picture and its sound.")],
    out: OutArg,
    voice: Annotated[Path, typer.Option("--voice", help="Voice-over audio file.")],
    music: Annotated[
        Path | None, typer.Option("--music", help="Music, looped and ducked under the voice.")
    ] = None,
    voice_start: Annotated[
        float, typer.Option("--voice-start", min=0.0, help="Seconds before the voice starts.")
    ] = 0.0,
) -> None:
    """Lay a voice-over over the video's own sound, --music ducked under it, at -14 LUFS."""
    from tools.post import ops
    from tools.post.builders import TARGET_I

    if out.suffix.lower() in ops.AUDIO_ONLY_SUFFIXES:
        _fail(f"OUT is a video (the picture is copied into it), got {out.name!r}")
    info = _check_io(video, out)
    voice_info = _check_sound(voice, "--voice")
    if music is not None:
        _check_sound(music, "--music")
    _check_out(out, voice, music)
    duration = info.video_duration_s or info.duration_s
    if voice_start >= duration:
        _fail(f"--voice-start {voice_start:g} is past the end of VIDEO ({duration:.2f} s)")
    if not info.has_audio:
        typer.echo(f"note: {video.name} has no sound of its own; mixing the voice only", err=True)
    overrun = voice_start + voice_info.duration_s - duration
    if overrun > 0.05:
        typer.echo(f"note: the voice runs {overrun:.1f} s past the picture and is cut", err=True)
    ff = _ffmpeg()
    result = _run_step(
        "mixing" + (" with ducked music" if music else ""),
        lambda p: ops.mix_over(
            video,
            out,
            voice=voice,
            music=music,
            voice_start_s=voice_start,
            ffmpeg=ff,
            on_progress=p,
        ),
    )
    _report_levels(result, TARGET_I, ops.DELIVERY_PEAK_DBTP)
    typer.echo(str(out))


@post_app.command("subtitles")
def subtitles_cmd(
    src: InArg,
    out: OutArg,
    srt: Annotated[Path, typer.Option("--srt", help="Subtitles (.srt, or .ass).")],
    sidecar: Annotated[
        bool,
        typer.Option(
            "--sidecar",
            help="Do not burn: OUT gets IN's streams as they are, and the subtitles are "
            "copied next to it with OUT's name (OUT.srt).",
        ),
    ] = False,
) -> None:
    """Burn subtitles into the picture with libass, or with --sidecar put them next to OUT."""
    from tools.post import ops

    _check_io(src, out)
    if out.suffix.lower() in (".srt", ".ass", ".ssa"):
        _fail(f"OUT is the video, got {out.name!r}")
    if not srt.is_file():
        _fail(f"{srt}: no such file")
    if srt.suffix.lower() not in (".srt", ".ass", ".ssa"):
        _fail(f"--srt takes a .srt or .ass file, got {srt.name!r}")
    try:
        subtitles = srt.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{srt}: not readable UTF-8 text ({exc})")
    if srt.suffix.lower() == ".srt" and "-->" not in subtitles:
        _fail(f"{srt}: no cues (no 'start --> end' line)")
    ff = _ffmpeg()
    if sidecar:
        target = out.with_suffix(srt.suffix.lower())
        _run_step("copying", lambda p: ops.remux(src, out, ffmpeg=ff, on_progress=p))
        if target.resolve() != srt.resolve():
            shutil.copyfile(srt, target)
        typer.echo(f"{out}\t{target}")
        return
    _run_step(
        "burning subtitles",
        lambda p: ops.burn_subtitles(src, out, srt, ffmpeg=ff, on_progress=p),
    )
    typer.echo(str(out))


@post_app.command("title")
def title_cmd(
    src: InArg,
    out: OutArg,
    text: Annotated[str, typer.Option("--text", help="The title, drawn literally.")],
    start: Annotated[float, typer.Option("--start", min=0.0, help="Seconds.")] = 0.0,
    end: Annotated[
        float | None, typer.Option("--end", help="Seconds; default: the end of the video.")
    ] = None,
) -> None:
    """Draw a title on the picture (inside the safe area, at the bottom) from --start to --end."""
    from tools.post import ops
    from tools.post.picture import Cue

    if not text.strip():
        _fail("--text is blank")
    info = _check_io(src, out)
    duration = info.video_duration_s or info.duration_s
    stop = duration if end is None else end
    if start >= duration:
        _fail(f"--start {start:g} is past the end of IN ({duration:.2f} s)")
    if stop <= start:
        _fail(f"--end {stop:g} must be after --start {start:g}")
    cue = Cue(start, stop, text)
    ff = _ffmpeg()
    _run_step(
        "drawing the title", lambda p: ops.burn_text(src, out, [cue], ffmpeg=ff, on_progress=p)
    )
    typer.echo(str(out))


@post_app.command("poster")
def poster_cmd(
    src: InArg,
    out: Annotated[Path, typer.Argument(metavar="OUT.jpg", help="The poster (.jpg).")],
    at: Annotated[
        float | None, typer.Option("--at", help="Seconds into IN; default: a third of the way.")
    ] = None,
) -> None:
    """Write one JPEG frame of the video as its poster."""
    from tools.post import ops

    if out.suffix.lower() not in (".jpg", ".jpeg"):
        _fail(f"OUT must be a .jpg file, got {out.name!r}")
    info = _check_io(src, out)
    duration = info.video_duration_s or info.duration_s
    if at is not None and not 0 <= at <= duration:
        _fail(f"--at {at:g} is outside IN (0..{duration:.2f} s)")
    ff = _ffmpeg()
    _run_step("writing the poster", lambda p: ops.poster(src, out, at_s=at, ffmpeg=ff))
    typer.echo(str(out))


def export_cmd(
    project_ref: Annotated[str, typer.Argument(metavar="PROJECT", help="Id, id prefix or slug.")],
    otio_flag: Annotated[
        bool, typer.Option("--otio", help="Write an OpenTimelineIO timeline of the picked takes.")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where to write it.")] = None,
) -> None:
    """Export a project for an editor: --otio writes a timeline pointing at the source takes."""
    from memory.store import ProjectNotFound, ProjectStore, slugify
    from tools.production.assembly import OutputError, write_timeline
    from tools.production.services import ProductionError
    from tools.settings import Settings

    if not otio_flag:
        _fail("choose an export format: --otio")
    store = ProjectStore(Settings().store_target)
    try:
        try:
            project = store.get_project(project_ref)
        except ProjectNotFound as exc:
            _fail(str(exc))
        revisions = store.revisions(project.id)
        production = revisions[-1].production if revisions else store.working(project.id)
        slug = slugify(production.brief.title) if production.brief.title else project.slug
        target = out or Path(f"{slug}.otio")
        try:
            write_timeline(project, production, store, target)
        except (OutputError, ProductionError) as exc:
            _fail(str(exc))
    finally:
        store.close()
    typer.echo(str(target))


def register(app: typer.Typer) -> None:
    """Add `export` and the `post` group to the main app."""
    app.command("export")(export_cmd)
    app.add_typer(post_app, name="post")
