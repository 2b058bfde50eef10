"""What the board and `reelforge takes` show: the project's shots with their ranked takes, each
take's scores and flags, and one contact sheet per shot (the engine's `tools.production.sheets`:
the same sheet chat names and Slack posts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.board import actions
from memory.models import Production, Project, Revision, Shot, Take
from tools.production.sheets import poster, shot_sheet
from tools.production.sheets import sheets_dir as sheets_dir  # the board app serves from it
from tools.takes import shot_seed

if TYPE_CHECKING:
    from tools.production import Services


@dataclass
class TakeView:
    number: int
    take: Take
    picked: bool
    poster: Path | None = None
    variation: str = ""

    @property
    def flags(self) -> list[str]:
        return list(self.take.qc_notes)


@dataclass
class ShotView:
    shot: Shot
    takes: list[TakeView]
    failed: int
    sheet: Path | None = None


@dataclass
class BoardView:
    project: Project
    production: Production
    shots: list[ShotView]
    revisions: list[Revision]
    spend_usd: float
    spend_by_revision: dict[int, float] = field(default_factory=dict)


def take_variation(shot: Shot, take: Take) -> str:
    """The design take `take` was rendered from (its place in the shot's variation plan, which
    its seed encodes), e.g. "another angle: low-angle wide"; "" when the plan does not cover it."""
    index = take.seed - shot_seed(shot, 0)
    if 0 <= index < len(shot.variations):
        return shot.variations[index].variation
    return ""


def board_view(services: Services, project_id: str, *, sheets: bool = True) -> BoardView:
    store = services.store
    project = store.get_project(project_id)
    production = actions.working(services, project.id)
    shots: list[ShotView] = []
    for shot in production.shots():
        ranked = actions.ranked_takes(services, project.id, shot.id)
        picked = production.picks.get(shot.id)
        views = [
            TakeView(i, t, t.id == picked, variation=take_variation(shot, t))
            for i, t in enumerate(ranked, start=1)
        ]
        failed = sum(1 for t in store.takes(project.id, shot.id) if t.status.value == "failed")
        view = ShotView(shot, views, failed)
        if sheets and views:
            view.sheet = shot_sheet(services, project, shot, [t.take for t in views], picked)
            for t in views:
                t.poster = poster(services, project.id, t.take)
        shots.append(view)
    revisions = store.revisions(project.id)
    by_rev: dict[int, float] = {}
    entries = store.spend(project.id)
    for rev in revisions:
        by_rev[rev.number] = round(
            sum(
                e.amount_usd
                for e in entries
                if e.kind in ("submit", "refund") and e.created_at <= rev.created_at
            )
            - sum(by_rev.values()),
            4,
        )
    return BoardView(project, production, shots, revisions, store.total_spend(project.id), by_rev)


def takes_json(view: BoardView) -> list[dict[str, Any]]:
    """Every take with its scores and the sheet's path (`reelforge takes --json`)."""
    return [
        {
            "shot": sv.shot.id,
            "sheet": str(sv.sheet) if sv.sheet else None,
            "failed_takes": sv.failed,
            "takes": [
                {
                    "number": t.number,
                    "take_id": t.take.id,
                    "provider": t.take.provider,
                    "score": t.take.score,
                    "qc_flags": t.flags,
                    "cost_usd": t.take.cost_usd,
                    "picked": t.picked,
                    "variation": t.variation,
                    "file": str(t.take.file) if t.take.file else None,
                }
                for t in sv.takes
            ],
        }
        for sv in view.shots
    ]
