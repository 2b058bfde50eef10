"""Brief fields out of a person's words, by rules: the offline director's ears.

It understands explicit statements ("12 seconds", "for Instagram Reels", "mood: hopeful",
"in an anime style", "all three formats", "for young travellers") and the answer to the question
just asked. Anything subtler needs a real language model.
"""

from __future__ import annotations

import re
from typing import Any

FIELDS = ("story", "mood", "style", "duration", "formats", "audience")

NUMBER_WORDS = {
    "five": 5,
    "six": 6,
    "eight": 8,
    "ten": 10,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty-five": 45,
    "sixty": 60,
    "ninety": 90,
}
DURATION = re.compile(
    r"\b(\d{1,3}(?:\.\d+)?|" + "|".join(NUMBER_WORDS) + r")[\s-]*"
    r"(s|sec|secs|second|seconds|min|mins|minute|minutes)\b",
    re.IGNORECASE,
)
HALF_MINUTE = re.compile(r"\bhalf (a|one) minute\b", re.IGNORECASE)
ASPECT = re.compile(r"\b(9:16|16:9|1:1)\b")
ALL_FORMATS = re.compile(
    r"\ball (three |3 )?(formats|aspect ratios|of them|sizes)\b|\bevery (format|size)\b",
    re.IGNORECASE,
)
FORMAT_WORDS = re.compile(r"\b(vertical|portrait|horizontal|landscape|widescreen|square)\b", re.I)
PLATFORMS = (
    ("instagram reels", r"instagram reels?|\breels?\b"),
    ("tiktok", r"tik ?tok"),
    ("youtube shorts", r"youtube shorts|\bshorts\b"),
    ("youtube", r"youtube"),
    ("instagram", r"instagram|\binsta\b"),
    ("linkedin", r"linked ?in"),
    ("facebook", r"facebook"),
)
MOOD_WORDS = (
    "hopeful wistful moody dark dreamy melancholic melancholy joyful happy tense epic calm serene "
    "romantic nostalgic mysterious energetic playful uplifting sad gritty whimsical eerie cosy cozy "
    "cheerful dramatic peaceful triumphant bittersweet ominous warm intimate"
).split()
STYLE_WORDS = (
    "cinematic anime cartoon documentary noir vintage watercolor watercolour 3d pixar claymation "
    "realistic ultra-realistic photorealistic stop-motion retro minimalist surreal painterly "
    "handheld film"
).split()
MOOD = re.compile(
    r"\bmood\s*(?:is|:|should be|would be|of|-)?\s*(?:something\s+)?([^.;\n]+)", re.IGNORECASE
)
STYLE = re.compile(
    r"\b(?:style|look)\s*(?:is|:|should be|would be|-)\s*([^.;\n]+)|"
    r"\bin (?:an?\s+)?([\w ,-]{3,60}?) (?:style|look)\b",
    re.IGNORECASE,
)
AUDIENCE = re.compile(
    r"\b(?:audience\s*(?:is|:|would be|should be)?|aimed at|targeting|made for|for an audience of)"
    r"\s+([^.;\n]+)|"
    r"\bfor ((?:young|older|busy|new|teen|kids|children|parents|families|fans|travell|students|"
    r"professionals|developers|gamers|people|adults|women|men|customers|viewers|followers|"
    r"millennials|gen z|runners|coffee|music|tech|small business)[^.;\n]*)",
    re.IGNORECASE,
)
TITLE = re.compile(r"\b(?:called|titled|title(?:d)?\s*(?:is|:))\s+[\"“']?([^\"”'.;\n]+)", re.I)
LEAD_IN = re.compile(
    r"^(?:(?:hi|hey|hello)[,!]?\s+)?(?:i(?:'d| would)? (?:like|want|need)|let'?s (?:make|do|create)|"
    r"(?:please )?(?:make|create|produce)(?: me)?|can you (?:make|create))\s+"
    r"(?:an? |the )?(?:(?:short|quick|little)\s+)?(?:video|film|clip|reel|ad|piece|teaser|trailer)?"
    r"(?:\s+(?:about|of|where|showing|in which|that shows))?[\s:,-]*",
    re.IGNORECASE,
)
DEFAULTS_OK = re.compile(r"\b(you (choose|pick|decide)|up to you|default|whatever|any)\b", re.I)

SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.split(text) if s.strip()]


def _duration(text: str) -> float | None:
    if HALF_MINUTE.search(text):
        return 30.0
    m = DURATION.search(text)
    if not m:
        return None
    raw = m.group(1).lower()
    value = float(NUMBER_WORDS.get(raw, 0) or raw)
    return value * 60 if m.group(2).lower().startswith("m") else value


def _formats(text: str) -> list[str] | None:
    if ALL_FORMATS.search(text):
        return ["9:16", "16:9", "1:1"]
    found = [m.group(1) for m in ASPECT.finditer(text)]
    found += [m.group(1).lower() for m in FORMAT_WORDS.finditer(text)]
    return found or None


def _platform(text: str) -> str | None:
    for name, pattern in PLATFORMS:
        if re.search(pattern, text, re.IGNORECASE):
            return name
    return None


def _words(text: str, vocabulary: list[str]) -> str | None:
    low = text.lower()
    hits = [w for w in vocabulary if re.search(rf"\b{re.escape(w)}\b", low)]
    return ", ".join(hits) if hits else None


def _clean(value: str) -> str:
    return value.strip().strip(",.;:!-").strip()


def extract(text: str, asked: str | None = None) -> dict[str, Any]:
    """Brief fields stated in `text`; `asked` is the field the last question was about."""
    fields: dict[str, Any] = {}
    story_parts: list[str] = []
    for sentence in _sentences(text):
        consumed = False
        if (d := _duration(sentence)) is not None:
            fields["duration"] = d
            consumed = True
        if (f := _formats(sentence)) is not None:
            fields["formats"] = f
            consumed = True
        if (p := _platform(sentence)) is not None:
            fields["platform"] = p
            consumed = True
        if m := TITLE.search(sentence):
            fields["title"] = _clean(m.group(1))
            consumed = True
        if m := MOOD.search(sentence):
            fields["mood"] = _clean(m.group(1))
            consumed = True
        if m := STYLE.search(sentence):
            fields["style"] = _clean(m.group(1) or m.group(2))
            consumed = True
        if m := AUDIENCE.search(sentence):
            fields["audience"] = _clean(m.group(1) or m.group(2))
            consumed = True
        if not consumed:
            story_parts.append(sentence)
    leftover = " ".join(story_parts).strip()
    if asked in FIELDS and asked not in fields:
        answer = leftover or text.strip()
        if asked == "duration":
            bare = re.fullmatch(r"\s*(\d{1,3}(?:\.\d+)?)\s*", answer)
            if bare:
                fields["duration"] = float(bare.group(1))
        elif asked == "formats":
            fmts = _formats(answer) or ([] if not re.search(r"\ball\b", answer, re.I) else ["all"])
            if fmts:
                fields["formats"] = fmts
        elif answer and not DEFAULTS_OK.fullmatch(answer.strip(" .!")):
            fields[asked] = _clean(answer)
        leftover = ""
    if asked not in ("mood",) and "mood" not in fields and asked is None:
        if (mood := _words(text, MOOD_WORDS)) is not None:
            fields["mood"] = mood
    if asked not in ("style",) and "style" not in fields and asked is None:
        if (style := _words(text, STYLE_WORDS)) is not None:
            fields["style"] = style
    if leftover and asked in (None, "story") and len(leftover.split()) >= 4:
        story = LEAD_IN.sub("", leftover, count=1).strip()
        if story:
            fields["story"] = story[0].upper() + story[1:]
    return fields


def wants_default(text: str) -> bool:
    return bool(DEFAULTS_OK.search(text))
