"""Revisions in words: "make it moodier" becomes a structured change with two ways to apply it.

A change always has a *look* part (a colour grade, free: the existing takes are regraded) and may
have a *content* part (the brief's mood, style, lighting or pacing, which changes the shots' prompts
and so needs a re-render of the shots whose inputs changed). Phrases are data below; anything not
understood is reported, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from memory.models import ASPECTS, Aspect, Grade


@dataclass(frozen=True)
class Phrase:
    """One revision phrase: the grade it nudges and the words it adds to the brief."""

    name: str
    pattern: str
    grade: dict[str, float] = field(default_factory=dict)
    mood: str = ""
    style: str = ""
    duration_scale: float = 1.0
    master_format: Aspect | None = None


PHRASES: tuple[Phrase, ...] = (
    Phrase(
        "moodier",
        r"\bmood(y|ier)\b|\bdarker and moodier\b|\bmore (dramatic|atmospheric|brooding)\b|\bgloom",
        {"brightness": -0.08, "contrast": 0.18, "saturation": -0.18, "temperature": -0.25},
        mood="moody, brooding",
        style="low-key lighting, deep shadows",
    ),
    Phrase(
        "darker",
        r"\bdark(er)?\b",
        {"brightness": -0.1, "contrast": 0.08},
        style="low-key lighting",
    ),
    Phrase(
        "brighter",
        r"\bbright(er)?\b|\blight(er)?\b|\bairier\b",
        {"brightness": 0.08, "contrast": -0.05},
        style="bright, airy light",
    ),
    Phrase(
        "warmer",
        r"\bwarm(er)?\b|\bgolden\b",
        {"temperature": 0.3, "saturation": 0.05},
        style="warm golden light",
    ),
    Phrase(
        "cooler",
        r"\bcool(er)?\b|\bcold(er)?\b|\bblu(e|er)\b",
        {"temperature": -0.3},
        style="cool blue light",
    ),
    Phrase(
        "more cinematic",
        r"\bcinematic\b|\bfilmic\b|\bmore like a film\b",
        {"contrast": 0.12, "saturation": -0.06, "temperature": 0.05},
        style="cinematic, anamorphic lens, shallow depth of field",
    ),
    Phrase(
        "more vibrant",
        r"\bvibrant\b|\bsaturated\b|\bcolou?rful\b|\bpop\b|\bpunch(y|ier)\b",
        {"saturation": 0.25, "contrast": 0.05},
        style="vivid colour",
    ),
    Phrase(
        "muted",
        r"\bmuted\b|\bdesaturated?\b|\bwashed[- ]out\b|\bless colou?r",
        {"saturation": -0.3},
        style="muted palette",
    ),
    Phrase("faster", r"\bfaster\b|\bsnappier\b|\bquicker\b|\btighter\b", duration_scale=0.8),
    Phrase("slower", r"\bslower\b|\blinger\b|\bmore breathing room\b", duration_scale=1.25),
    Phrase("shorter", r"\bshorter\b|\btrim\b|\bcut it down\b", duration_scale=0.75),
    Phrase("longer", r"\blonger\b|\bextend\b", duration_scale=1.25),
    Phrase(
        "vertical",
        r"\bvertical\b|\bportrait\b|\b9:16\b|\btiktok\b|\breels?\b",
        master_format="9:16",
    ),
    Phrase(
        "horizontal",
        r"\bhorizontal\b|\blandscape\b|\bwidescreen\b|\b16:9\b|\byoutube\b",
        master_format="16:9",
    ),
    Phrase("square", r"\bsquare\b|\b1:1\b", master_format="1:1"),
)

SECONDS = re.compile(r"\b(\d{1,3}(?:\.\d+)?)\s*(?:s|sec|secs|seconds?)\b", re.IGNORECASE)


class RevisionNotUnderstood(ValueError):
    """No known revision phrase in the request; the message lists what is understood."""


@dataclass(frozen=True)
class Change:
    """A revision request as a precise change."""

    request: str
    phrases: list[str]
    grade: Grade
    mood: str
    style: str
    duration: float
    formats: list[Aspect]

    @property
    def label(self) -> str:
        return " + ".join(self.phrases)


def understood_phrases() -> list[str]:
    return [p.name for p in PHRASES]


def _clamp(value: float, low: float, high: float) -> float:
    return round(min(high, max(low, value)), 3)


def _nudge(grade: Grade, deltas: dict[str, float], name: str) -> Grade:
    data = grade.model_dump()
    bounds = {
        "brightness": (-1, 1),
        "contrast": (0, 3),
        "saturation": (0, 3),
        "temperature": (-1, 1),
    }
    for key, delta in deltas.items():
        low, high = bounds[key]
        data[key] = _clamp(float(data[key]) + delta, low, high)
    names = [n for n in str(data["name"]).split("+") if n and n != "neutral"]
    data["name"] = "+".join([*names, name]) if name not in names else "+".join(names)
    return Grade.model_validate(data)


def _append(text: str, words: str) -> str:
    if not words or words.lower() in text.lower():
        return text
    return f"{text}, {words}"


def parse_change(
    request: str, *, grade: Grade, mood: str, style: str, duration: float, formats: list[Aspect]
) -> Change:
    """Turn a revision request into a `Change` against the current grade and brief."""
    text = request.lower()
    hits = [p for p in PHRASES if re.search(p.pattern, text)]
    if any(p.name == "moodier" for p in hits):
        hits = [p for p in hits if p.name != "darker"]
    explicit = SECONDS.search(text)
    if not hits and not explicit:
        raise RevisionNotUnderstood(
            f"I can't turn {request.strip()!r} into a change; I understand: "
            + ", ".join(understood_phrases())
            + ", or a length in seconds"
        )
    new_grade, new_mood, new_style = grade, mood, style
    new_duration, new_formats = duration, list(formats)
    for p in hits:
        if p.grade:
            new_grade = _nudge(new_grade, p.grade, p.name)
        new_mood = _append(new_mood, p.mood)
        new_style = _append(new_style, p.style)
        new_duration *= p.duration_scale
        if p.master_format is not None:
            new_formats = [p.master_format, *[f for f in new_formats if f != p.master_format]]
    names = [p.name for p in hits]
    if explicit:
        new_duration = float(explicit.group(1))
        names.append(f"{new_duration:g}s long")
    new_formats = [f for f in new_formats if f in ASPECTS]
    return Change(
        request=request.strip(),
        phrases=names,
        grade=new_grade,
        mood=new_mood,
        style=new_style,
        duration=round(min(600.0, max(1.0, new_duration)), 2),
        formats=new_formats,
    )
