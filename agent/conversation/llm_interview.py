"""With an LLM configured: the brief fields of a person's message, read through structured output.

The LLM answers against `BriefReading` (every brief field, null where the message says nothing,
and a `not_a_field` bucket for go-ahead, filler, hesitation, "you choose", questions and
commands). Its answer then passes the interview's guard rules: filler never lands in a field, a
value must be grounded in the person's words, and a sentence about a scene (or one the reading
cannot ground) never overwrites the story or the title. Invalid output is sent back once with its
errors; a second invalid answer, or a server that cannot be reached, falls back to the offline
extraction (`agent.extract.extract`) with a note saying why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.extract import extract as offline_extract
from agent.extract import title_from
from memory.models import MAX_BRIEF_DURATION_S
from tools.drafting import ask_structured, llm_from_settings
from tools.settings import Settings

TEXT_FIELDS = ("story", "title", "mood", "style", "audience", "platform")
# What never lands in a field, whatever the reading says: go-ahead, filler, hesitation, defaults.
NOT_A_FIELD = re.compile(
    r"^(?:(?:ok(?:ay)?|yes|yeah|yep|sure|great|cool|perfect|alright|so|well|hmm+|um+|uh+|"
    r"just|please|now)[\s,!.]+)*(?:"
    r"yes|yeah|yep|sure|ok(?:ay)?|go|go ahead|go for it|do it|render(?: it)?|make it|"
    r"let'?s go|let'?s do it|sounds (?:good|great)|looks (?:good|great)|approved?|proceed|start|"
    r"perfect|great|cool|nice|fine|good|done|thanks|thank you|lgtm|"
    r"(?:looks good|sounds good|great|ok(?:ay)?|perfect)[\s,]+(?:go ahead(?: and)?\s*)?"
    r"(?:make|render|create|do|start)(?: it| the video| this)?(?: now)?|"
    r"(?:go ahead and |please |just )?(?:make|render|create|build|produce|generate|start)"
    r"(?: it| the video| this| that)?(?: now| please)?|"
    r"you (?:choose|pick|decide)|up to you|your (?:call|choice)|whatever|anything|default|"
    r"surprise me|dunno|idk|i don'?t know|no idea|(?:i'?m )?not sure|no preference|"
    r"doesn'?t matter|i don'?t mind|h+m+|um+|uh+|er+m*|let me think|hold on|wait|maybe"
    r")[\s!.]*$",
    re.IGNORECASE,
)
SCENE_TALK = re.compile(
    r"\b(?:scene|shot|take)s?\s*(?:\d+|one|two|three|four|five|six)\b|"
    r"\b(?:first|second|third|fourth|fifth|last|next|final|opening|closing)\s+(?:scene|shot|take)\b",
    re.IGNORECASE,
)
NUMBERS = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|sixty|ninety|half|minute|minutes|second|seconds|sec|secs|min|mins)\b",
    re.IGNORECASE,
)
FORMAT_TALK = re.compile(
    r"\b(?:square|vertical|horizontal|portrait|landscape|widescreen|wide|tall|format|formats|"
    r"aspect|all three|tiktok|reels?|shorts|youtube|instagram|insta|stories|story format|"
    r"feed|linkedin|facebook)\b|\d{1,2}\s*[:x/]\s*\d{1,2}",
    re.IGNORECASE,
)


class BriefReading(BaseModel):
    """The brief fields the person's latest message states; null for every field it does not
    state. Anything in the message that fills no field goes, verbatim, into not_a_field."""

    model_config = ConfigDict(extra="forbid")

    story: str | None = Field(
        default=None,
        description="What happens in the video, in the person's own words; only when this "
        "message tells or retells the story (never a scene edit or a command).",
    )
    title: str | None = Field(
        default=None,
        description="A title the person gives, as they wrote it; or, when no title is set yet "
        "or this message tells the story, a short title made of the story's own words.",
    )
    mood: str | None = Field(default=None, description="The feeling, e.g. 'quiet, nostalgic'.")
    style: str | None = Field(default=None, description="The look, e.g. 'realistic', 'anime'.")
    duration: float | None = Field(
        default=None, gt=0, le=MAX_BRIEF_DURATION_S, description="Length in seconds."
    )
    formats: list[Literal["9:16", "16:9", "1:1"]] | None = Field(
        default=None, description="Aspect ratios: square 1:1, vertical 9:16, horizontal 16:9."
    )
    audience: str | None = Field(default=None, description="Who the video is for.")
    platform: str | None = Field(default=None, description="Where it will be posted.")
    not_a_field: list[str] = Field(
        default_factory=list,
        description="Parts of the message that fill no field, verbatim: go-ahead ('looks good, "
        "make it'), thanks, filler, hesitation ('not sure'), 'you choose', questions back, scene "
        "edits and other commands.",
    )


SYSTEM = """You read a person's message in a conversation about a short video and fill the
fields of its brief. Answer only with JSON matching the schema.
Rules:
- Read the whole message for every field, in any order; several fields may be stated at once.
- `question_just_asked` names the field the assistant last asked about: take the answer for that
  field only when it fits it; otherwise put it where it fits.
