"""Contact sheets: one PNG per shot with its takes side by side, so a pick is a visual choice.

Pure media: the inputs are clip paths and labels; nothing here reads the store. Each take is one
row: a label panel (take number, score, picked mark, QC flags) and a strip of frames sampled
evenly through the clip. A take without a playable file gets a grey strip saying why.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

from tools.post.picture import FONT, FONT_BOLD

BG = (24, 24, 28)
PANEL = (36, 36, 42)
PICKED = (250, 196, 72)
FLAG = (255, 120, 100)
TEXT = (235, 235, 235)
MUTED = (150, 150, 160)


@dataclass(frozen=True)
class TakeTile:
    """One take's row: its clip (or None), number, score, QC flags and whether it is picked."""

    video: Path | None
    number: int
    score: float | None = None
    flags: Sequence[str] = field(default_factory=tuple)
    picked: bool = False
    note: str = ""
    """A short line under the number, e.g. provider and price."""


def sample_frames(video: Path, count: int, width: int) -> list[Image.Image]:
    """`count` frames evenly through `video`, each scaled to `width` (aspect kept)."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = [f.to_image() for f in container.decode(stream)]  # type: ignore[no-untyped-call]
    if not frames:
        raise ValueError(f"{video} has no video frames")
    picks = [frames[min(len(frames) - 1, round(i * (len(frames) - 1) / max(1, count - 1)))]
             for i in range(count)]  # fmt: skip
    height = max(2, round(width * picks[0].height / picks[0].width))
    return [im.convert("RGB").resize((width, height), Image.Resampling.BILINEAR) for im in picks]


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, room: float) -> str:
    """`text`, cut at a word with an ellipsis if it is wider than `room` pixels."""
    if draw.textlength(text, font=font) <= room:
        return text
    words = text.split(" ")
    while len(words) > 1 and draw.textlength(" ".join(words) + " …", font=font) > room:
        words.pop()
    kept = " ".join(words)
    while kept and draw.textlength(kept + " …", font=font) > room:  # one very long word
        kept = kept[:-1]
    return kept + " …"


def contact_sheet(
    tiles: Sequence[TakeTile],
    out: Path,
    *,
    title: str,
    frames: int = 4,
    thumb_width: int = 200,
) -> Path:
    """Write the sheet of `tiles` to `out` (PNG, atomically) and return `out`."""
    if not tiles:
        raise ValueError("a contact sheet needs at least one take")
    strips: list[list[Image.Image] | str] = []
    thumb_h = round(thumb_width * 9 / 16)
    for tile in tiles:
        if tile.video is None or not tile.video.is_file():
            strips.append("no playable file")
            continue
        try:
            strips.append(sample_frames(tile.video, frames, thumb_width))
        except (av.FFmpegError, ValueError, IndexError) as exc:
            strips.append(f"unreadable: {exc}"[:80])
    real = [s for s in strips if not isinstance(s, str)]
    if real:
        thumb_h = max(s[0].height for s in real)
    label_w, pad, head = 230, 8, 40
    row_h = max(thumb_h, 96) + pad
    width = label_w + frames * (thumb_width + pad) + pad
    height = head + row_h * len(tiles) + pad
    sheet = Image.new("RGB", (width, height), BG)
    draw = ImageDraw.Draw(sheet)
    big = ImageFont.truetype(str(FONT_BOLD), 18)
    small = ImageFont.truetype(str(FONT), 13)
    draw.text((pad, 10), _fit(draw, title, big, width - 2 * pad), font=big, fill=TEXT)
    for i, (tile, row) in enumerate(zip(tiles, strips, strict=True)):
        y = head + i * row_h
        border = PICKED if tile.picked else PANEL
        draw.rectangle(
            (pad, y, label_w - pad, y + row_h - pad), fill=PANEL, outline=border, width=3
        )
        mark = "  ★ picked" if tile.picked else ""
        draw.text((pad + 8, y + 6), f"take {tile.number}{mark}", font=big, fill=TEXT)
        score = "score –" if tile.score is None else f"score {tile.score:.2f}"
        draw.text((pad + 8, y + 30), score, font=small, fill=TEXT)
        ty = y + 48
        if tile.note:
            draw.text((pad + 8, ty), tile.note[:32], font=small, fill=MUTED)
            ty += 16
        flags = ", ".join(tile.flags) if tile.flags else "QC ok"
        for line in textwrap.wrap(flags, 30)[:2]:
            draw.text((pad + 8, ty), line, font=small, fill=FLAG if tile.flags else MUTED)
            ty += 16
        x = label_w
        if isinstance(row, str):
            draw.rectangle((x, y, width - pad, y + thumb_h), fill=PANEL)
            draw.text((x + 10, y + thumb_h // 2 - 8), row, font=small, fill=MUTED)
            continue
        for im in row:
            sheet.paste(im, (x, y))
            x += thumb_width + pad
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    sheet.save(tmp, format="PNG")
    os.replace(tmp, out)
    return out
