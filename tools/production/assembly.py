"""Master, exports and the OTIO timeline: one `--out` rule, one timeline writer, and paths a
tool or a model gives confined to the folders the person chose.

The `--out` rule (make, resume and chat): revision N of a project is exported to
`OUT/rev-N/` when `--out OUT` was given on the command line, else to
`$REELFORGE_DATA_DIR/projects/<project>/rev-N/`. Export files are named after the production's
current title, so a renamed film exports under its new name.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from memory.models import Aspect, Production, Project, aspect_tag
from memory.store import ProjectStore, slugify
from tools.production.services import ProductionError, Services, Step, noop_step, project_dir
from tools.production.services import work_dir_of as work_dir_of
from tools.settings import Settings

log = logging.getLogger(__name__)


class OutputError(ValueError):
    """An output folder or file the person (or a tool) gave cannot or may not be written."""


def export_paths(out_dir: Path, slug: str, formats: list[Aspect]) -> dict[str, Path]:
    return {fmt: out_dir / f"{slug}-{aspect_tag(fmt)}.mp4" for fmt in formats}


def film_slug(project: Project, production: Production) -> str:
    """The export files' name: the production's current title (it may have been renamed)."""
    return slugify(production.brief.title) if production.brief.title else project.slug


def output_root(settings: Settings, project_id: str, out: Path | None) -> Path:
    """Where a project's outputs go: the `--out` given on the command line, else its folder."""
    return out if out is not None else project_dir(settings, project_id)


def export_dir(settings: Settings, project_id: str, number: int, out: Path | None) -> Path:
    """The one `--out` rule: revision `number` goes to `<root>/rev-<number>/` (every revision
    is kept); with an `--out`, `publish_latest` also puts the newest files in it directly."""
    return output_root(settings, project_id, out) / f"rev-{number}"


def publish_latest(files: Sequence[Path | str], out: Path | None) -> list[Path]:
    """The latest revision's files, also directly in the `--out` folder the person gave (what
    they asked for: `make --out D` gives D/<title>-9x16.mp4); the same file (a hard link where
    the filesystem allows, else a copy), replacing the previous revision's of the same name."""
    from tools.post.finish import place

    if out is None:
        return []
    placed = []
    for item in files:
        source = Path(item)
        dest = out / source.name
        if source.resolve().parent == dest.resolve().parent:
            continue
        placed.append(place(source, dest))
    return placed


def check_output_dir(path: Path) -> None:
    """Raise `OutputError` (one line) unless `path` is a folder that exists or can be made,
    and is writable: checked before anything is paid."""
    target = path.expanduser()
    if target.exists() and not target.is_dir():
        raise OutputError(f"--out {path} is a file, not a folder; give a folder for the exports")
    probe = target
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"--out {path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"--out {path}: {probe} is not writable")
    try:  # access() says yes to root even where nothing can be written (/proc, read-only)
        fd, name = tempfile.mkstemp(prefix=".reelforge-", dir=probe)
    except OSError:
        raise OutputError(f"--out {path}: {probe} is not writable") from None
    os.close(fd)
    os.unlink(name)


def confined(raw: str | Path, root: Path, *, what: str) -> Path:
    """`raw` (relative to `root`, or absolute) resolved, refused unless it is under `root`."""
    base = root.expanduser().resolve()
    given = Path(raw).expanduser()
    target = (given if given.is_absolute() else base / given).resolve()
    if target != base and base not in target.parents:
        raise OutputError(f"{what} must be written under {base}, not {str(raw)!r}")
    return target


def write_timeline(
    project: Project, production: Production, store: ProjectStore, target: Path
) -> int:
    """Write an OpenTimelineIO timeline of the picked takes to `target` (.otio); returns the
    clip count. Used by chat's export_timeline and `reelforge export --otio`."""
    from tools.post.otio_export import OTIOExportError, from_production, write

    if target.suffix != ".otio":
        raise OutputError(f"the timeline file must end in .otio, got {target.name!r}")
    try:
        timeline = from_production(
            production,
            store.take,
            title=production.brief.title or project.title,
            project_id=project.id,
        )
    except OTIOExportError as exc:
        raise ProductionError(str(exc)) from None
    except KeyError as exc:
        raise ProductionError(f"take {exc.args[0]} is not in the store") from None
    write(timeline, target)
    return len(production.shots())


