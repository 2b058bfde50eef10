"""Chat says where the contact sheet is: after takes render, the reply keeps its sentences and
names each shot's sheet PNG, which is the very sheet `reelforge takes` and the board show (one
function in the engine draws it) with chat's take numbers and pick."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from PIL import Image

from agent.board.view import board_view, takes_json
from agent.conversation import words
from tools.post.contact import PICKED
from tools.production import Services
from tools.settings import Settings
from tools.studio import Studio

pytestmark = pytest.mark.ffmpeg

FIELDS = {
    "title": "Sheet Film",
    "story": "A cup of coffee steams on a wooden table.",
    "mood": "calm",
    "style": "cinematic",
    "duration": 3,
    "formats": ["16:9"],
    "audience": "coffee lovers",
}
LABEL_W, PAD, HEAD = 230, 8, 40  # tools.post.contact's layout


def _picked_rows(sheet: Path, rows: int) -> list[bool]:
    """Which rows of the sheet carry the picked border."""
    im = Image.open(sheet).convert("RGB")
    row_h = (im.height - HEAD - PAD) // rows
    assert HEAD + rows * row_h + PAD == im.height  # one row per take
    return [im.getpixel((PAD + 1, HEAD + i * row_h + 1)) == PICKED for i in range(rows)]


def test_the_takes_reply_names_each_shots_sheet_shared_with_takes_and_the_board(
    tmp_path: Path,
) -> None:
    services = Services.open(Settings(data_dir=tmp_path / "data"))
    studio = Studio(services, "t", out_dir=tmp_path / "out")
    try:
        studio.update_brief(**FIELDS)
        studio.plan()
        reply = words.generated(asyncio.run(studio.generate(3)))
        lines = reply.splitlines()
        project, production = studio._require_project()
        shots = [s.id for s in production.shots()]

        # the sentences chat (and the offline director) read are unchanged and come first
        assert re.fullmatch(r"Rendered takes for \d+ shot\(s\); spent \$0\.00\.", lines[0])
        at = lines.index("Export next, or pick other takes.")
        assert all(
            any(line.startswith(f"- shot {s}: 3 take(s); picked take 1, score ") for line in lines)
            for s in shots
        )
        # ...then one sheet line per shot, after them
        assert lines[at + 1].startswith("Contact sheets")
        found = [re.fullmatch(r"- shot (\S+): (.+\.png)", line) for line in lines[at + 2 :]]
        named = {m.group(1): m.group(2) for m in found if m is not None}
        assert len(named) == len(found)
        assert list(named) == shots
        sheets = {s: Path(p) for s, p in named.items()}
        for sheet in sheets.values():
            assert sheet.is_file() and sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert _picked_rows(sheet, 3) == [True, False, False]  # chat picked take 1

        # `reelforge takes --json` and the board list that same file, not a copy of it
        drawn = {s: p.stat().st_mtime_ns for s, p in sheets.items()}
        data = takes_json(board_view(services, project.id))
        assert {d["shot"]: Path(d["sheet"]) for d in data} == sheets
        assert {s: p.stat().st_mtime_ns for s, p in sheets.items()} == drawn  # not re-drawn

        # a pick in chat moves the mark on the sheet: take 2 there is take 2 on the sheet
        first = shots[0]
        studio.pick(first, 2)
        (again,) = [d for d in takes_json(board_view(services, project.id)) if d["shot"] == first]
        assert [t["picked"] for t in again["takes"]] == [False, True, False]
        assert _picked_rows(sheets[first], 3) == [False, True, False]
        assert studio.contact_sheets() == list(sheets.items())
    finally:
        asyncio.run(services.aclose())


def test_more_takes_never_undo_a_pick(tmp_path: Path) -> None:
    """Rendering more takes of a shot keeps the take the person picked and names the best new
    one instead of silently re-picking (the board's "add takes" used to move the pick)."""
    services = Services.open(Settings(data_dir=tmp_path / "data"))
    studio = Studio(services, "t", out_dir=tmp_path / "out")
    try:
        studio.update_brief(**FIELDS)
        studio.plan()
        asyncio.run(studio.generate(2))
        project, production = studio._require_project()
        first = production.shots()[0].id
        studio.pick(first, 2)
        chosen = studio._require_project()[1].picks[first]
        result = asyncio.run(studio.generate(4, [first]))
        reply = words.generated(result)
        assert studio._require_project()[1].picks[first] == chosen, reply
        ranked = [t.id for t in studio.ranked_takes(first)]
        assert len(ranked) == 4
        kept = ranked.index(chosen) + 1
        (shot,) = result.shots
        assert shot.picked == kept
        if kept == 1:  # the pick is also the best scored: nothing to point out
            assert shot.best is None and f"picked take {kept}" in reply
        else:
            assert shot.best == 1
            assert f"kept the current pick, take {kept}; the best scored is take 1" in reply
    finally:
        asyncio.run(services.aclose())
