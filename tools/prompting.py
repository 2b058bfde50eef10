"""Prompt components from plain words, prompts in each provider's dialect, and the prompt linter.

The extractor is a small keyword lexicon (deterministic, no LLM): the same lexicon fills a shot's
components from a brief and tells which components a free-text prompt lacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memory.models import PromptComponents

COMPONENT_LABELS: dict[str, str] = {
    "subject": "subject",
    "environment": "environment",
    "camera_movement": "camera movement",
    "lighting": "lighting",
    "style": "style",
    "realism": "realism",
    "motion_detail": "motion detail",
    "emotional_tone": "emotional tone",
}


@dataclass(frozen=True)
class Cue:
    pattern: re.Pattern[str]
    phrase: str


def _cues(*pairs: tuple[str, str]) -> tuple[Cue, ...]:
    return tuple(Cue(re.compile(p, re.IGNORECASE), phrase) for p, phrase in pairs)


CAMERA_CUES = _cues(
    (r"\bdrone\b|\baerial\b|bird'?s[- ]eye|\bflyover\b|\bfly-?through\b", "aerial drone rise"),
    (r"push[- ]?in|dolly[- ]?in|\bzoom(?:s|ing)? in\b|\bcreep(?:s|ing)? in\b", "slow push-in"),
    (r"pull[- ]?(?:back|out)|dolly[- ]?out|\bzoom(?:s|ing)? out\b", "slow pull-back"),
    (r"hand[- ]?held|shaky cam", "handheld camera"),
    (r"\btracking\b|\bfollow(?:s|ing)? (?:her|him|them|the)\b|\bsteadicam\b", "tracking shot"),
    (r"\borbit(?:s|ing)?\b|\bcircl(?:es|ing) around\b|\b360\b", "orbiting camera"),
    (r"\bcrane\b|\bjib\b", "crane move"),
    (r"\bpan(?:s|ning)?\b", "slow pan"),
    (r"\btilt(?:s|ing)?\b", "slow tilt up"),
    (r"\bstatic\b|locked[- ]off|\btripod\b|\bstill frame\b", "locked-off static camera"),
)
LIGHTING_CUES = _cues(
    (r"sunset|golden hour|dusk", "warm golden-hour sunset light"),
    (r"sunrise|\bdawn\b|first light", "soft dawn light"),
    (r"\bneon\b", "neon signs and bokeh lights"),
    (r"\bnight\b|midnight|\bdark street", "night, deep shadows"),
    (r"\brain(?:y|ing)?\b|\bwet\b", "wet reflections"),
    (r"overcast|cloudy|grey sky|gray sky", "soft overcast light"),
    (r"\bstudio\b", "controlled studio lighting"),
    (r"candle|firelight|fireplace", "warm candlelight"),
    (r"moonlight|moonlit", "cool moonlight"),
    (r"\bfog\b|\bmist|\bhaze\b", "diffused light through haze"),
    (r"midday|\bnoon\b|sunny|bright day|daylight", "bright daylight"),
    (r"backlit|silhouett|rim light", "backlit silhouette, rim light"),
)
REALISM_CUES = _cues(
    (r"ultra[- ]?realistic|photo[- ]?real|hyper[- ]?real", "photorealistic"),
    (r"\banime\b", "stylised, anime"),
    (r"cartoon|\btoon\b|cel[- ]shaded", "stylised, cartoon"),
    (r"pixar|3d animat", "stylised, 3D animation"),
    (r"claymation|stop[- ]motion", "stylised, stop-motion"),
    (r"watercolou?r|illustrat|comic|hand[- ]drawn|\b2d\b|painterly", "stylised, illustrated"),
    (r"animat(?:ed|ion)", "stylised, animated"),
    (r"stylis|styliz", "stylised"),
    (r"realistic|live[- ]action|documentary|cinematic", "live-action realism"),
)
WEATHER_MOTION_CUES = _cues(
    (r"soft rain|\brain", "rain falling"),
    (r"\bsnow", "snow drifting"),
    (r"\bwind|breeze", "wind moving hair and cloth"),
    (r"\bsmoke|steam", "steam drifting"),
    (r"\bwaves?\b|\bocean\b|\bsea\b", "waves rolling"),
    (r"\btraffic\b|\bcars?\b", "traffic streaking past"),
)
STYLISED = re.compile(
    r"anime|cartoon|\btoon\b|cel[- ]shaded|pixar|3d animat|claymation|stop[- ]motion|"
    r"watercolou?r|illustrat|comic|hand[- ]drawn|\b2d\b|stylis|styliz|painterly|animat(?:ed|ion)",
    re.IGNORECASE,
)
TITLE_SHOT = re.compile(
    r"\btitle\b|\b(?:text|logo|caption|credits?|end card|title card)\b.*\b(?:appear|fade|reveal|"
    r"show|card|display)",
    re.IGNORECASE,
)
_SHOT_OF = re.compile(
    r"^(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,4}?(?:shot|footage|clip|scene|video|take)\s+of\s+",
    re.IGNORECASE,
)
_PREPOSITION = re.compile(
    r"\b(?:on|in|over|through|across|inside|at|above|under|along|by|near|into|onto|around)\s+"
    r"(?P<place>(?:the\s+|a\s+|an\s+)?[^,.;!?]+)",
    re.IGNORECASE,
)
_VERB = re.compile(r"\b(?P<verb>[a-z]+ing)\b", re.IGNORECASE)
_NOT_VERBS = {
    "building",
    "evening",
    "morning",
    "ceiling",
    "clothing",
    "lighting",
    "king",
    "ring",
    "spring",
    "string",
    "thing",
    "nothing",
    "something",
    "everything",
    "wedding",
    "painting",
    "swing",
    "sibling",
    "pudding",
    "wing",
    "ending",
    "opening",
    "beginning",
}
_CAMERA_WORDS = re.compile(
    r"\b(?:drone|aerial|handheld|hand-held|camera|shot|push-?in|pull-?back|tracking|dolly|pan|"
    r"tilt|orbit(?:ing)?|crane|static|locked-off|slow|motion|zoom(?:s|ing)?|bokeh|lights?)\b",
    re.IGNORECASE,
)


def _all_phrases(cues: tuple[Cue, ...], text: str) -> list[str]:
    found: list[tuple[int, str]] = []
    for cue in cues:
        m = cue.pattern.search(text)
        if m and cue.phrase not in (p for _, p in found):
            found.append((m.start(), cue.phrase))
    return [phrase for _, phrase in sorted(found)]


def _first_phrase(cues: tuple[Cue, ...], text: str) -> str:
    for cue in cues:
        if cue.pattern.search(text):
            return cue.phrase
    return ""


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ,.;:-")


def camera_phrase(text: str) -> str:
    return ", ".join(_all_phrases(CAMERA_CUES, text))


def lighting_phrase(text: str) -> str:
    return ", ".join(_all_phrases(LIGHTING_CUES, text))


def realism_phrase(text: str) -> str:
    return _first_phrase(REALISM_CUES, text)


def is_stylised(text: str) -> bool:
    return bool(STYLISED.search(text))


def is_title_shot(text: str) -> bool:
    return bool(TITLE_SHOT.search(text))


def split_action(description: str) -> tuple[str, str, str]:
    """(subject, action verb, environment) from a one-line shot description."""
    body = _SHOT_OF.sub("", _clean(description))
    first_clause = re.split(r"[,;]", body, maxsplit=1)[0]
    place_match = _PREPOSITION.search(first_clause)
    environment = ""
    if place_match:
        place = _clean(place_match.group(0))
        environment = _clean(re.split(r"\b(?:while|as|with)\b", place, maxsplit=1)[0])
    head = first_clause[: place_match.start()] if place_match else first_clause
    verb = ""
    for m in _VERB.finditer(head):
        if m.group("verb").lower() not in _NOT_VERBS:
            verb = m.group("verb").lower()
            head = head[: m.start()]
            break
    subject = _clean(_CAMERA_WORDS.sub(" ", head))
    subject = re.sub(r"^(?:an?|the)$", "", subject, flags=re.IGNORECASE).strip()
    return subject, verb, environment


def extract_components(
    text: str, *, style: str = "", mood: str = "", camera: str | None = None, context: str = ""
) -> PromptComponents:
    """Fill what the words say; leave the rest empty so the linter can name it.

    `text` is the shot's own description; `context` (the brief's story and style) may supply
    lighting and realism the shot line does not state.
    """
    subject, verb, environment = split_action(text)
    motion = [verb] if verb else []
    if not subject and environment and camera_phrase(text).startswith("aerial"):
        subject = re.sub(r"^\w+\s+", "", environment)
        environment = "seen from above"
        motion = [f"camera {verb or 'gliding'} forward over it"]
    motion += _all_phrases(WEATHER_MOTION_CUES, text)
    return PromptComponents(
        subject=subject,
        environment=environment,
        camera_movement=camera_phrase(camera) if camera else camera_phrase(text),
        lighting=lighting_phrase(text) or lighting_phrase(context),
        style=_clean(style),
        realism=realism_phrase(f"{text} {style}") or realism_phrase(context),
        motion_detail=", ".join(motion),
        emotional_tone=_clean(mood),
    )


def lint_prompt(prompt: str) -> list[str]:
    """Names of the eight components a free-text prompt does not state."""
    return extract_components(prompt, style=_style_words(prompt)).missing()


def _style_words(prompt: str) -> str:
    m = re.search(
        r"\b(cinematic|film noir|noir|anime|cartoon|vintage|retro|documentary|"
        r"minimalist|surreal|dreamy|gritty|editorial|vaporwave|cyberpunk|pixar|"
        r"watercolou?r|35mm|16mm|film grain)\b",
        prompt,
        re.IGNORECASE,
    )
    return m.group(1) if m else ""


# ------------------------------------------------------------------------------------ dialects


def _sentence(text: str) -> str:
    text = _clean(text)
    return f"{text[:1].upper()}{text[1:]}." if text else ""


def _subject_action(c: PromptComponents) -> str:
    motion = [m.strip() for m in c.motion_detail.split(",") if m.strip()]
    verb = motion.pop(0) if motion and re.fullmatch(r"[a-z]+ing", motion[0]) else ""
    phrase = " ".join(x for x in (c.subject or "the scene", verb, c.environment) if x)
    return ", ".join([phrase, *motion])


def build_prompt(
    c: PromptComponents,
    provider: str,
    *,
    dialogue: str | None = None,
    title: str | None = None,
    max_chars: int = 2000,
) -> str:
    """The shot's prompt in the dialect its provider reads best."""
    look = ", ".join(x for x in (c.style, c.realism) if x)
    tone = f"{c.emotional_tone} mood" if c.emotional_tone else ""
    if title and provider == "animatic":
        text = (
            f'Title card: the words "{title}" in clean, legible type. {_sentence(c.style)} '
            f"{_sentence(tone)}"
        )
    elif title:
        # generated video misspells lettering: ask for the plate, the title is set in post
        text = (
            f"Background plate for a title card: {c.environment or 'a clean field'}, "
            f"{c.camera_movement or 'slow push-in'}. {_sentence(c.style)} {_sentence(tone)} "
            "An uncluttered centre left clear; no text, letters, numbers or logos anywhere."
        )
    elif provider == "veo":
        text = " ".join(
            s
            for s in (
                _sentence(c.camera_movement),
                _sentence(_subject_action(c)),
                _sentence(c.lighting),
                _sentence(look),
                _sentence(tone),
                f'Dialogue: "{dialogue}"' if dialogue else "",
            )
            if s
        )
    elif provider == "runway":
        lead = f"{c.camera_movement.capitalize()}: " if c.camera_movement else ""
        text = lead + " ".join(
            s
            for s in (
                _sentence(_subject_action(c)),
                _sentence(c.lighting),
                _sentence(look),
                _sentence(tone),
            )
            if s
        )
    elif provider == "pika":
        text = ", ".join(
            x
            for x in (
                f"{look} style" if look else "",
                _subject_action(c),
                c.camera_movement,
                c.lighting,
                tone,
            )
            if x
        )
    elif provider == "kling":
        text = ", ".join(
            x for x in (_subject_action(c), c.camera_movement, c.lighting, look, tone) if x
        )
    else:  # luma and the animatic read plain descriptive prose
        text = " ".join(
            s
            for s in (
                _sentence(f"{look + ' shot: ' if look else ''}{_subject_action(c)}"),
                _sentence(c.camera_movement),
                _sentence(c.lighting),
                _sentence(tone),
            )
            if s
        )
    return re.sub(r"\s+", " ", text).strip()[:max_chars].rstrip()
