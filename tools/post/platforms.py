"""Delivery presets per platform: aspect, size, length limits, bitrate and caption safe areas.

Figures from the platforms' published specs as of 2026 (see /work/shared/reference/ffmpeg.md);
safe areas are third-party guidance and vary by app version, so they are deliberately generous.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tools.post.builders import Delivery
from tools.post.picture import SafeArea


@dataclass(frozen=True)
class Platform:
    name: str
    aspect: str
    width: int
    height: int
    min_duration_s: float
    max_duration_s: float
    fps: tuple[int, ...]
    video_maxrate: str
    audio_bitrate: str
    safe: SafeArea
    loudness_lufs: float = -14.0
    true_peak_dbtp: float = -1.0
    gop_s: float = 2.0
    edit_lists: bool = True

    @property
    def delivery(self) -> Delivery:
        """The encode settings an export for this platform gets."""
        return Delivery(
            name=self.name,
            maxrate=self.video_maxrate,
            audio_bitrate=self.audio_bitrate,
            gop_s=self.gop_s,
            edit_lists=self.edit_lists,
        )

    def problems(self, *, duration_s: float, aspect: str, fps: int | None = None) -> list[str]:
        """Why a cut would be rejected or cropped by this platform; empty when it fits."""
        found = []
        if aspect != self.aspect:
            found.append(f"{self.name} wants {self.aspect}, this cut is {aspect}")
        if duration_s < self.min_duration_s:
            found.append(f"{self.name} needs at least {self.min_duration_s:g}s")
        if duration_s > self.max_duration_s:
            found.append(f"{self.name} allows at most {self.max_duration_s:g}s")
        if fps is not None and fps not in self.fps:
            found.append(f"{self.name} takes {', '.join(map(str, self.fps))} fps, not {fps}")
        return found

    def safe_box(self) -> tuple[int, int, int, int]:
        """x, y, width, height in pixels of the area captions and titles may use."""
        s = self.safe
        x, y = round(self.width * s.left), round(self.height * s.top)
        return (
            x,
            y,
            self.width - x - round(self.width * s.right),
            self.height - y - round(self.height * s.bottom),
        )


_VERTICAL_UI = SafeArea(top=0.14, bottom=0.20, left=0.06, right=0.15)
"""Right-hand buttons and the caption/handle block at the bottom of 9:16 feeds."""

PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform(
            "tiktok", "9:16", 1080, 1920, 3, 600, (24, 25, 30, 60), "12M", "192k", _VERTICAL_UI
        ),
        Platform(
            "reels", "9:16", 1080, 1920, 3, 900, (24, 25, 30, 60), "12M", "192k", _VERTICAL_UI
        ),
        Platform(
            "shorts",
            "9:16",
            1080,
            1920,
            1,
            180,
            (24, 25, 30, 48, 50, 60),
            "12M",
            "384k",
            SafeArea(top=0.10, bottom=0.18, left=0.06, right=0.12),
            gop_s=0.5,
            edit_lists=False,
        ),
        Platform(
            "youtube",
            "16:9",
            1920,
            1080,
            1,
            12 * 3600,
            (24, 25, 30, 48, 50, 60),
            "12M",
            "384k",
            SafeArea(top=0.05, bottom=0.10, left=0.05, right=0.05),
            gop_s=0.5,
            edit_lists=False,
        ),
        Platform(
            "feed",
            "1:1",
            1080,
            1080,
            3,
            3600,
            (24, 25, 30, 60),
            "12M",
            "192k",
            SafeArea(top=0.06, bottom=0.10, left=0.06, right=0.06),
        ),
    )
}
ALIASES = {
    "instagram reels": "reels",
    "instagram": "reels",
    "ig": "reels",
    "youtube shorts": "shorts",
    "yt": "youtube",
    "instagram feed": "feed",
    "facebook": "feed",
}


class UnknownPlatform(ValueError):
    pass


def platform(name: str) -> Platform:
    """The preset for `name` (case-insensitive; "instagram reels" and similar aliases work)."""
    key = " ".join(name.lower().split())
    key = ALIASES.get(key, key)
    if key not in PLATFORMS:
        raise UnknownPlatform(f"unknown platform {name!r}; use one of {', '.join(PLATFORMS)}")
    return PLATFORMS[key]


GENERIC_SAFE: dict[str, SafeArea] = {
    "9:16": _VERTICAL_UI,
    "16:9": SafeArea(top=0.05, bottom=0.10, left=0.05, right=0.05),
    "1:1": SafeArea(top=0.06, bottom=0.10, left=0.06, right=0.06),
}
"""Where titles go in a format no platform preset covers: the strictest of its platforms."""

FAMILIES: dict[str, dict[str, str]] = {
    "tiktok": {"9:16": "tiktok"},
    "reels": {"9:16": "reels", "1:1": "feed"},
    "feed": {"1:1": "feed", "9:16": "reels"},
    "shorts": {"9:16": "shorts", "16:9": "youtube"},
    "youtube": {"16:9": "youtube", "9:16": "shorts"},
}
"""A brief's platform also names its sister feeds: YouTube's vertical files go to Shorts,
Instagram's square ones to the feed."""


@dataclass(frozen=True)
class DeliveryPlan:
    """Per format: the platform preset it is encoded for (None: generic settings), and why not
    when the brief's platform was not understood."""

    presets: dict[str, Platform | None]
    unknown: str | None = None

    def delivery(self, aspect: str) -> Delivery:
        preset = self.presets.get(aspect)
        return preset.delivery if preset else Delivery()

    def safe(self, aspect: str) -> SafeArea:
        preset = self.presets.get(aspect)
        return preset.safe if preset else GENERIC_SAFE[aspect]

    def notes(self, *, duration_s: float, fps: int) -> list[str]:
        """What the person should know about the delivery: presets used and what won't fit."""
        said: list[str] = []
        if self.unknown:
            said.append(f"{self.unknown}; the exports use generic delivery settings")
        for aspect, preset in self.presets.items():
            if preset is None:
                continue
            said.append(
                f"{aspect} encoded for {preset.name} ({preset.video_maxrate} max video, "
                f"{preset.audio_bitrate} audio, keyframe every {preset.gop_s:g}s"
                + ("" if preset.edit_lists else ", no edit list")
                + ")"
            )
            said += preset.problems(duration_s=duration_s, aspect=aspect, fps=fps)
        return said


def delivery_plan(platform_name: str | None, aspects: Iterable[str]) -> DeliveryPlan:
    """The presets for a brief's platform across its formats (generic where none applies)."""
    wanted = list(aspects)
    if not platform_name or not platform_name.strip():
        return DeliveryPlan(dict.fromkeys(wanted))
    try:
        main = platform(platform_name)
    except UnknownPlatform as exc:
        return DeliveryPlan(dict.fromkeys(wanted), unknown=str(exc))
    family = FAMILIES.get(main.name, {main.aspect: main.name})
    return DeliveryPlan({a: PLATFORMS[family[a]] if a in family else None for a in wanted})
