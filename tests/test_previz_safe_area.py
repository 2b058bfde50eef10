"""Captions, titles and subtitles in every delivery aspect: inside the safe area, never
overlapping (checked on rendered frames).

The animatic's caption is baked into the master, so it must survive every centred crop the
exports take (16:9, 9:16, 1:1 from any master) inside every platform's safe area; titles are
drawn at export per aspect (`title_overlays`); subtitles are drawn at the bottom of the safe area
(burned with libass, as the export does when its ffmpeg has it)."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from memory.models import EXPORT_SIZES, PromptComponents
from tests.post.test_post_pure import _title_shot
from tools.post import ops
from tools.post import picture as p
from tools.post.builders import SegmentSpec
from tools.post.finishing import title_overlays
from tools.post.platforms import GENERIC_SAFE, PLATFORMS
from tools.post.runner import run
from tools.providers.animatic import renderer as A
from tools.providers.base import GenerationRequest

pytestmark = pytest.mark.ffmpeg

ASPECTS = ("16:9", "9:16", "1:1")
CAPTION = "A mechanic works under a car in a dim garage while the rain falls outside"
Mask = NDArray[np.bool_]


def safe_areas(aspect: str) -> list[p.SafeArea]:
    return [GENERIC_SAFE[aspect], *(pl.safe for pl in PLATFORMS.values() if pl.aspect == aspect)]


def first_gray(path: Path) -> NDArray[np.int16]:
    with av.open(str(path)) as c:
        return np.asarray(next(c.decode(video=0)).to_ndarray(format="gray"), np.int16)


def caption_mask(tmp_path: Path, aspect: str) -> Mask:
    """The pixels the caption (band and text) changes on a master of `aspect`."""
    w, h = A.previz_size(aspect)
    frames = []
    for i, text in enumerate((CAPTION, "")):
        request = GenerationRequest(
            prompt="x",
            duration=0.25,
            aspect=aspect,
            seed=5,
            text_overlay=text,
            components=PromptComponents(environment="a city street", lighting="daylight"),
        )
        out = tmp_path / f"{aspect.replace(':', 'x')}-{i}.mp4"
        run(A.build_render_args(request, out, fontfile=A.FONT, width=w, height=h))
        frames.append(first_gray(out))
    mask = np.abs(frames[0] - frames[1]) > 24
    assert mask.sum() > 500, "the caption drew nothing"
    return mask


def crop_of(mask: Mask, target: str) -> tuple[Mask, int]:
    """The centred crop of a master mask that an export to `target` takes, and the caption
    pixels it loses."""
    h, w = mask.shape
    tw, th = EXPORT_SIZES[target]
    cw, ch = min(w, round(h * tw / th)), min(h, round(w * th / tw))
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    part = mask[y0 : y0 + ch, x0 : x0 + cw]
    return part, int(mask.sum() - part.sum())


def outside(mask: Mask, safe: p.SafeArea) -> int:
    h, w = mask.shape
    inner = np.zeros_like(mask)
    inner[int(h * safe.top) : int(np.ceil(h * (1 - safe.bottom))),
          int(w * safe.left) : int(np.ceil(w * (1 - safe.right)))] = True  # fmt: skip
    return int((mask & ~inner).sum())


def scaled(mask: Mask, size: tuple[int, int]) -> Mask:
    img = Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.Resampling.NEAREST)
    return np.asarray(img) > 0


def drawn(tmp_path: Path, aspect: str, chain: str, name: str) -> Mask:
    """What `chain` draws on a black frame of the export size of `aspect`, 2 s in."""
    w, h = EXPORT_SIZES[aspect]
    out = tmp_path / f"{name}.png"
    run(["-f", "lavfi", "-i", f"color=c=black:size={w}x{h}:rate=24:duration=3",
         "-vf", chain, "-ss", "2", "-frames:v", "1", str(out)])  # fmt: skip
    return np.asarray(Image.open(out).convert("L")) > 40


def burned_subtitle(tmp_path: Path, aspect: str) -> Mask:
    """A long subtitle cue burned as the export burns it (libass, sized by the frame shape)."""
    w, h = EXPORT_SIZES[aspect]
    black, out = tmp_path / "black.mp4", tmp_path / "subbed.mp4"
    run(["-f", "lavfi", "-i", f"color=c=black:size={w}x{h}:rate=24:duration=3",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(black)])  # fmt: skip
    srt = tmp_path / "cues.srt"
    srt.write_text(
        "1\n00:00:00,000 --> 00:00:03,000\n"
        "I never thought the city could be this quiet at night, she said to nobody at all.\n"
    )
    size = ops.subtitle_font_size(w, h)
    run(p.burn_subtitles(black, out, srt, font_size=size, safe=GENERIC_SAFE[aspect]))
    with av.open(str(out)) as c:
        frame = [f for i, f in enumerate(c.decode(video=0)) if i == 24][0]
    return np.asarray(frame.to_ndarray(format="gray")) > 40


@pytest.fixture(scope="module")
def captions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Mask]:
    folder = tmp_path_factory.mktemp("captions")
    return {aspect: caption_mask(folder, aspect) for aspect in ASPECTS}


@pytest.mark.parametrize(("master", "export"), list(itertools.product(ASPECTS, ASPECTS)))
def test_the_caption_survives_every_crop_inside_every_safe_area(
    captions: dict[str, Mask], master: str, export: str
) -> None:
    part, lost = crop_of(captions[master], export)
    assert lost == 0, f"{master} master -> {export}: the crop cuts {lost} caption pixels"
    for safe in safe_areas(export):
        assert outside(part, safe) == 0, f"{master} -> {export}: caption outside {safe}"


@pytest.mark.parametrize("export", ASPECTS)
def test_titles_subtitles_and_captions_stay_inside_and_apart(
    tmp_path: Path, captions: dict[str, Mask], export: str
) -> None:
    safe = GENERIC_SAFE[export]
    seg = [SegmentSpec(0.0, 3.0)]
    title_chain = title_overlays(
        [_title_shot("animatic", "Golden Hour Over The Harbour Tonight")],
        seg,
        lambda _aspect: safe,
        [export],
    )[export]
    title = drawn(tmp_path, export, title_chain, "title")
    subtitle = burned_subtitle(tmp_path, export)
    assert title.sum() > 500 and subtitle.sum() > 500
    assert outside(title, safe) == 0 and outside(subtitle, safe) == 0
    assert not (title & subtitle).any()
    for master in ASPECTS:  # the caption as it lands in this export, from any master
        part, _ = crop_of(captions[master], export)
        placed = scaled(part, EXPORT_SIZES[export])
        assert not (placed & subtitle).any(), f"{master} caption meets the subtitles"
        assert not (placed & title).any(), f"{master} caption meets the title"