async def assemble_and_export(
    project: Project,
    production: Production,
    services: Services,
    out_dir: Path,
    step: Step = noop_step,
    notes: list[str] | None = None,
    *,
    budget_usd: float | None = None,
) -> Production:
    """Cut the picked takes into a master, lay and level the audio, export every format, with
    the production's finishing options (cached steps; what was done, reused or not possible is
    appended to `notes` in words). Paid sound is held to `budget_usd` (the run's cap; None:
    REELFORGE_BUDGET_USD) on the project's ledger, as takes are."""
    from tools.post.builders import ClipSpec
    from tools.post.finish import finish, segments_from_shots
    from tools.post.finishing import DialogueLine, FinishingRun, title_overlays
    from tools.post.platforms import delivery_plan
    from tools.production.soundtrack import Soundtrack, speaks_itself

    clips: list[ClipSpec] = []
    for shot in production.shots():
        take = services.store.take(production.picks[shot.id])
        if take.file is None or not take.file.exists():
            raise ProductionError(f"the picked take {take.id} of shot {shot.id} has no file")
        clips.append(ClipSpec(path=take.file, duration_s=shot.duration, transition=shot.transition))
    exports = export_paths(out_dir, film_slug(project, production), production.brief.formats)
    out_dir.mkdir(parents=True, exist_ok=True)
    work_dir = work_dir_of(services.settings, project.id)
    finishing = FinishingRun(
        production.finishing,
        work_dir,
        services.settings,
        step,
        stems=Soundtrack(
            services.settings,
            work_dir,
            store=services.store,
            project_id=project.id,
            budget_usd=services.settings.budget_usd if budget_usd is None else budget_usd,
        ),
    )
    clips = await finishing.clips(clips)
    await finishing.voice()
    duration = sum(shot.duration for shot in production.shots())
    segments = segments_from_shots(production.shots())
    lines = [
        DialogueLine(shot.id, seg.start_s, shot.dialogue.strip(), not speaks_itself(shot))
        for shot, seg in zip(production.shots(), segments, strict=True)
        if shot.dialogue and shot.dialogue.strip()
    ]
    await finishing.dialogue(lines, segments[-1].end_s if segments else duration)
    generated = await finishing.music(duration, music_file=production.brief.music is not None)
    music = production.brief.music or generated
    ambience = await finishing.ambience(duration)
    delivery = delivery_plan(production.brief.platform, production.brief.formats)
    titles = title_overlays(production.shots(), segments, delivery.safe, list(exports))
    result = await finish(
        clips,
        segments,
        work_dir=work_dir,
        exports=exports,
        master_aspect=production.scenes[0].shots[0].aspect,
        grade=production.grade,
        mood=production.brief.mood,
        music=music,
        seed=sum(ord(c) for c in project.id),
        ffmpeg=services.settings.ffmpeg,
        on_progress=step,
        voiceover=finishing.voice_file,
        ambience=ambience,
        posters=production.finishing.posters,
        out_fps=production.finishing.fps,
        interpolation=production.finishing.interpolation,
        deliveries={aspect: delivery.delivery(aspect) for aspect in exports},
        overlays=titles,
    )
    if titles:
        finishing.notes.append(
            "titles set in post over the title shots, in each format's safe area"
        )
    finishing.notes += delivery.notes(
        duration_s=result.duration_s, fps=production.finishing.fps or 24
    )
    extra = await finishing.deliver(result, production.shots(), segments)
    for note in finishing.notes:
        log.info("%s: %s", project.id, note)
    if notes is not None:
        notes.extend(finishing.notes)
    return production.model_copy(
        update={"master": result.master, "exports": [*result.exports.values(), *extra]}
    )
