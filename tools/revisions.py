"""Revisions in words: "make it moodier" becomes a structured change with two ways to apply it.

A change always has a *look* part (a colour grade, free: the existing takes are regraded) and may
have a *content* part (the brief's mood, style, lighting or pacing, which changes the shots' prompts
and so needs a re-render of the shots whose inputs changed). Phrases are data below; anything not
understood is reported, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from memory.models import ASPECTS, Aspect, Grade
from tools.post.grades import UnknownGradeWords, grade_for


@dataclass(frozen=True)
class Phrase:
    """One revision phrase: whether it changes the look (the grade, see tools.post.grades) and the
    words it adds to the brief for a re-render."""

    name: str
    pattern: str
    look: bool = False
    mood: str = ""
    style: str = ""
    duration_scale: float = 1.0
    master_format: Aspect | None = None


PHRASES: tuple[Phrase, ...] = (
    Phrase(
        "moodier",
        r"\bmood(y|ier)\b|\bdarker and moodier\b|\bmore (dramatic|atmospheric|brooding)\b|\bgloom",
        look=True,
        mood="moody, brooding",
        style="low-key lighting, deep shadows",
    ),
    Phrase(
        "darker",
        r"\bdark(er)?\b",
        look=True,
        style="low-key lighting",
    ),
    Phrase(
        "brighter",
        r"\bbright(er)?\b|\blight(er)?\b|\bairier\b",
        look=True,
        style="bright, airy light",
    ),
    Phrase(
        "warmer",
        r"\bwarm(er)?\b|\bgolden\b",
        look=True,
        style="warm golden light",
    ),
    Phrase(
        "cooler",
        r"\bcool(er)?\b|\bcold(er)?\b|\bblu(e|er)\b",
        look=True,
        style="cool blue light",
    ),
    Phrase(
        "more cinematic",
        r"\bcinematic\b|\bfilmic\b|\bmore like a film\b",
        look=True,
        style="cinematic, anamorphic lens, shallow depth of field",
    ),
    Phrase(
        "more vibrant",
        r"\bvibrant\b|\bsaturated\b|\bcolou?rful\b|\bpop\b|\bpunch(y|ier)\b",
        look=True,
        style="vivid colour",
    ),
    Phrase(
        "muted",
        r"\bmuted\b|\bdesaturated?\b|\bwashed[- ]out\b|\bless colou?r",
        look=True,
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


class Change(BaseModel):
    """A revision request as a precise change (typed, so a session can keep it)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

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
    if any(p.look for p in hits):
        try:
            new_grade = grade_for(request, grade)
        except UnknownGradeWords:
            new_grade = grade
    for p in hits:
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
