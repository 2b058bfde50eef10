"""Write reelforge's look LUTs as 17^3 .cube files: `python -m tools.post.luts.make_luts`.

Each look is a pure numpy function of RGB in 0..1, so the files are reproducible byte for byte
(tests regenerate them and compare). Moderate strengths: eq/curves in the Grade do the rest.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tools.post.luts import LOOK_NAMES, LUT_DIR

SIZE = 17
Array = NDArray[np.float64]
REC709 = np.array([0.2126, 0.7152, 0.0722])


def _luma(rgb: Array) -> Array:
    return np.asarray(rgb @ REC709)[..., None]


def _saturate(rgb: Array, amount: float) -> Array:
    y = _luma(rgb)
    return y + (rgb - y) * amount


def _contrast(rgb: Array, amount: float, pivot: float = 0.45) -> Array:
    """An S-curve around `pivot` (smoothstep blend), gentler at the ends than a linear stretch."""
    linear = pivot + (rgb - pivot) * amount
    s = rgb * rgb * (3 - 2 * rgb)
    return linear * 0.6 + (pivot + (s - pivot) * amount) * 0.4


def _tint(
    rgb: Array, shadows: tuple[float, float, float], highs: tuple[float, float, float]
) -> Array:
    y = _luma(rgb)
    return np.asarray(rgb + (1 - y) * np.array(shadows) + y * np.array(highs))


def moody(rgb: Array) -> Array:
    out = _saturate(rgb, 0.75)
    out = np.power(np.clip(out, 0, 1), 1.18)
    out = _tint(out, (-0.015, 0.005, 0.03), (0.0, 0.0, -0.01))
    return _contrast(out, 1.1)


def warm(rgb: Array) -> Array:
    out = rgb * np.array([1.06, 1.01, 0.9])
    out = _tint(out, (0.015, 0.005, -0.01), (0.02, 0.01, -0.02))
    return _saturate(out, 1.05)


def cool(rgb: Array) -> Array:
    out = rgb * np.array([0.93, 0.99, 1.07])
    return _tint(out, (-0.01, 0.0, 0.02), (-0.01, 0.0, 0.01))


def teal_orange(rgb: Array) -> Array:
    y = _luma(rgb)
    shadows = np.array([-0.04, 0.02, 0.05]) * (1 - y) ** 2
    highs = np.array([0.06, 0.015, -0.06]) * y**2
    out = _saturate(rgb, 1.08) + shadows + highs
    return _contrast(out, 1.12)


def bleach(rgb: Array) -> Array:
    """Bleach bypass: the luma laid over the colour with an overlay blend, half desaturated."""
    y = np.repeat(_luma(rgb), 3, axis=-1)
    overlay = np.where(rgb < 0.5, 2 * rgb * y, 1 - 2 * (1 - rgb) * (1 - y))
    return _saturate(0.6 * overlay + 0.4 * rgb, 0.55)


def vintage(rgb: Array) -> Array:
    out = _saturate(rgb, 0.7)
    out = 0.06 + out * 0.86
    return _tint(out, (0.02, 0.01, 0.04), (0.03, 0.02, -0.05))


LOOKS: dict[str, Callable[[Array], Array]] = {
    "moody": moody,
    "warm": warm,
    "cool": cool,
    "teal-orange": teal_orange,
    "bleach": bleach,
    "vintage": vintage,
}


def cube_text(name: str, size: int = SIZE) -> str:
    """The .cube file for `name`: red varies fastest, as the format requires."""
    axis = np.linspace(0.0, 1.0, size)
    b, g, r = np.meshgrid(axis, axis, axis, indexing="ij")
    rgb = np.stack([r, g, b], axis=-1).reshape(-1, 3)
    out = np.clip(LOOKS[name](rgb), 0.0, 1.0)
    lines = [
        f'TITLE "reelforge {name}"',
        f"LUT_3D_SIZE {size}",
        "DOMAIN_MIN 0.0 0.0 0.0",
        "DOMAIN_MAX 1.0 1.0 1.0",
    ]
    lines += [f"{x:.5f} {y:.5f} {z:.5f}" for x, y, z in out]
    return "\n".join(lines) + "\n"


def write_all(folder: Path = LUT_DIR) -> list[Path]:
    written = []
    for name in LOOK_NAMES:
        path = folder / f"{name}.cube"
        path.write_text(cube_text(name), encoding="ascii")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else LUT_DIR):
        sys.stdout.write(f"{path}\n")
