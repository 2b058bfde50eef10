"""Looks and revision words: "moodier", "warmer", "more cinematic" as changes to a Grade.

A Grade is applied at assembly, so a grade revision re-cuts the master without re-rendering.
Adjustments accumulate on the current grade; a word that names a look also swaps the LUT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memory.models import Grade
from tools.post.luts import LOOK_NAMES


class UnknownGradeWords(ValueError):
    """None of the words describe a grade change; the message lists the words that do."""


@dataclass(frozen=True)
class Adjustment:
    """A relative change: added to brightness/temperature, multiplied into contrast/saturation."""

    brightness: float = 0.0
    contrast: float = 1.0
    saturation: float = 1.0
    temperature: float = 0.0
    lut: str | None = None
    drop_lut: str | None = None
    """Set on an inverted look ("less moody"): remove that LUT if the grade has it."""

    def scaled(self, k: float) -> Adjustment:
        """`k` times as strong (negative k inverts: "less warm" is cooler)."""
        return Adjustment(
            brightness=self.brightness * k,
            contrast=self.contrast**k,
            saturation=self.saturation**k,
            temperature=self.temperature * k,
            lut=self.lut if k >= 1 else None,
            drop_lut=self.lut if k < 0 else None,
        )


_MOODY = Adjustment(brightness=-0.04, contrast=1.1, saturation=0.85, temperature=-0.1, lut="moody")
_WARM = Adjustment(temperature=0.25, saturation=1.05, lut="warm")
_COOL = Adjustment(temperature=-0.25, lut="cool")
_BRIGHT = Adjustment(brightness=0.06, contrast=0.97)
_DARK = _BRIGHT.scaled(-1)
_CINEMATIC = Adjustment(contrast=1.1, saturation=0.95, lut="teal-orange")
_VINTAGE = Adjustment(contrast=0.92, saturation=0.85, temperature=0.1, lut="vintage")
_BLEACH = Adjustment(contrast=1.15, saturation=0.8, lut="bleach")
_VIVID = Adjustment(contrast=1.05, saturation=1.2)
_CONTRAST = Adjustment(contrast=1.15)

# each phrase (a regex over lower-case words) -> the adjustment it asks for
VOCABULARY: tuple[tuple[str, Adjustment], ...] = (
    (r"mood(y|ier|iest)?|gloom(y|ier)|noir|somb(re|er)|brooding", _MOODY),
    (r"dark(er|en)?|dim(mer)?", _DARK),
    (r"warm(er|th)?|golden|sunn(y|ier)|cos(y|ier)", _WARM),
    (r"cool(er)?|cold(er)?|blu(e|er|ish)|icy|icier", _COOL),
    (r"bright(er|en)?|light(er|en)?|airy|airier", _BRIGHT),
    (r"cinematic|filmic|film look|teal.?orange|blockbuster", _CINEMATIC),
    (r"vintage|retro|faded|old.?school|nostalgic", _VINTAGE),
    (r"bleach(ed)?( bypass)?|gritt(y|ier)|harsh(er)?|desaturated", _BLEACH),
    (r"vivid|punch(y|ier)|saturated|colou?rful|pop(py)?", _VIVID),
    (r"contrast(y)?|crisp(er)?", _CONTRAST),
)
_LESS = r"(less|not so|not as|too|reduce|tone down|lose the|no)"
_MORE = {
    r"(much|way|a lot|lots|far|really|very)": 2.0,
    r"(slightly|a bit|a little|a touch|subtly)": 0.5,
}
_TINT_LUTS = ("warm", "cool")
"""Colour-temperature LUTs: "warmer" on a moody grade warms it, it does not replace the look."""
_RESET = re.compile(r"\b(neutral|reset|no grade|ungraded|original|natural)\b")
_BOUNDS = {
    "brightness": (-1.0, 1.0),
    "contrast": (0.0, 3.0),
    "saturation": (0.0, 3.0),
    "temperature": (-1.0, 1.0),
}


def interpret(words: str) -> list[Adjustment]:
    """The adjustments `words` ask for, in the order they are written."""
    text = " ".join(re.findall(r"[a-z]+", words.lower().replace("-", " ")))
    found: list[tuple[int, Adjustment]] = []
    for phrase, adjustment in VOCABULARY:
        for match in re.finditer(rf"\b({phrase})\b", text):
            before = text[: match.start()].split()[-3:]
            lead = " ".join(before)
            k = 1.0
            for pattern, factor in _MORE.items():
                if re.search(rf"\b{pattern}$", lead):
                    k = factor
            if re.search(rf"\b{_LESS}( \w+)?$", lead):
                k = -k
            found.append((match.start(), adjustment.scaled(k)))
    return [adj for _, adj in sorted(found, key=lambda pair: pair[0])]


def _clamp(name: str, value: float) -> float:
    low, high = _BOUNDS[name]
    return round(min(high, max(low, value)), 3)


def apply(current: Grade, adjustments: list[Adjustment], name: str) -> Grade:
    """`current` with every adjustment applied, clamped to the Grade's bounds."""
    values = {
        "brightness": current.brightness,
        "contrast": current.contrast,
        "saturation": current.saturation,
        "temperature": current.temperature,
    }
    lut = current.lut
    for adj in adjustments:
        values["brightness"] += adj.brightness
        values["contrast"] *= adj.contrast
        values["saturation"] *= adj.saturation
        values["temperature"] += adj.temperature
        if adj.lut is not None and (adj.lut not in _TINT_LUTS or lut in (None, *_TINT_LUTS)):
            lut = adj.lut
        elif adj.drop_lut is not None and adj.drop_lut == lut:
            lut = None
    clamped = {key: _clamp(key, value) for key, value in values.items()}
    return Grade(name=name, lut=lut, **clamped)


def grade_for(words: str, current: Grade | None = None) -> Grade:
    """The grade `words` ask for ("moodier", "a bit warmer", "less saturated", "more cinematic").

    Changes are relative to `current` (default neutral); "neutral"/"reset" starts from
    scratch. Raises UnknownGradeWords, listing what it understands, if nothing matches.
    """
    current = current or Grade()
    if _RESET.search(words.lower()):
        current = Grade()
        adjustments = interpret(_RESET.sub(" ", words.lower()))
        if not adjustments:
            return current
    else:
        adjustments = interpret(words)
    if not adjustments:
        raise UnknownGradeWords(
            f"no grade change in {words!r}; try moodier, warmer, cooler, brighter, darker, "
            f"more cinematic, vintage, bleach bypass, more vivid, more contrast or neutral"
        )
    name = re.sub(r"\s+", " ", words.strip().lower())[:60]
    return apply(current, adjustments, name)


LOOKS: dict[str, Grade] = {name: grade_for(name.replace("-", " ")) for name in LOOK_NAMES}
"""A preset grade per shipped LUT, for `reelforge post grade --look NAME`."""
