"""Previz that shows the shot: rendered animatic frames differ by setting, light and move, and
each camera move produces its own measurable motion (real ffmpeg renders, small frames)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from memory.models import PromptComponents
from tools.post.runner import run
from tools.providers.animatic import renderer as A
from tools.providers.base import GenerationRequest

pytestmark = pytest.mark.ffmpeg

W, H = 320, 180
HIST_MIN = 0.25
"""Least L1 distance (0..2) between the colour histograms of two different shots' first frames."""
Frame = NDArray[np.float64]


def render(tmp_path: Path, name: str, seed: int = 3, **comps: str) -> list[Frame]:
    request = GenerationRequest(
        prompt="x",
        duration=1.0,
        aspect="16:9",
        seed=seed,
        text_overlay="",
        components=PromptComponents(**comps),
    )
    out = tmp_path / f"{name}.mp4"
    run(A.build_render_args(request, out, fontfile=A.FONT, width=W, height=H))
    with av.open(str(out)) as c:
        return [f.to_ndarray(format="rgb24").astype(np.float64) for f in c.decode(video=0)]


def histogram(frame: Frame) -> Frame:
    bins = [np.histogram(frame[..., ch], bins=8, range=(0, 256))[0] for ch in range(3)]
    h = np.concatenate(bins).astype(np.float64)
    return h / h.sum() * 3


def hist_distance(a: Frame, b: Frame) -> float:
    return float(np.abs(histogram(a) - histogram(b)).sum() / 3)


SHOTS: dict[str, dict[str, str]] = {
    "garage": {
        "environment": "a dim garage",
        "lighting": "night neon",
        "camera_movement": "handheld",
    },
    "street": {
        "environment": "a city street",
        "lighting": "sunset",
        "camera_movement": "pan right",
    },
    "forest": {"environment": "a forest", "lighting": "daylight", "camera_movement": "push in"},
    "sea": {"environment": "the open sea", "lighting": "dawn", "camera_movement": "tilt up"},
    "space": {"environment": "outer space", "lighting": "dark", "camera_movement": "crane up"},
    "bakery": {"environment": "a bakery", "lighting": "warm", "camera_movement": "static"},
}


def test_shots_that_differ_in_setting_light_and_move_look_different(tmp_path: Path) -> None:
    firsts = {name: render(tmp_path, name, **c)[0] for name, c in SHOTS.items()}
    for (a, fa), (b, fb) in itertools.combinations(firsts.items(), 2):
        d = hist_distance(fa, fb)
        assert d > HIST_MIN, f"{a} vs {b}: histogram distance {d:.3f} <= {HIST_MIN}"


def test_a_takes_seed_is_a_visible_variation(tmp_path: Path) -> None:
    comps = SHOTS["street"]
    one, two = render(tmp_path, "s1", 1, **comps)[0], render(tmp_path, "s2", 2, **comps)[0]
    assert float(np.abs(one - two).mean()) > 8


def test_figures_and_framing_follow_count_and_shot_size() -> None:
    assert A.figure_count(PromptComponents(subject="two dancers")) == 2
    assert A.figure_count(PromptComponents(subject="a baker and her son")) == 2
    assert A.figure_count(PromptComponents(subject="a crowd of fans")) == 4
    assert A.figure_count(PromptComponents(subject="a courier")) == 1
    assert A.shot_size(PromptComponents(camera_movement="slow push, close-up")) == "close"
    assert A.shot_size(PromptComponents(camera_movement="wide establishing")) == "wide"


