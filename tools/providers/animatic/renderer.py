"""Animatic previz: pure builders for the offline provider's ffmpeg render (fonts and frame
maths from `tools.post`).

A still plate (palette sky, seeded skyline, subject silhouette and grain, or the first reference
image) is built once at twice the output size; `zoompan` moves a virtual camera over it and
`drawtext` adds a caption where no delivery crop cuts it. A title shot is a clean plate: its
lettering is set at export for each aspect. Nothing here touches the disk.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, get_args

from memory.models import Aspect, PromptComponents
from tools.post.builders import frame_count
from tools.post.picture import FONT as FONT
from tools.post.picture import FONT_BOLD as FONT_BOLD
from tools.post.picture import FONT_DIR, SafeArea
from tools.providers.base import GenerationRequest

RGB = tuple[int, int, int]
ColourFn = Callable[[RGB], RGB]
CameraMove = Literal[
    "push_in",
    "pull_out",
    "pan_left",
    "pan_right",
    "tilt_up",
    "tilt_down",
    "drone_rise",
    "handheld",
    "orbit",
    "crane_up",
    "crane_down",
    "tracking",
    "static",
]
CAMERA_MOVES: tuple[CameraMove, ...] = get_args(CameraMove)
Scenery = Literal["city", "land", "studio", "interior", "sea", "sky", "space"]
ShotSize = Literal["close", "medium", "wide"]

FONTS_DIR = FONT_DIR

PREVIZ_SIZES: dict[str, tuple[int, int]] = {
    "16:9": (1280, 720),
    "9:16": (720, 1280),
    "1:1": (720, 720),
}
X264_THREADS = 4


def previz_size(aspect: Aspect | str) -> tuple[int, int]:
    """The 720p previz frame size (width, height) for an aspect ratio."""
    try:
        return PREVIZ_SIZES[aspect]
    except KeyError:
        known = ", ".join(PREVIZ_SIZES)
        raise ValueError(f"unknown aspect {aspect!r}; use one of {known}") from None


# --------------------------------------------------------------------------- palette

_COLOUR_FIELDS = ("sky_top", "sky_horizon", "far", "near", "ground", "subject", "accent", "glow")


@dataclass(frozen=True)
class Palette:
    """The plate's colours. `glow_alpha` 0 means no visible light source; `lights` is the share
    of lit windows; `grain` the luma noise strength; `backdrop` a studio sweep, no skyline."""

    name: str
    sky_top: RGB
    sky_horizon: RGB
    far: RGB
    near: RGB
    ground: RGB
    subject: RGB
    accent: RGB
    glow: RGB
    glow_alpha: float = 0.0
    lights: float = 0.0
    grain: int = 8
    backdrop: bool = False

    def map(self, fn: ColourFn) -> Palette:
        """A copy with `fn` applied to every colour."""
        changes: dict[str, RGB] = {k: fn(getattr(self, k)) for k in _COLOUR_FIELDS}
        return replace(self, **changes)  # type: ignore[arg-type]

    def jittered(self, seed: int) -> Palette:
        """A seed-dependent variation: a small global tint and exposure shift."""
        rng = random.Random(f"palette:{seed}")
        tint = (rng.uniform(-18, 18), rng.uniform(-18, 18), rng.uniform(-18, 18))
        gain = rng.uniform(0.88, 1.12)
        return self.map(lambda c: _rgb(c[i] * gain + tint[i] for i in range(3))).readable()

    def readable(self) -> Palette:
        """A copy lifted so the plate's large areas average at least `MIN_PLATE_LUMA`: a moody
        or night previz stays dark but can be read, and QC does not call it a black frame."""
        areas = (self.sky_top, self.sky_horizon, self.far, self.near, self.ground)
        mean = sum(_luma(c) for c in areas) / len(areas)
        if mean >= MIN_PLATE_LUMA:
            return self
        lift = MIN_PLATE_LUMA - mean
        return self.map(lambda c: _rgb(v + lift for v in c))


MIN_PLATE_LUMA = 52.0  # 8-bit; ffmpeg blackdetect (pix_th 0.1) counts ~<38 as black


def _luma(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _rgb(values: Iterable[float]) -> RGB:
    r, g, b = (max(0, min(255, round(v))) for v in values)
    return (r, g, b)


def _gain(factor: float) -> ColourFn:
    return lambda c: _rgb(v * factor for v in c)


def _saturate(factor: float) -> ColourFn:
    def fn(c: RGB) -> RGB:
        grey = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
        return _rgb(grey + (v - grey) * factor for v in c)

    return fn


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return _rgb(a[i] + (b[i] - a[i]) * t for i in range(3))


PALETTES: dict[str, Palette] = {
    "daylight": Palette(
        "daylight",
        sky_top=(62, 124, 196),
        sky_horizon=(186, 212, 232),
        far=(128, 150, 172),
        near=(64, 78, 94),
        ground=(92, 104, 92),
        subject=(28, 30, 36),
        accent=(250, 196, 72),
        glow=(255, 250, 228),
        glow_alpha=0.8,
        grain=7,
    ),
    "sunset": Palette(
        "sunset",
        sky_top=(58, 38, 108),
        sky_horizon=(255, 146, 78),
        far=(156, 82, 104),
        near=(62, 30, 62),
        ground=(84, 44, 52),
        subject=(24, 14, 30),
        accent=(255, 178, 84),
        glow=(255, 214, 128),
        glow_alpha=0.95,
        lights=0.2,
        grain=9,
    ),
    "night": Palette(
        "night",
        sky_top=(6, 8, 34),
        sky_horizon=(52, 18, 92),
        far=(34, 26, 78),
        near=(14, 12, 36),
        ground=(22, 14, 44),
        subject=(4, 4, 14),
        accent=(60, 228, 255),
        glow=(255, 70, 210),
        glow_alpha=0.55,
        lights=0.45,
        grain=12,
    ),
    "rain": Palette(
        "rain",
        sky_top=(68, 78, 94),
        sky_horizon=(138, 148, 160),
        far=(102, 110, 122),
        near=(54, 61, 72),
        ground=(58, 64, 74),
        subject=(28, 32, 38),
        accent=(168, 198, 222),
        glow=(200, 210, 220),
        lights=0.15,
        grain=16,
    ),
    "dawn": Palette(
        "dawn",
        sky_top=(88, 108, 170),
        sky_horizon=(250, 188, 168),
        far=(150, 138, 170),
        near=(70, 70, 102),
        ground=(90, 88, 102),
        subject=(34, 34, 50),
        accent=(255, 198, 158),
        glow=(255, 236, 204),
        glow_alpha=0.7,
        lights=0.05,
        grain=8,
    ),
    "overcast": Palette(
        "overcast",
        sky_top=(148, 154, 160),
        sky_horizon=(202, 204, 206),
        far=(152, 156, 160),
        near=(100, 104, 110),
        ground=(110, 112, 104),
        subject=(44, 46, 50),
        accent=(232, 232, 232),
        glow=(240, 240, 240),
        grain=10,
    ),
    "studio": Palette(
        "studio",
        sky_top=(40, 40, 46),
        sky_horizon=(150, 150, 156),
        far=(120, 120, 126),
        near=(90, 90, 96),
        ground=(128, 128, 134),
        subject=(22, 22, 26),
        accent=(255, 255, 255),
        glow=(255, 255, 250),
        glow_alpha=0.45,
        grain=5,
        backdrop=True,
    ),
    "noir": Palette(
        "noir",
        sky_top=(12, 12, 16),
        sky_horizon=(62, 62, 68),
        far=(36, 36, 42),
        near=(14, 14, 18),
        ground=(26, 26, 30),
        subject=(4, 4, 6),
        accent=(224, 224, 224),
        glow=(232, 232, 232),
        glow_alpha=0.5,
        lights=0.2,
        grain=18,
    ),
    "bright": Palette(
        "bright",
        sky_top=(32, 146, 255),
        sky_horizon=(150, 232, 255),
        far=(96, 204, 146),
        near=(255, 112, 84),
        ground=(82, 198, 118),
        subject=(40, 36, 96),
        accent=(255, 216, 0),
        glow=(255, 255, 206),
        glow_alpha=0.9,
        grain=5,
    ),
}

_LIGHT_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("night", ("night", "neon", "midnight", "moonlit", "moonlight", "cyberpunk", "city lights")),
    ("sunset", ("sunset", "golden", "dusk", "magic hour", "sundown", "twilight", "warm")),
    ("dawn", ("dawn", "sunrise", "first light", "morning", "daybreak")),
    ("rain", ("rain", "storm", "drizzle", "downpour", "wet", "fog", "mist", "haz")),
    ("overcast", ("overcast", "cloud", "grey", "gray", "diffuse", "flat light")),
    ("studio", ("studio", "softbox", "seamless", "high key", "high-key", "product")),
    ("noir", ("noir", "moody", "dark", "low key", "low-key", "chiaroscuro", "shadow", "gloom")),
    ("bright", ("happy", "upbeat", "joy", "playful", "cheer", "bright", "vibrant", "energetic")),
    ("daylight", ("daylight", "sunny", "midday", "noon", "natural light", "clear sky")),
)
_DARK_TONES = ("moody", "dark", "noir", "sad", "somber", "sombre", "tense", "ominous", "gloom")
_BRIGHT_TONES = ("happy", "upbeat", "joy", "playful", "cheer", "vibrant", "energetic", "fun")


def _has(text: str, words: Sequence[str]) -> bool:
    return any(re.search(rf"(?<![a-z]){re.escape(w)}", text) for w in words)


def _match_light(text: str) -> str | None:
    for name, words in _LIGHT_WORDS:
        if _has(text, words):
            return name
    return None


def palette(components: PromptComponents) -> Palette:
    """Colours from the lighting keywords (else the emotional tone), shaded by the tone."""
    lighting = components.lighting.lower()
    tone = components.emotional_tone.lower()
    name = _match_light(lighting)
    if name is None:
        return PALETTES[_match_light(tone) or "daylight"]
    base = PALETTES[name]
    if name not in ("noir", "night") and _has(tone, _DARK_TONES):
        return base.map(_saturate(0.75)).map(_gain(0.72))
    if name not in ("bright",) and _has(tone, _BRIGHT_TONES):
        return base.map(_saturate(1.25)).map(_gain(1.08))
    return base


_SCENERY_WORDS: tuple[tuple[Scenery, tuple[str, ...]], ...] = (
    (
        "space",
        (
            "outer space", "space station", "spaceship", "spacecraft", "galaxy", "nebula",
            "cosmos", "asteroid", "starfield", "in orbit", "zero gravity", "planet",
        ),
    ),
    ("studio", ("studio", "seamless", "backdrop", "void", "tabletop", "cyclorama")),
    (
        "interior",
        (
            "garage", "room", "kitchen", "office", "bakery", "shop", "interior", "indoor",
            "inside", "hall", "bar", "cafe", "café", "warehouse", "corridor", "library",
            "restaurant", "store", "apartment", "house", "home", "classroom", "lab", "diner",
            "workshop", "cabin", "hotel", "lobby", "subway car", "elevator",
        ),
    ),
    (
        "sea",
        (
            "ocean", "sea", "coast", "beach", "harbour", "harbor", "waves", "canal", "lake",
            "river", "shore", "bay", "pier", "boat", "sailing", "underwater",
        ),
    ),
    ("sky", ("sky", "clouds", "airborne", "flying", "aerial", "skydiv", "balloon", "cockpit")),
    (
        "land",
        (
            "forest", "wood", "mountain", "field", "desert",
            "meadow", "countryside", "hill", "park", "nature", "valley",
            "prairie", "farm", "jungle", "island", "snow", "canyon",
        ),
    ),
)  # fmt: skip


def scenery(components: PromptComponents, pal: Palette) -> Scenery:
    """What the plate shows behind the subject: a city street, land ridges, a room, the sea, open
    sky, space or a studio sweep (from the environment words)."""
    text = components.environment.lower()
    for name, words in _SCENERY_WORDS:
        if _has(text, words):
            return name
    return "studio" if pal.backdrop else "city"


_COUNT_WORDS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (3, ("three", "trio")),
    (2, ("two", "couple", "pair", "both", "duo", "together", "each other", "two-shot")),
    (4, ("crowd", "group", "people", "friends", "family", "team", "band", "everyone", "dancers")),
)


def figure_count(components: PromptComponents, prompt: str = "") -> int:
    """How many figures the subject names: one, a pair, three, or a group (four)."""
    text = " ".join((components.subject, components.camera_movement, prompt)).lower()
    for n, words in _COUNT_WORDS:
        if _has(text, words):
            return n
    if re.search(r"\b\w+ and (?:a |an |the |her |his |their )?\w+", components.subject.lower()):
        return 2
    return 1


def shot_size(components: PromptComponents, prompt: str = "") -> ShotSize:
    """Close-up, medium or wide, from the camera words (then the prompt)."""
    for text in (components.camera_movement.lower(), prompt.lower()):
        if _has(text, ("close-up", "close up", "closeup", "macro", "extreme close", "ecu", "cu ")):
            return "close"
        if _has(text, ("wide", "establishing", "long shot", "aerial", "drone", "vista", "ews")):
            return "wide"
        if _has(text, ("medium", "mid shot", "two-shot", "two shot", "waist")):
            return "medium"
    return "medium"


# --------------------------------------------------------------------------- camera

_MOVE_WORDS: tuple[tuple[CameraMove, tuple[str, ...]], ...] = (
    ("static", ("static", "locked", "lock-off", "tripod", "fixed", "still frame", "no movement")),
    ("handheld", ("handheld", "hand-held", "shaky", "shake", "documentary", "verite", "vérité")),
    ("orbit", ("orbit", "arc shot", "arcing", "circl", "360", "around the")),
    ("crane_down", ("crane down", "boom down", "jib down", "descend", "lowering")),
    ("crane_up", ("crane", "boom up", "jib")),
    ("drone_rise", ("drone", "rise", "rising", "ascend", "aerial", "lift")),
    (
        "tracking",
        ("tracking", "track along", "follow", "trucking", "truck", "side-on", "alongside"),
    ),
    ("tilt_down", ("tilt down", "tilts down", "tilting down")),
    ("tilt_up", ("tilt up", "tilts up", "tilting up", "tilt")),
    ("pan_right", ("left to right", "pan right", "pans right", "panning right")),
    ("pan_left", ("right to left", "pan left", "pans left", "panning left")),
    ("pull_out", ("pull", "dolly out", "zoom out", "track out", "truck out", "widen", "reveal")),
    ("push_in", ("push", "dolly in", "zoom in", "track in", "move in", "closer", "creep")),
    ("pan_left", ("leftward", "left")),
    ("pan_right", ("pan", "rightward", "right", "track", "truck", "follow", "slide", "lateral")),
    ("push_in", ("zoom", "dolly", "forward")),
)


def camera_move(text: str) -> CameraMove:
    """The camera move a free-text camera direction asks for; `static` when none is named."""
    lowered = " ".join(text.lower().split())
    for move, words in _MOVE_WORDS:
        if _has(lowered, words):
            return move
    return "static"


@dataclass(frozen=True)
class MovePlan:
    """A camera path: zoom and frame centre (fractions of the plate) from start to end, plus a
    seeded handheld shake (amplitude as a fraction of the plate, frequencies in Hz, phases)."""

    zoom: tuple[float, float]
    cx: tuple[float, float]
    cy: tuple[float, float]
    shake: float = 0.0
    shake_hz: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    shake_phase: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


def plan_move(move: CameraMove, seed: int, focus: tuple[float, float] = (0.5, 0.5)) -> MovePlan:
    """The seeded path for `move`; `focus` is where a push-in ends (the subject)."""
    rng = random.Random(f"move:{move}:{seed}")

    def j(spread: float) -> float:
        return rng.uniform(-spread, spread)

    mid = (0.5 + j(0.05), 0.5 + j(0.05))
    if move == "push_in":
        return MovePlan((1.0 + abs(j(0.04)), 1.5 + j(0.08)), (0.5, focus[0]), (0.5, focus[1]))
    if move == "pull_out":
        return MovePlan((1.5 + j(0.08), 1.0 + abs(j(0.04))), (focus[0], 0.5), (focus[1], 0.5))
    if move in ("pan_left", "pan_right"):
        z = 1.35 + j(0.05)
        a, b = 0.5 + 0.5 / z, 0.5 - 0.5 / z
        start, end = (a, b) if move == "pan_left" else (b, a)
        return MovePlan((z, z), (start, end), (mid[1], mid[1]))
    if move in ("tilt_up", "tilt_down"):
        z = 1.35 + j(0.05)
        a, b = 0.5 + 0.5 / z, 0.5 - 0.5 / z
        start, end = (a, b) if move == "tilt_up" else (b, a)
        return MovePlan((z, z), (mid[0], mid[0]), (start, end))
    if move in ("crane_up", "crane_down"):
        z = 1.4 + j(0.04)
        a, b = 0.5 + 0.45 / z, 0.5 - 0.45 / z
        start, end = (a, b) if move == "crane_up" else (b, a)
        return MovePlan((z, z - 0.1), (mid[0], mid[0]), (start, end))
    if move == "tracking":
        z = 1.3 + j(0.04)
        a, b = 0.5 - 0.4 / z, 0.5 + 0.4 / z
        start, end = (a, b) if rng.random() < 0.5 else (b, a)
        bob = (0.0, 0.0, 1.8, 0.0)
        return MovePlan((z, z), (start, end), (mid[1], mid[1]), 0.003, bob, (0.0, 0.0, 0.0, 0.0))
    if move == "drone_rise":
        return MovePlan((1.45 + j(0.04), 1.2 + j(0.04)), (mid[0], mid[0]), (0.85, 0.2))
    if move == "orbit":
        side = rng.choice((-1.0, 1.0))
        return MovePlan((1.2 + j(0.03), 1.45 + j(0.05)), (0.5 - 0.2 * side, 0.5 + 0.2 * side), mid)
    if move == "handheld":
        hz = (
            rng.uniform(0.5, 0.9),
            rng.uniform(1.6, 2.4),
            rng.uniform(0.4, 0.8),
            rng.uniform(1.3, 2),
        )
        phase = (
            rng.uniform(0, 6.28),
            rng.uniform(0, 6.28),
            rng.uniform(0, 6.28),
            rng.uniform(0, 6.28),
        )
        z = 1.15 + j(0.02)
        return MovePlan((z, z + 0.02), (mid[0], mid[0]), (mid[1], mid[1]), 0.006, hz, phase)
    z = 1.08 + abs(j(0.03))
    return MovePlan((z, z), (mid[0], mid[0]), (mid[1], mid[1]))


def _num(v: float) -> str:
    return f"{v:.5f}".rstrip("0").rstrip(".") or "0"


def _lerp(a: float, b: float, e: str) -> str:
    if abs(b - a) < 1e-9:
        return _num(a)
    return f"({_num(a)}+{_num(b - a)}*{e})"


def zoompan_exprs(plan: MovePlan, frames: int, fps: int) -> dict[str, str]:
    """The zoompan `z`, `x`, `y` expressions for `plan` over `frames` output frames (`on`)."""
    p = f"(on/{frames - 1})" if frames > 1 else "0"
    e = f"({p}*{p}*(3-2*{p}))" if frames > 1 else "0"
    cx, cy = _lerp(*plan.cx, e), _lerp(*plan.cy, e)
    if plan.shake:
        t = f"(on/{fps})"
        hz, ph, a = plan.shake_hz, plan.shake_phase, plan.shake
        cx += (
            f"+{_num(a)}*sin(2*PI*{_num(hz[0])}*{t}+{_num(ph[0])})"
            f"+{_num(a / 2)}*sin(2*PI*{_num(hz[1])}*{t}+{_num(ph[1])})"
        )
        cy += (
            f"+{_num(a)}*sin(2*PI*{_num(hz[2])}*{t}+{_num(ph[2])})"
            f"+{_num(a / 2)}*sin(2*PI*{_num(hz[3])}*{t}+{_num(ph[3])})"
        )
    return {
        "z": _lerp(*plan.zoom, e),
        "x": f"clip(({cx})*iw-iw/zoom/2,0,iw-iw/zoom)",
        "y": f"clip(({cy})*ih-ih/zoom/2,0,ih-ih/zoom)",
    }


# --------------------------------------------------------------------------- escaping and text

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def clean_text(text: str) -> str:
    """One line of printable text: control characters and runs of whitespace become one space."""
    return " ".join(_CONTROL.sub(" ", text).split())


def escape_value(value: str) -> str:
    """Escape an option value for a `-filter_complex` graph: first the option level
    (`\\ ' :`), then the graph level (`\\ ' [ ] , ;`)."""
    opt = "".join("\\" + ch if ch in "\\':" else ch for ch in value)
    return "".join("\\" + ch if ch in "\\'[],;" else ch for ch in opt)


def filt(name: str, **opts: object) -> str:
    """One filter with escaped options, e.g. `filt("drawbox", x=0, color="black@0.5")`."""
    if not opts:
        return name
    args = ":".join(f"{k}={escape_value(_fmt(v))}" for k, v in opts.items())
    return f"{name}={args}"


def _fmt(v: object) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return _num(v)
    if isinstance(v, Path):
        return v.as_posix()
    return str(v)


def _hex(c: RGB, alpha: float | None = None) -> str:
    out = "0x{:02x}{:02x}{:02x}".format(*c)
    return out if alpha is None else f"{out}@{_num(alpha)}"


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)].rstrip()
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space].rstrip(" ,;:-")
    return cut + "…"


def shot_text(request: GenerationRequest) -> str:
    """The lower-third text: the overlay if given (blank means none), else the subject, else
    the prompt's first clause."""
    if request.text_overlay is not None:
        return clean_text(request.text_overlay)
    subject = clean_text(request.components.subject)
    if subject:
        return subject
    prompt = clean_text(request.prompt)
    first = re.split(r"(?<=[.!?;])\s|\s[-–—]\s|,\s", prompt, maxsplit=1)[0]
    return _truncate(first.rstrip(".!?;"), 60)


