"""With an LLM configured: scenes drafted and shot components written through structured output.

The LLM answers in JSON against a pydantic schema (`with_structured_output(..., method=
"json_schema")`), and its answer goes through the same rules as the offline writer: the person's
words verbatim (every sentence and quoted line of the story kept, the shot's own words at the head
of its prompt), all eight components (one the LLM left empty is the offline writer's), the
person's own camera, light, look and mood kept, and each provider's dialect and length limit (the
prompt itself is written by `tools.prompting.build_prompt`). An answer that breaks a rule is sent
back once with the errors; a second bad answer, or a server that cannot be reached, leaves the
offline planner's work in place and a note saying why (`LLMDrafter.take_notes()`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from openai import OpenAIError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memory.models import COMPONENT_NAMES, MAX_SCENES, Brief, PromptComponents, SceneSpec
from tools.planner import DESIGN_LEAD, MAX_STORY_SCENES, MIN_SCENE_S, ShotRequest, sentences
from tools.prompting import extract_components
from tools.settings import Settings

DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"
# Components the person sets in their own words (camera and light words, the brief's style and
# mood): the LLM chooses only where they said nothing.
PERSON_WINS = ("camera_movement", "lighting", "style", "realism", "emotional_tone")
_QUOTE = re.compile(r"\"([^\"]+)\"|“([^”]+)”")

M = TypeVar("M", bound=BaseModel)


# ------------------------------------------------------------------------- structured calls


@dataclass(frozen=True)
class Answer(Generic[M]):
    """A structured answer: `value` when valid (at most one repair), else None and `note`."""

    value: M | None
    calls: int
    note: str | None = None


REPAIR = (
    "Your reply did not follow the rules:\n{errors}\n"
    "Reply again with JSON matching the schema, fixing exactly these problems."
)


def _schema(schema: type[BaseModel]) -> dict[str, Any]:
    return {
        "description": (schema.__doc__ or schema.__name__).strip(),
        **schema.model_json_schema(),
    }


def _errors(exc: ValidationError) -> list[str]:
    out = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"]) or "reply"
        out.append(f"{where}: {e['msg']}")
    return out


def _reason(exc: Exception) -> str:
    text = re.sub(r"\s+", " ", str(exc)).strip()
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def ask_structured(
    model: BaseChatModel,
    schema: type[M],
    messages: list[BaseMessage],
    *,
    check: Callable[[M], list[str]] | None = None,
    what: str,
) -> Answer[M]:
    """Ask `model` for a `schema` object; `check` lists rule breaks beyond the schema. Invalid JSON,
    a schema error or a rule break is sent back once with the errors; a server error is not
    retried here (the client's own retries apply)."""
    runnable = model.with_structured_output(_schema(schema), method="json_schema", include_raw=True)
    errors: list[str] = []
    for attempt in (1, 2):
        try:
            out = cast(dict[str, Any], runnable.invoke(messages))
        except (OpenAIError, ValueError) as exc:
            return Answer(None, attempt, f"the LLM could not {what} ({_reason(exc)})")
        raw = out.get("raw")
        text = raw.content if isinstance(raw, AIMessage) and isinstance(raw.content, str) else ""
        if out.get("parsing_error") is not None or out.get("parsed") is None:
            errors = [f"not valid JSON: {text[:200]!r}"]
        else:
            try:
                value = schema.model_validate(out["parsed"])
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                errors = check(value) if check else []
                if not errors:
                    return Answer(value, attempt)
        if attempt == 1:
            listed = "\n".join(f"- {e}" for e in errors)
            messages = [
                *messages,
                AIMessage(text or "(empty reply)"),
                HumanMessage(REPAIR.format(errors=listed)),
            ]
    return Answer(
        None, 2, f"the LLM's reply was invalid twice when asked to {what} ({'; '.join(errors[:3])})"
    )


def llm_from_settings(settings: Settings) -> BaseChatModel | None:
    """`REELFORGE_MODEL` on `OPENAI_BASE_URL` when a model or an `OPENAI_API_KEY` is configured
    (the rule of agent.models.chat_model); None when offline."""
    name = settings.model
    if name == "offline" or (name is None and settings.openai_api_key is None):
        return None
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    return ChatOpenAI(
        model=name or DEFAULT_OPENAI_MODEL,
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key or SecretStr("not-needed"),
        max_retries=1,
        timeout=60,
    )


# ---------------------------------------------------------------------------------- schemas


class DraftScene(BaseModel):
    """One scene of the film."""

    model_config = ConfigDict(extra="forbid")

    excerpt: str = Field(
        min_length=1,
        description="The words of the person's story this scene shows, copied word for word. "
        "A one-line idea may be the excerpt of several scenes.",
    )
    beat: str = Field(
        default="",
        max_length=400,
        description="What we see in this scene, one sentence, when it adds to the excerpt.",
    )
    design: Literal["establishing", "action", "detail", "resolution", "dialogue"] = Field(
        description="The scene's job in the film."
    )
    dialogue: str | None = Field(
        default=None,
        description="Lines spoken in this scene, verbatim from the story, one a line as "
        "'Speaker: words'; null when nobody speaks.",
    )
    camera: str | None = Field(
        default=None, max_length=200, description="Camera only if the person named one."
    )
    duration: float | None = Field(default=None, gt=0, le=120, description="Seconds, or null.")


class SceneDraft(BaseModel):
    """The scenes of a short film drafted from the person's story, in order."""

    model_config = ConfigDict(extra="forbid")

    scenes: list[DraftScene] = Field(min_length=1, max_length=MAX_SCENES)


class DraftComponents(BaseModel):
    """The eight components of a professional video prompt for one shot."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(default="", description="Who or what the shot is about.")
    environment: str = Field(default="", description="Where it happens.")
    camera_movement: str = Field(default="", description="Framing and camera move.")
    lighting: str = Field(default="", description="Light sources and quality, motivated.")
    style: str = Field(default="", description="The visual style.")
    realism: str = Field(default="", description="Photorealistic live action or a stylised look.")
    motion_detail: str = Field(default="", description="What moves in the frame and how.")
    emotional_tone: str = Field(default="", description="The feeling of the shot.")


class ShotDraft(BaseModel):
    """One shot's components."""

    model_config = ConfigDict(extra="forbid")

    shot_id: str
    components: DraftComponents


class ShotsDraft(BaseModel):
    """The components of every shot asked about, one entry per shot id."""

    model_config = ConfigDict(extra="forbid")

    shots: list[ShotDraft]


# ------------------------------------------------------------------------------- the linter


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("“", '"').replace("”", '"')).strip().lower()