- A correction ("actually make it 30 seconds", "no, horizontal") gives the new value.
- Go-ahead, thanks, filler, hesitation, "you choose", questions and commands (including edits of
  a scene) are not fields: copy them into not_a_field and leave the fields null.
- Never restate `brief_so_far`: only what this message says."""


@dataclass
class Extraction:
    """What a message said: `fields` for the brief (the shape of `agent.extract.extract`),
    `dropped` the LLM's values the guard refused (field -> why), `note` why the offline reading
    was used, if it was."""

    fields: dict[str, Any]
    source: Literal["llm", "offline"]
    not_a_field: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    note: str | None = None


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip(' \t.,;:!?-"').lower()


def _content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9][a-z0-9'-]*", _norm(text)) if len(w) > 2]


def _grounded(value: str, message: str, share: float) -> bool:
    """At least `share` of the value's words are in the message (a word matches on its first
    five letters: "nostalgic" grounds "nostalgia")."""
    words = _content_words(value)
    if not words:
        return False
    said = {w[:5] for w in _content_words(message)}
    return sum(w[:5] in said for w in words) / len(words) >= share


def _is_not_a_field(value: str, bucket: list[str]) -> bool:
    v = _norm(value)
    return bool(NOT_A_FIELD.fullmatch(v)) or any(v and v in _norm(b) for b in bucket)


# A title is a name, not a sentence: a derived one is at most this many words.
MAX_DERIVED_TITLE_WORDS = 8
# Small words a title may add to the story's words ("The", "of", "and").
TITLE_SMALL = frozenset(
    "the and for his her its our their with from into over under upon one".split()
)


def _derived_title_problem(
    value: str, reading: BriefReading, message: str, brief: Mapping[str, Any] | None
) -> str | None:
    """Why a title the person did not write is refused, or None when it is drawn from the story:
    a short name (not a sentence) whose every word is in the story (told in this message or
    already in the brief) or the message, proposed when no title is set or the story is new."""
    story_now = reading.story if reading.story and _grounded(reading.story, message, 0.6) else None
    story = story_now or str((brief or {}).get("story") or "")
    if not story:
        return "not a title the person gave, and there is no story to draw one from"
    if (brief or {}).get("title") and not story_now:
        return "the person did not rename it; the title stays"
    words = value.split()
    if len(words) > MAX_DERIVED_TITLE_WORDS or re.search(r"[.!?;]\s*\S", value.strip()):
        return "a sentence, not a title"
    named = [w for w in _content_words(value) if w not in TITLE_SMALL]
    if not named:
        return "not a title"
    said = {w[:5] for w in _content_words(f"{story} {message}")}
    if any(w[:5] not in said for w in named):
        return "not a title the person gave, nor one made of the story's words"
    return None


def guard(
    reading: BriefReading, message: str, brief: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields of `reading` the interview's rules let through, and why the others were not."""
    fields: dict[str, Any] = {}
    dropped: dict[str, str] = {}
    scene_talk = bool(SCENE_TALK.search(message))
    for name in TEXT_FIELDS:
        value = getattr(reading, name)
        if value is None or not value.strip():
            continue
        value = re.sub(r"\s+", " ", value).strip()
        if _is_not_a_field(value, reading.not_a_field):
            dropped[name] = "go-ahead or filler, not a field"
        elif name in ("story", "title") and scene_talk:
            dropped[name] = "the message is about a scene; the story and title stay"
        elif name == "title" and _norm(value) not in _norm(message):
            why = _derived_title_problem(value, reading, message, brief)
            if why:
                dropped[name] = why
            else:
                fields[name] = value
        elif name == "story" and not _grounded(value, message, 0.6):
            had = bool(brief and brief.get("story"))
            dropped[name] = (
                "not the person's words; the story stays" if had else "not the person's words"
            )
        elif name != "story" and not _grounded(value, message, 0.34):
            dropped[name] = "not in the person's words"
        else:
            fields[name] = value
    if reading.duration is not None:
        if NUMBERS.search(message):
            fields["duration"] = float(reading.duration)
        else:
            dropped["duration"] = "the message states no length"
    if reading.formats:
        if FORMAT_TALK.search(message):
            fields["formats"] = list(dict.fromkeys(reading.formats))
        else:
            dropped["formats"] = "the message names no format"
    return fields, dropped


