"""Contact sheets of a project's takes: one PNG per shot with its ranked takes side by side.

The one place a sheet is made: chat names it after rendering, Slack posts it with the pick
buttons, `reelforge takes` lists it and the review board shows it. Take N on a sheet is take N
everywhere (the engine's ranking, best first). A sheet is re-drawn only when its takes, their
scores or the pick changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from memory.models import Production, Project, Shot, Take, stable_hash
from tools.post.contact import TakeTile, contact_sheet, sample_frames
from tools.production.rendering import ranked_takes
from tools.production.services import Services


def sheets_dir(services: Services, project_id: str) -> Path:
    """Where a project's sheets and take posters live (served by the board, never elsewhere)."""
    return services.settings.media_dir / "sheets" / project_id


def shot_sheet(
    services: Services,
    project: Project,
    shot: Shot,
    ranked: Sequence[Take],
    picked: str | None,
) -> Path:
    """The contact sheet of `shot` whose takes, best first, are `ranked` (numbered from 1);
    `picked` is the take id in the cut."""
    tiles = [
        TakeTile(
            video=t.file,
            number=n,
            score=t.score,
            flags=tuple(t.qc_notes),
            picked=t.id == picked,
            note=f"{t.provider} · ${t.cost_usd:.2f}",
        )
        for n, t in enumerate(ranked, start=1)
    ]
    key = stable_hash([tile.__dict__ for tile in tiles])
    out = sheets_dir(services, project.id) / f"shot-{shot.id}.png"
    stamp = out.with_suffix(".key")
    if out.is_file() and stamp.is_file() and stamp.read_text() == key:
        return out
    contact_sheet(tiles, out, title=f"{project.title} · shot {shot.id}: {shot.description}")
    stamp.write_text(key)
    return out


def contact_sheets(
    services: Services,
    project: Project,
    production: Production,
    shot_ids: Sequence[str] | None = None,
) -> list[tuple[str, Path]]:
    """(shot id, sheet path) for every shot with a take (only `shot_ids`, when given), in
    the production's shot order."""
    out = []
    for shot in production.shots():
        if shot_ids is not None and shot.id not in shot_ids:
            continue
        ranked = ranked_takes(services.store, project.id, shot)
        if ranked:
            picked = production.picks.get(shot.id)
            out.append((shot.id, shot_sheet(services, project, shot, ranked, picked)))
    return out


def poster(services: Services, project_id: str, take: Take) -> Path | None:
    """A still of the take's first frame (the thumbnail before it plays)."""
    if take.file is None or not take.file.is_file():
        return None
    out = sheets_dir(services, project_id) / f"take-{take.id}.png"
    if not out.is_file():
        frame = sample_frames(take.file, 1, 320)[0]
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.save(out, format="PNG")
    return out