def _quoted_lines(text: str) -> list[str]:
    return [(m.group(1) or m.group(2)).strip().rstrip(",;").strip() for m in _QUOTE.finditer(text)]


def _said_lines(dialogue: str | None) -> list[str]:
    out = []
    for line in (dialogue or "").splitlines():
        words = re.sub(r"^[A-Za-z][\w .'’-]{0,40}?\s*:\s+", "", line.strip()).strip().strip('"“”')
        if words:
            out.append(words)
    return out


def scene_errors(draft: SceneDraft, brief: Brief) -> list[str]:
    """What breaks the offline writer's rules in a scene draft: an excerpt not in the story word
    for word, a sentence of the story no scene shows, a quoted line lost or invented, scene
    lengths over the brief's."""
    story = _norm(brief.story)
    excerpts = [_norm(s.excerpt) for s in draft.scenes]
    errors = [
        f"scenes.{i}.excerpt is not word for word from the story: {s.excerpt[:80]!r}"
        for i, s in enumerate(draft.scenes)
        if _norm(s.excerpt).strip(" .!?;") not in story
    ]
    for sentence in sentences(brief.story):
        core = _norm(sentence).strip(" .!?;")
        if core and not any(core in e for e in excerpts):
            errors.append(f"no scene's excerpt holds this sentence of the story: {sentence!r}")
    said = " ".join(_norm(line) for s in draft.scenes for line in _said_lines(s.dialogue))
    for line in _quoted_lines(brief.story):
        if _norm(line).strip(" .!?,") not in said:
            errors.append(f"the spoken line {line!r} is missing from every scene's dialogue")
    for i, s in enumerate(draft.scenes):
        for line in _said_lines(s.dialogue):
            if _norm(line).strip(" .!?,") not in story:
                errors.append(f"scenes.{i}.dialogue has a line not in the story: {line!r}")
    given = sum(s.duration or 0 for s in draft.scenes)
    open_scenes = sum(s.duration is None for s in draft.scenes)
    if given > brief.duration + 0.01:
        errors.append(f"scene durations add up to {given:g}s, over the brief's {brief.duration:g}s")
    elif open_scenes and (brief.duration - given) / open_scenes < MIN_SCENE_S:
        errors.append(
            f"scenes without a duration share only {brief.duration - given:g}s; give durations "
            "to all scenes or to none"
        )
    elif not open_scenes and abs(given - brief.duration) > 0.5:
        errors.append(
            f"scene durations add up to {given:g}s; the video is {brief.duration:g}s long"
        )
    if len(draft.scenes) > MAX_STORY_SCENES + 2:
        errors.append(f"{len(draft.scenes)} scenes: at most {MAX_STORY_SCENES + 2} for a story")
    if not errors:
        try:
            scene_specs(draft)
        except ValidationError as exc:
            errors += _errors(exc)
    return errors


