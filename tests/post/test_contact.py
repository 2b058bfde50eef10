"""Contact sheets: a PNG per shot, one row per take (frame strip, number, score, QC flags)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.post.conftest import make_clip
from tools.post.contact import PANEL, PICKED, TakeTile, contact_sheet

pytestmark = pytest.mark.ffmpeg


def test_sheet_has_a_row_per_take_with_its_frames_and_the_pick_marked(tmp_path: Path) -> None:
    red = make_clip(tmp_path / "r.mp4", "color=red:size=160x90:rate=24:duration={d}", audio=None)
    blue = make_clip(tmp_path / "b.mp4", "color=blue:size=160x90:rate=24:duration={d}", audio=None)
    tiles = [
        TakeTile(red, 1, 0.91, (), picked=False),
        TakeTile(blue, 2, 0.42, ("frozen picture",), picked=True),
        TakeTile(None, 3, None, ("render failed",)),
    ]
    out = contact_sheet(tiles, tmp_path / "sheets" / "shot-1.png", title="shot 1", frames=3)
    im = Image.open(out).convert("RGB")
    label_w, pad, head, thumb_w, thumb_h = 230, 8, 40, 200, 112
    row_h = thumb_h + pad
    assert im.size == (label_w + 3 * (thumb_w + pad) + pad, head + 3 * row_h + pad)

    def at(row: int, frame: int) -> tuple[int, int, int]:
        x = label_w + frame * (thumb_w + pad) + thumb_w // 2
        px = im.getpixel((x, head + row * row_h + thumb_h // 2))
        assert isinstance(px, tuple)
        return (px[0], px[1], px[2])

    for frame in range(3):
        r, g, b = at(0, frame)
        assert r > 200 and g < 60 and b < 60
        r, g, b = at(1, frame)
        assert b > 200 and r < 60
    assert at(2, 1) == PANEL  # no file: a plain panel (with a line saying so), no picture
    assert im.getpixel((pad + 1, head + row_h + 1)) == PICKED  # the picked row's border
    assert im.getpixel((pad + 1, head + 1)) != PICKED


def test_an_empty_sheet_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one take"):
        contact_sheet([], tmp_path / "x.png", title="x")


def test_a_long_title_is_cut_at_a_word_inside_the_sheet(tmp_path: Path) -> None:
    from PIL import ImageDraw, ImageFont

    from tools.post.contact import FONT_BOLD, _fit

    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    font = ImageFont.truetype(str(FONT_BOLD), 18)
    title = "Garage Night · shot 1.1: " + "a mechanic works under a car " * 8
    fitted = _fit(draw, title, font, 600)
    assert fitted.endswith(" …") and draw.textlength(fitted, font=font) <= 600
    assert title.startswith(fitted[:-2]) and fitted[:-2].endswith(
        ("mechanic", "works", "under", "a", "car")
    )
    assert _fit(draw, "short", font, 600) == "short"
    assert draw.textlength(_fit(draw, "x" * 400, font, 100), font=font) <= 100
