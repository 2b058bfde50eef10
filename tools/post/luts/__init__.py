"""The 3D LUTs reelforge authors (`make_luts.py` writes them) and where they live."""

from __future__ import annotations

from pathlib import Path

LUT_DIR = Path(__file__).resolve().parent
LOOK_NAMES: tuple[str, ...] = ("moody", "warm", "cool", "teal-orange", "bleach", "vintage")


class UnknownLut(ValueError):
    """A grade names a LUT that reelforge does not ship."""


def lut_path(name: str) -> Path:
    """The .cube file for look `name`."""
    if name not in LOOK_NAMES:
        raise UnknownLut(f"unknown LUT {name!r}; use one of {', '.join(LOOK_NAMES)}")
    return LUT_DIR / f"{name}.cube"