FORMAT_NAMES = {
    "vertical": ["9:16"],
    "portrait": ["9:16"],
    "horizontal": ["16:9"],
    "landscape": ["16:9"],
    "widescreen": ["16:9"],
    "square": ["1:1"],
    "all": ["9:16", "16:9", "1:1"],
}


def _format_names(value: Any) -> Any:
    """The tool's format words ("vertical", "all") as aspect ratios; anything else unchanged
    (the schema then refuses what is not a format)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        return value
    out: list[Any] = []
    for item in items:
        out += FORMAT_NAMES.get(str(item).strip().lower(), [item])
    return list(dict.fromkeys(out))


def guard_fields(
    fields: Mapping[str, Any], message: str, brief: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The same guard for fields an LLM chat agent passes to a tool (e.g. update_brief) while
    answering `message`: invalid values and what the rules refuse are dropped, with why."""
    known = {k: v for k, v in fields.items() if k in BriefReading.model_fields}
    if "formats" in known:
        known["formats"] = _format_names(known["formats"])
    dropped: dict[str, str] = {k: "not a brief field" for k in fields if k not in known}
    try:
        reading = BriefReading.model_validate(known)
    except ValidationError as exc:
        bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        dropped |= dict.fromkeys(bad, "invalid value")
        reading = BriefReading.model_validate({k: v for k, v in known.items() if k not in bad})
    kept, refused = guard(reading, message, brief)
    return kept, dropped | refused


class LLMInterviewer:
    """Reads each message for every brief field with an LLM; the offline extraction stands in
    when the LLM's answer is invalid twice or the LLM cannot be reached."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model

    def read(
        self, text: str, asked: str | None = None, brief: Mapping[str, Any] | None = None
    ) -> Extraction:
        facts = {
            "message": text,
            "question_just_asked": asked,
            "brief_so_far": {k: v for k, v in (brief or {}).items() if v not in (None, "", [])},
        }
        answer = ask_structured(
            self.model,
            BriefReading,
            [
                SystemMessage(SYSTEM),
                HumanMessage(json.dumps(facts, ensure_ascii=False, default=str)),
            ],
            what="read the message",
        )
        if answer.value is None:
            return Extraction(
                offline_extract(text, asked),
                "offline",
                note=f"{answer.note}; the offline interview read it",
            )
        fields, dropped = guard(answer.value, text, brief)
        return Extraction(fields, "llm", list(answer.value.not_a_field), dropped)

    def extract(
        self, text: str, asked: str | None = None, brief: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Drop-in for `agent.extract.extract`: the fields only."""
        return self.read(text, asked, brief).fields


def interviewer_from_settings(
    settings: Settings, *, model: BaseChatModel | None = None
) -> LLMInterviewer | None:
    """The interviewer when an LLM is configured (REELFORGE_MODEL / OPENAI_API_KEY on
    OPENAI_BASE_URL), else None (the offline interview alone). `model` replaces the configured
    one (tests)."""
    chat = model or llm_from_settings(settings)
    return LLMInterviewer(chat) if chat is not None else None


@dataclass
class ChatReading:
    """What chat saves for one person's message: the guarded `fields`, and `notes` for the
    person (why a value was not saved, why the offline interview read the message)."""

    fields: dict[str, Any]
    notes: list[str]
    source: Literal["llm", "offline"]


def read_for_chat(
    interviewer: LLMInterviewer,
    message: str,
    proposed: Mapping[str, Any],
    brief: Mapping[str, Any] | None = None,
    asked: str | None = None,
) -> ChatReading:
    """The brief fields an LLM chat agent's `update_brief` call saves while answering `message`.

    The message is read through structured output (`LLMInterviewer.read`: repaired once, then the
    offline interview with a note); the fields the chat model `proposed` in its tool call meet the
    same guard (`guard_fields`) and fill only what that reading left open. A story with no title
    (and no title of the person's) gets the offline director's working title from it."""
    extraction = interviewer.read(message, asked, brief)
    kept, refused = guard_fields(proposed, message, brief)
    fields = {**kept, **extraction.fields}
    notes = [f"Note: {extraction.note}." if extraction.note else ""]
    for name, why in {**refused, **extraction.dropped}.items():
        if name not in fields:
            notes.append(f"Not saved as the {name}: {why}.")
    if "story" in fields and "title" not in fields:
        old_title, old_story = (brief or {}).get("title"), (brief or {}).get("story")
        if not old_title or not old_story or old_title == title_from(str(old_story)):
            fields["title"] = title_from(str(fields["story"]))
    return ChatReading(fields, [n for n in notes if n], extraction.source)