# --------------------------------------------------------------------------- plate

_INT_MAX = 2_147_483_647


def _box(x: float, y: float, w: float, h: float, colour: str) -> str:
    return filt(
        "drawbox",
        x=round(x),
        y=round(y),
        w=max(1, round(w)),
        h=max(1, round(h)),
        color=colour,
        t="fill",
    )


def _shape(expr: str, colour: RGB, small: tuple[int, int], size: tuple[int, int]) -> str:
    """A transparent layer with one soft shape: alpha `expr` drawn at `small`, scaled up."""
    r, g, b = colour
    return ",".join(
        (
            filt("color", c="black@0", s=f"{small[0]}x{small[1]}", r=1, d=1),
            filt("format", pix_fmts="rgba"),
            filt("geq", r=r, g=g, b=b, a=expr),
            filt("scale", w=size[0], h=size[1], flags="bilinear"),
        )
    )


def _windows(
    rng: random.Random, pal: Palette, x: float, top: float, w: float, h: float, pw: int
) -> list[str]:
    cell = max(8.0, pw * 0.014)
    out: list[str] = []
    for wy in range(int(h / (cell * 2)) - 1):
        for wx in range(int(w / (cell * 2)) - 1):
            if rng.random() < pal.lights:
                bx, by = x + cell * (1 + 2 * wx), top + cell * (1 + 2 * wy)
                out.append(_box(bx, by, cell, cell * 1.2, _hex(pal.accent, 0.85)))
    return out