def scene_specs(draft: SceneDraft) -> list[SceneSpec]:
    """The draft as the planner's scenes: the story's words first (with the design's lead), the
    LLM's beat after them."""
    specs = []
    for s in draft.scenes:
        excerpt = s.excerpt.strip()
        beat = _tidy(s.beat)
        description = f"{DESIGN_LEAD.get(s.design, '')}{excerpt}"
        if beat and _norm(beat) not in _norm(excerpt):
            description = f"{description.rstrip()} {beat[:1].upper()}{beat[1:]}."
            description = description.replace("..", ".")
        specs.append(
            SceneSpec(
                description=description,
                duration=s.duration,
                dialogue=s.dialogue.strip() if s.dialogue and s.dialogue.strip() else None,
                camera=s.camera.strip() if s.camera and s.camera.strip() else None,
            )
        )
    return specs


def _tidy(text: str) -> str:
    """An LLM component as the prompt writer takes it: one line, no quotes (speech belongs to the
    dialogue, verbatim), no trailing punctuation."""
    return re.sub(r"\s+", " ", re.sub(r"[\"“”]", "", text)).strip(" ,.;:-")


def lint_components(
    drafted: DraftComponents, shot: ShotRequest
) -> tuple[PromptComponents, list[str]]:
    """The LLM's components for `shot` under the offline writer's rules; also the names of the
    components the offline writer had to fill. The person's words (`said`) and what they left
    open stay theirs; camera, light, look and mood they stated stay as they said them."""
    offline = shot.components
    stated = extract_components(
        shot.description, style=shot.style, mood=shot.mood, camera=shot.camera
    )
    values: dict[str, str] = {}
    filled: list[str] = []
    for name in COMPONENT_NAMES:
        mine = _tidy(getattr(drafted, name))
        if name in offline.left_open:
            values[name] = ""
        elif name in PERSON_WINS and str(getattr(stated, name)).strip():
            values[name] = getattr(offline, name)
        elif mine:
            values[name] = mine
        else:
            values[name] = getattr(offline, name)
            filled.append(name)
    return offline.model_copy(update=values), filled


# ------------------------------------------------------------------------------- the drafter

SCENES_SYSTEM = """You are a film director breaking a person's story into the scenes of a short
AI-generated video. Answer only with JSON matching the schema.
Rules:
- Each scene's `excerpt` copies, word for word, the part of the person's story it shows. Together
  the excerpts hold every sentence of the story. Never cut a sentence or a quotation.
- A one-line idea becomes 2 to 4 scenes with distinct designs (establishing, action, detail,
  resolution): each has the idea as its excerpt and says in `beat` what we see.
- Every quoted line of the story goes, verbatim, into the `dialogue` of the scene where it is
  spoken, one a line as 'Speaker: words'. Never invent dialogue.
- `camera` only when the person named a camera move. Durations, if given, add up to at most the
  video's length. At most {max_scenes} scenes."""