def dark_share(frame: Frame, box: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = box
    part = frame[int(H * y0) : int(H * y1), int(W * x0) : int(W * x1)].mean(axis=2)
    return float((part < 40).mean())


def test_a_close_up_fills_the_frame_a_wide_shot_does_not(tmp_path: Path) -> None:
    base = {"environment": "a forest", "lighting": "daylight", "subject": "a hiker"}
    close = render(tmp_path, "c", camera_movement="static close-up", **base)[0]
    wide = render(tmp_path, "w", camera_movement="static wide shot", **base)[0]
    assert dark_share(close, (0, 0.3, 1, 1)) > 0.15 > 0.05 > dark_share(wide, (0, 0.3, 1, 1))


def shift(a: Frame, b: Frame, axis: int) -> float:
    """The shift (px) of b against a along axis (1 = x, 0 = y) from the mean luma profiles."""
    pa, pb = a.mean(axis=2).mean(axis=1 - axis), b.mean(axis=2).mean(axis=1 - axis)
    pa, pb = pa - pa.mean(), pb - pb.mean()
    n = len(pa)
    best, best_s = -1e18, 0
    for s in range(-n // 2, n // 2):
        lo, hi = max(0, s), min(n, n + s)
        score = float((pa[lo - s : hi - s] * pb[lo:hi]).mean())
        if score > best:
            best, best_s = score, s
    return float(best_s)


def zoom_of(a: Frame, b: Frame) -> float:
    """The scale s for which a part of a (1/s of it, anywhere on a coarse grid of centres),
    scaled up, best matches b: a push-in ends on the subject, not the frame's centre."""
    img = Image.fromarray(a.astype(np.uint8)).reduce(2)
    w, h = img.size
    target = b[::2, ::2][:h, :w]
    best, best_s = 1e18, 1.0
    for s in np.linspace(1.0, 1.8, 17):
        cw, ch = w / s, h / s
        for fx, fy in itertools.product(np.linspace(0, 1, 9), repeat=2):
            x0, y0 = (w - cw) * fx, (h - ch) * fy
            box = (x0, y0, x0 + cw, y0 + ch)
            up = np.asarray(img.resize((w, h), Image.Resampling.BILINEAR, box=box), np.float64)
            err = float(np.abs(up - target).mean())
            if err < best:
                best, best_s = err, float(s)
    return best_s


MOTION_PX = 0.08
"""Least shift, as a share of the frame, that a pan, tilt, crane or tracking shot must show."""
ZOOM_MIN = 1.2


@pytest.mark.parametrize(
    ("move", "check"),
    [
        ("push in", "zoom_in"),
        ("pull back", "zoom_out"),
        ("pan left", "x"),
        ("pan right", "x"),
        ("tracking shot", "x"),
        ("tilt up", "y"),
        ("crane up", "y"),
        ("crane down", "y"),
        ("drone rising", "y"),
    ],
)
def test_each_camera_move_is_performed(tmp_path: Path, move: str, check: str) -> None:
    comps: dict[str, Any] = {"environment": "a city street", "lighting": "sunset"}
    frames = render(tmp_path, "m", camera_movement=move, **comps)
    first, last = frames[0], frames[-1]
    if check == "zoom_in":
        assert zoom_of(first, last) >= ZOOM_MIN
    elif check == "zoom_out":
        assert zoom_of(last, first) >= ZOOM_MIN
    elif check == "x":
        assert abs(shift(first, last, 1)) >= MOTION_PX * W
    else:
        assert abs(shift(first, last, 0)) >= MOTION_PX * H


def test_handheld_shakes_and_static_holds(tmp_path: Path) -> None:
    comps = {"environment": "a city street", "lighting": "sunset"}
    shaky = render(tmp_path, "h", camera_movement="handheld", **comps)
    still = render(tmp_path, "s", camera_movement="locked-off", **comps)
    jitter = [float(np.abs(a - b).mean()) for a, b in itertools.pairwise(shaky)]
    held = [float(np.abs(a - b).mean()) for a, b in itertools.pairwise(still)]
    assert max(jitter) > 2 * max(max(held), 0.5)


@pytest.mark.parametrize(
    "comps",
    [
        {"environment": "a dim garage", "lighting": "night neon", "emotional_tone": "moody"},
        {"environment": "a dark alley", "lighting": "noir", "emotional_tone": "ominous"},
        {"environment": "outer space", "lighting": "dark", "emotional_tone": "sad"},
    ],
)
def test_a_dark_moody_previz_stays_readable_not_black(
    tmp_path: Path, comps: dict[str, str]
) -> None:
    """A moody night plate is dark but can be read: fewer than 90% of its pixels fall under
    ffmpeg blackdetect's pixel threshold (pix_th 0.1 ~ luma 38), whatever the take's seed
    (QC called such takes black and ranked them last)."""
    for seed in range(6):
        frame = render(tmp_path, f"dark{seed}", seed=seed, **comps)[0]
        luma = frame @ np.array([0.299, 0.587, 0.114])
        assert float((luma < 38).mean()) < 0.9, (comps, seed)