def _scenery_boxes(
    rng: random.Random, pal: Palette, kind: Scenery, pw: int, ph: int, hy: int
) -> list[str]:
    """Drawbox rectangles for the horizon: skyline or ridges, ground bands, near buildings."""
    out: list[str] = []
    if kind == "interior":
        return _interior_boxes(rng, pal, pw, ph, hy)
    if kind == "space":
        # deep space in the palette's night colour: dark, but not a black frame to QC
        out.append(_box(0, 0, pw, ph, _hex(_mix((8, 8, 24), pal.sky_horizon, 0.7))))
        for _ in range(140):
            star = rng.uniform(1.5, 4.5)
            tint = _mix((255, 255, 255), pal.accent, rng.uniform(0, 0.5))
            out.append(_box(rng.uniform(0, pw), rng.uniform(0, ph), star, star, _hex(tint)))
        r = ph * rng.uniform(0.35, 0.55)
        out.append(_box(pw * rng.uniform(0.55, 0.8), ph - r * 0.6, r * 1.6, r, _hex(pal.far)))
        return out
    if kind == "sky":
        for _ in range(rng.randint(6, 10)):
            w, h = rng.uniform(0.12, 0.3) * pw, rng.uniform(0.03, 0.07) * ph
            x, y = rng.uniform(-0.1, 0.95) * pw, rng.uniform(0.1, 0.85) * ph
            cloud = _mix(pal.sky_horizon, (255, 255, 255), 0.6)
            out.append(_box(x, y, w, h, _hex(cloud, 0.85)))
            out.append(_box(x + w * 0.2, y - h * 0.6, w * 0.5, h * 0.8, _hex(cloud, 0.85)))
        return out
    if kind == "sea":
        water = _mix(pal.sky_top, pal.far, 0.5)
        out.append(_box(0, hy, pw, ph - hy, _hex(water)))
        y = float(hy)
        while y < ph:
            h = rng.uniform(0.01, 0.03) * ph * (1 + 3 * (y - hy) / ph)
            crest = _mix(water, pal.sky_horizon if rng.random() < 0.6 else pal.glow, 0.45)
            x = rng.uniform(0, pw * 0.5)
            out.append(_box(x, y, rng.uniform(0.2, 0.6) * pw, max(2, h * 0.3), _hex(crest)))
            y += h
        return out
    if kind == "studio":
        out.append(_box(0, hy, pw, ph - hy, _hex(pal.ground)))
        out.append(_box(0, hy, pw, max(2, ph // 180), _hex(_mix(pal.ground, pal.sky_horizon, 0.5))))
        return out
    x = -rng.uniform(0, pw * 0.05)
    while x < pw:
        if kind == "land":
            w, h = rng.uniform(0.18, 0.4) * pw, rng.uniform(0.04, 0.14) * ph
        else:
            w, h = rng.uniform(0.03, 0.08) * pw, rng.uniform(0.05, 0.24) * ph
        out.append(_box(x, hy - h, w, h + 1, _hex(pal.far)))
        x += w * rng.uniform(0.6, 1.05)
    out.append(_box(0, hy, pw, ph - hy, _hex(pal.ground)))
    y = float(hy)
    while y < ph:
        h = rng.uniform(0.02, 0.07) * ph
        shade = _mix(pal.ground, pal.near if rng.random() < 0.5 else pal.sky_horizon, 0.25)
        out.append(_box(0, y, pw, h * 0.5, _hex(shade)))
        y += h
    if kind == "city":
        windows: list[str] = []
        for side in (0, 1):
            for _ in range(rng.randint(1, 2)):
                w, h = rng.uniform(0.07, 0.14) * pw, rng.uniform(0.3, 0.55) * ph
                edge = rng.uniform(0, 0.2) * pw
                x = edge if side == 0 else pw - w - edge
                top = hy + ph * 0.08 - h
                out.append(_box(x, top, w, ph - top, _hex(pal.near)))
                if pal.lights > 0:
                    windows += _windows(rng, pal, x, top, w, h, pw)
        out += windows[:60]
    return out


def _interior_boxes(rng: random.Random, pal: Palette, pw: int, ph: int, hy: int) -> list[str]:
    """A room: wall, floor, a window onto the sky (the palette's light), a door, a ceiling lamp."""
    wall = _mix(pal.near, pal.sky_horizon, 0.35)
    floor = _mix(pal.ground, pal.subject, 0.3)
    out = [_box(0, 0, pw, hy, _hex(wall)), _box(0, hy, pw, ph - hy, _hex(floor))]
    out.append(_box(0, hy, pw, max(3, ph // 120), _hex(_mix(wall, pal.subject, 0.6))))
    for i in range(1, 6):
        y = hy + (ph - hy) * (i / 6) ** 1.5
        out.append(_box(0, y, pw, max(2, ph // 300), _hex(_mix(floor, pal.subject, 0.4))))
    wx, ww = rng.uniform(0.08, 0.55) * pw, rng.uniform(0.2, 0.32) * pw
    wy, wh = hy * rng.uniform(0.18, 0.3), hy * 0.45
    frame = _mix(wall, pal.subject, 0.5)
    out.append(_box(wx - 8, wy - 8, ww + 16, wh + 16, _hex(frame)))
    out.append(_box(wx, wy, ww, wh / 2, _hex(pal.sky_top)))
    out.append(_box(wx, wy + wh / 2, ww, wh / 2, _hex(pal.sky_horizon)))
    out.append(_box(wx + ww / 2 - 4, wy, 8, wh, _hex(frame)))
    dx = wx + ww + rng.uniform(0.08, 0.2) * pw
    if dx + pw * 0.12 < pw:
        out.append(_box(dx, hy * 0.35, pw * 0.12, hy * 0.65, _hex(_mix(wall, pal.subject, 0.45))))
    lamp = _mix(pal.glow, pal.accent, 0.3)
    out.append(_box(pw * rng.uniform(0.3, 0.7), 0, pw * 0.18, ph * 0.02, _hex(lamp)))
    return out


def _glow_layer(pal: Palette, unit: int) -> tuple[str, int]:
    """A sun, moon or lamp: a soft disc with a halo; a studio gets a wide halo only."""
    g = max(16, round(unit * (0.9 if pal.backdrop else 0.36)) // 4 * 4)
    s = g // 4
    c = s / 2
    d = f"hypot(X-{_num(c)},Y-{_num(c)})"
    halo = f"0.55*pow(clip(1-{d}/{_num(c)},0,1),2)"
    if not pal.backdrop:
        halo = f"max(clip({_num(s * 0.16)}+0.5-{d},0,1),{halo})"
    return _shape(f"255*{_num(pal.glow_alpha)}*{halo}", pal.glow, (s, s), (g, g)), g


FIGURE_HEIGHT: dict[ShotSize, float] = {"close": 1.5, "medium": 0.5, "wide": 0.2}


def _subject_layer(
    pal: Palette, pw: int, ph: int, size: ShotSize = "medium"
) -> tuple[str, int, int]:
    """A head-and-shoulders silhouette (ellipse head, neck, half-ellipse shoulders) with a thin
    rim of the accent colour so it reads on dark grounds; a close-up fills the frame."""
    sh = round(min(FIGURE_HEIGHT[size] * ph, 1.6 * pw)) // 8 * 8
    sw = sh * 4 // 7 // 4 * 4
    w, h = sw // 4, sh // 4
    cx = w / 2

    def bust(grow: float) -> str:
        head = (
            f"lte(pow((X-{_num(cx)})/{_num(w * 0.22 + grow)},2)"
            f"+pow((Y-{_num(h * 0.22)})/{_num(h * 0.16 + grow)},2),1)"
        )
        neck = (
            f"between(X,{_num(w * 0.41 - grow)},{_num(w * 0.59 + grow)})"
            f"*between(Y,{_num(h * 0.3)},{_num(h * 0.5)})"
        )
        body = (
            f"lte(pow((X-{_num(cx)})/{_num(w * 0.5 - 1 + grow)},2)"
            f"+pow((Y-{h})/{_num(h * 0.56 + grow)},2),1)"
        )
        return f"max(max({head},{neck}),{body})"

    inner, outer = bust(0.0), bust(1.0)
    rim = _mix(pal.accent, pal.subject, 0.35)
    r, g, b = (f"if({inner},{pal.subject[i]},{rim[i]})" for i in range(3))
    layer = ",".join(
        (
            filt("color", c="black@0", s=f"{w}x{h}", r=1, d=1),
            filt("format", pix_fmts="rgba"),
            filt("geq", r=r, g=g, b=b, a=f"255*max({inner},0.7*{outer})"),
            filt("scale", w=sw, h=sh, flags="bilinear"),
        )
    )
    return layer, sw, sh


def _grain(seed: int, strength: int) -> str:
    rng = random.Random(f"grain:{seed}")
    return filt(
        "noise",
        c0s=strength,
        c0_seed=rng.randrange(_INT_MAX),
        c1s=strength // 3,
        c1_seed=rng.randrange(_INT_MAX),
        c2s=strength // 3,
        c2_seed=rng.randrange(_INT_MAX),
    )


def _to_yuv() -> str:
    return ",".join(
        (
            filt("scale", out_color_matrix="bt709", out_range="tv"),
            filt("format", pix_fmts="yuv420p"),
        )
    )


def synthetic_plate(
    request: GenerationRequest, pal: Palette, pw: int, ph: int
) -> tuple[str, tuple[float, float]]:
    """The filter chains of a generated plate, ending in `[plate]`, and the subject's head
    (fractions of the plate): where a push-in goes."""
    rng = random.Random(f"plate:{request.seed}")
    title = request.kind == "title"
    hy = round(ph * (0.72 if title else rng.uniform(0.55, 0.66)))
    top, horizon = pal.sky_top, pal.sky_horizon
    if title:
        top, horizon = _gain(0.45)(top), _gain(0.6)(horizon)
    sky = [
        filt(
            "gradients",
            s=f"{pw}x{ph}",
            r=1,
            d=1,
            c0=_hex(top),
            c1=_hex(horizon),
            x0=pw // 2,
            y0=0,
            x1=pw // 2,
            y1=hy,
            nb_colors=2,
            seed=0,
            speed=0,
        )
    ]
    kind = scenery(request.components, pal)
    if not title:
        sky += _scenery_boxes(rng, pal, kind, pw, ph, hy)
    chains = [",".join(sky) + "[sky]"]
    layers: list[tuple[str, int, int]] = []
    focus = (0.5, 0.5)
    if pal.glow_alpha > 0 and not title and kind != "interior":  # a room has its lamp
        glow, g = _glow_layer(pal, min(pw, ph))
        chains.append(glow + "[glow]")
        gx = rng.uniform(0.1, 0.9) * pw - g / 2
        gy = hy - rng.uniform(0.12, 0.4) * ph - g / 2
        if pal.backdrop:
            gx, gy = rng.uniform(0.35, 0.65) * pw - g / 2, hy - g * 0.6
        layers.append(("glow", round(gx), round(gy)))
    if not title:
        size = shot_size(request.components, request.prompt)
        count = figure_count(request.components, request.prompt)
        if size == "close":
            count = min(count, 2)
        subject, sw, sh = _subject_layer(pal, pw, ph, size)
        if count == 1:
            xs = [rng.uniform(0.33, 0.67)]
        else:
            spread = 0.4 if size != "close" else 0.36
            xs = [
                0.5 - spread / 2 + spread * i / (count - 1) + j
                for i, j in enumerate(rng.uniform(-0.03, 0.03) for _ in range(count))
            ]
        labels = [f"subj{i}" for i in range(count)]
        split = f",split={count}" if count > 1 else ""
        chains.append(subject + split + "".join(f"[{label}]" for label in labels))
        base_y = ph - sh if size != "close" else round(ph * 0.16)
        for label, sx in zip(labels, xs, strict=True):
            layers.append((label, round(sx * pw - sw / 2), base_y))
        head = (base_y + sh * 0.22) / ph
        focus = (sum(xs) / len(xs), min(0.8, head))
    last = "sky"
    for i, (label, x, y) in enumerate(layers):
        chains.append(f"[{last}][{label}]{filt('overlay', x=x, y=y, format='rgb')}[l{i}]")
        last = f"l{i}"
    chains.append(f"[{last}]{_to_yuv()},{_grain(request.seed, pal.grain)}[plate]")
    return ";".join(chains), focus


def reference_plate(input_label: str, seed: int, pw: int, ph: int) -> str:
    """The chain that turns an input image into a `[plate]` covering pw x ph."""
    steps = (
        filt("trim", end_frame=1),
        filt("scale", w=pw, h=ph, force_original_aspect_ratio="increase", flags="bicubic"),
        filt("crop", w=pw, h=ph),
        filt("setsar", r=1),
        _to_yuv(),
        _grain(seed, 4),
    )
    return f"[{input_label}]" + ",".join(steps) + "[plate]"


# --------------------------------------------------------------------------- text layers


def _drawtext(text: str, *, font: Path, size: int, x: str, y: str, **extra: object) -> str:
    return filt(
        "drawtext",
        fontfile=font,
        text=text,
        expansion="none",
        fontsize=size,
        x=x,
        y=y,
        y_align="font",
        **extra,
    )


def _char_budget(width: float, size: float) -> int:
    return max(4, int(width / (size * 0.6)))


CAPTION_SAFE = SafeArea(top=0.14, bottom=0.20, left=0.06, right=0.15)
"""The strictest platform margins (vertical apps' UI): the caption keeps inside them in every
delivery crop."""


def caption_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Where a caption may go on a `width` x `height` master (x0, y0, x1, y1 in pixels): inside
    the caption-safe area of every centred crop the exports take (16:9, 9:16 and 1:1). Captions
    sit at the top of it, so burned subtitles (bottom) and titles (centre) never meet them."""
    x0, y0, x1, y1 = 0.0, 0.0, float(width), float(height)
    for aw, ah in ((16, 9), (9, 16), (1, 1)):
        cw, ch = min(width, height * aw / ah), min(height, width * ah / aw)
        cx, cy = (width - cw) / 2, (height - ch) / 2
        s = CAPTION_SAFE
        x0, x1 = max(x0, cx + cw * s.left), min(x1, cx + cw * (1 - s.right))
        y0, y1 = max(y0, cy + ch * s.top), min(y1, cy + ch * (1 - s.bottom))
    return (math.ceil(x0), math.ceil(y0), math.floor(x1), math.floor(y1))


def caption(text: str, accent: RGB, font: Path, width: int, height: int) -> list[str]:
    """A semi-transparent band with an accent bar and one line of text at the top of
    `caption_box`, so no delivery crop cuts it; none for blank text."""
    text = clean_text(text)
    if not text:
        return []
    x0, y0, x1, _ = caption_box(width, height)
    unit = min(width, height)
    band_h = round(unit * 0.06)
    size = round(band_h * 0.55)
    bar_w = max(3, round(unit * 0.006))
    pad = round(band_h * 0.2)
    text_x = x0 + bar_w + pad
    line = _truncate(text, _char_budget(x1 - text_x - pad, size))
    return [
        _box(x0, y0, x1 - x0, band_h, "black@0.55"),
        _box(x0, y0 + band_h * 0.2, bar_w, band_h * 0.6, _hex(accent)),
        _drawtext(
            line,
            font=font,
            size=size,
            x=str(text_x),
            y=str(round(y0 + (band_h - size * 1.17) / 2)),
            fontcolor="white",
        ),
    ]


def _slate(move: CameraMove, seed: int, font: Path, width: int, height: int) -> str:
    """A small label under the caption's place (inside every crop too)."""
    x0, y0, x1, _ = caption_box(width, height)
    unit = min(width, height)
    size = max(9, round(unit * 0.02))
    label = f"ANIMATIC · {move.replace('_', ' ').upper()} · SEED {seed}"
    return _drawtext(
        _truncate(label, _char_budget(x1 - x0, size)),
        font=font,
        size=size,
        x=str(x0),
        y=str(round(y0 + unit * 0.06 + size * 0.5)),
        fontcolor="white@0.7",
        shadowcolor="black@0.5",
        shadowx=1,
        shadowy=1,
    )


# --------------------------------------------------------------------------- the render


def build_render_args(
    request: GenerationRequest,
    out: Path,
    *,
    fontfile: Path,
    width: int,
    height: int,
    fps: int = 24,
) -> list[str]:
    """The ffmpeg argv (after the binary and the runner's global flags) that renders `request`
    as a previz clip: H.264 yuv420p, video only, `frame_count(duration, fps)` frames,
    byte-identical for the same request."""
    if width % 2 or height % 2 or width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive and even, got {width}x{height}")
    frames = frame_count(request.duration, fps)
    pal = palette(request.components).jittered(request.seed)
    pw, ph = width * 2, height * 2
    inputs: list[str] = []
    if request.reference_images:
        ref = request.reference_images[0]
        inputs = ["-f", "image2", "-pattern_type", "none", "-i", f"file:{ref.as_posix()}"]
        plate, focus = reference_plate("0:v", request.seed, pw, ph), (0.5, 0.45)
    else:
        plate, focus = synthetic_plate(request, pal, pw, ph)
    if request.kind == "title":
        move: CameraMove = "push_in"
        plan = MovePlan((1.0, 1.08), (0.5, 0.5), (0.5, 0.5))
    else:
        move = camera_move(request.components.camera_movement)
        plan = plan_move(move, request.seed, focus)
    zp = zoompan_exprs(plan, frames, fps)
    steps = [
        filt("zoompan", z=zp["z"], x=zp["x"], y=zp["y"], d=frames, s=f"{width}x{height}", fps=fps),
        filt("vignette", angle="PI/6"),
    ]
    if request.kind != "title":
        # a title shot is a clean plate: its lettering is set at export, per delivery aspect
        steps.append(_slate(move, request.seed, fontfile, width, height))
        steps += caption(shot_text(request), pal.accent, fontfile, width, height)
    steps += [filt("setsar", r=1), filt("format", pix_fmts="yuv420p")]
    graph = f"{plate};[plate]{','.join(steps)}[v]"
    return [
        *inputs,
        "-filter_complex",
        graph,
        "-map",
        "[v]",
        "-frames:v",
        str(frames),
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "20",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(fps * 2),
        "-threads:v",
        str(X264_THREADS),
        "-colorspace",
        "bt709",
        "-color_primaries",
        "bt709",
        "-color_trc",
        "bt709",
        "-color_range",
        "tv",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        "-map_metadata",
        "-1",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        f"file:{out.as_posix()}",
    ]