SHOTS_SYSTEM = """You are a cinematographer writing the eight components of each shot's video
prompt: subject, environment, camera_movement, lighting, style, realism, motion_detail,
emotional_tone. Answer only with JSON matching the schema, one entry per shot id given.
Rules:
- `words` are the person's own words for the shot: never contradict them. Choose what they did not
  say the way a cinematographer would from the shot's content, design, mood and style (a dialogue
  two-shot: a static or slow push-in medium shot and motivated light; a chase: fast tracking or
  handheld).
- Fill every component with a short phrase. No quotation marks and no dialogue in components.
- `offline` is a rule-based suggestion: improve on it."""


class LLMDrafter:
    """A `tools.planner.Drafter` backed by a chat model. Notes on why the offline planner's work
    was kept accumulate until `take_notes()`."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model
        self.notes: list[str] = []

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes

    def scenes(self, brief: Brief) -> list[SceneSpec] | None:
        facts = {
            "title": brief.title,
            "story": brief.story,
            "mood": brief.mood,
            "style": brief.style,
            "duration_seconds": brief.duration,
            "audience": brief.audience,
        }
        answer = ask_structured(
            self.model,
            SceneDraft,
            [
                SystemMessage(SCENES_SYSTEM.format(max_scenes=MAX_STORY_SCENES + 2)),
                HumanMessage(json.dumps(facts, ensure_ascii=False)),
            ],
            check=lambda d: scene_errors(d, brief),
            what="draft the scenes",
        )
        if answer.value is None:
            self.notes.append(f"{answer.note}; the offline planner drafted the scenes")
            return None
        return scene_specs(answer.value)

    def components(self, shots: list[ShotRequest]) -> dict[str, PromptComponents]:
        wanted = [s.shot_id for s in shots]

        def check(draft: ShotsDraft) -> list[str]:
            got = [s.shot_id for s in draft.shots]
            errors = [f"shot {i} is missing" for i in wanted if i not in got]
            errors += [f"shot {i} was not asked for" for i in dict.fromkeys(got) if i not in wanted]
            errors += [f"shot {i} appears twice" for i in dict.fromkeys(got) if got.count(i) > 1]
            return errors

        listing = [
            {
                "shot_id": s.shot_id,
                "words": s.components.said or s.description,
                "design": s.design,
                "dialogue": s.dialogue,
                "camera_asked": s.camera,
                "mood": s.mood,
                "style": s.style,
                "offline": s.components.model_dump(include=set(COMPONENT_NAMES)),
            }
            for s in shots
        ]
        answer = ask_structured(
            self.model,
            ShotsDraft,
            [SystemMessage(SHOTS_SYSTEM), HumanMessage(json.dumps(listing, ensure_ascii=False))],
            check=check,
            what="write the shot components",
        )
        if answer.value is None:
            self.notes.append(f"{answer.note}; the offline writer wrote the prompts")
            return {}
        by_id = {s.shot_id: s for s in shots}
        out: dict[str, PromptComponents] = {}
        for drafted in answer.value.shots:
            components, filled = lint_components(drafted.components, by_id[drafted.shot_id])
            out[drafted.shot_id] = components
            if filled:
                names = ", ".join(n.replace("_", " ") for n in filled)
                self.notes.append(
                    f"shot {drafted.shot_id}: the LLM left {names} empty; the offline writer "
                    "filled it"
                )
        return out


def drafter_from_settings(
    settings: Settings, *, model: BaseChatModel | None = None
) -> LLMDrafter | None:
    """The drafter for `plan_scenes(..., drafter=...)` when an LLM is configured, else None (the
    offline planner alone). `model` replaces the configured one (tests)."""
    chat = model or llm_from_settings(settings)
    return LLMDrafter(chat) if chat is not None else None
