"""The tools the model sees: thin wrappers over `tools.studio.Studio`.

Each docstring is the model's contract. A tool returns a short summary for the model to relay
(the studio's typed result in `agent.conversation.words`' sentences), never raw provider JSON; a failure the person can fix comes back as a message starting with
"error:", so the model can explain it or retry with better arguments. Beside the sentence, every
tool returns the thread's state as data (`agent.conversation.state.ThreadState`, the ToolMessage
artifact: the model never sees it; the offline director decides from it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from langchain.tools import ToolRuntime, tool
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from agent.conversation import words
from agent.conversation.interview import FIELDS
from agent.conversation.llm_interview import LLMInterviewer, read_for_chat
from agent.conversation.state import ThreadState, of_studio
from agent.director import conversation_state
from memory.models import Transition
from memory.store import ProjectNotFound
from tools.providers.base import ProviderError
from tools.providers.registry import UnknownProvider
from tools.studio import Studio, StudioError

ACTIONABLE = (StudioError, ProviderError, ProjectNotFound, UnknownProvider)


@dataclass
class ChatContext:
    """What every tool call of one thread works with (LangGraph runtime context)."""

    studio: Studio
    # With an LLM configured: update_brief reads the person's message through structured output
    # and the interview's guard instead of trusting the chat model's arguments alone.
    interviewer: LLMInterviewer | None = None


Runtime = ToolRuntime[ChatContext]
T = TypeVar("T")


# A tool's result: its sentence for the person (or the model), and the thread's state as data
# (the ToolMessage artifact, which the model never sees and the offline director reads).
Result = tuple[str, dict[str, Any]]


def _result(studio: Studio, text: str, error: str | None = None) -> Result:
    try:
        state = of_studio(studio, error)
    except ACTIONABLE as exc:  # e.g. the project vanished: the sentence still goes out
        state = ThreadState(error=error or str(exc))
    return text, state.model_dump(mode="json")


def _safe(runtime: Runtime, fn: Callable[[Studio], str]) -> Result:
    studio = runtime.context.studio
    try:
        return _result(studio, fn(studio))
    except ACTIONABLE as exc:
        return _result(studio, f"error: {exc}", str(exc))


async def _asafe(
    runtime: Runtime, fn: Callable[[Studio], Awaitable[T]], say: Callable[[T], str]
) -> Result:
    """Run an async studio call and put its typed result in words with `say`."""
    studio = runtime.context.studio
    try:
        return _result(studio, say(await fn(studio)))
    except ACTIONABLE as exc:
        return _result(studio, f"error: {exc}", str(exc))


class SceneInput(BaseModel):
    description: str = Field(description="One short visual sentence: who, where, doing what.")
    duration: float | None = Field(default=None, description="Seconds; omit to share the rest.")
    dialogue: str | None = Field(default=None, description="Spoken words, if any.")
    camera: str | None = Field(default=None, description="Camera move, e.g. 'slow push-in'.")
    transition: Transition | None = Field(
        default=None, description="Into this scene: cut (default), dissolve, or fade via black."
    )


@tool(response_format="content_and_artifact")
def update_brief(
    runtime: Runtime,
    story: str | None = None,
    mood: str | None = None,
    style: str | None = None,
    duration: float | None = None,
    formats: list[str] | None = None,
    audience: str | None = None,
    title: str | None = None,
    platform: str | None = None,
    music: str | None = None,
) -> Result:
    """Save brief fields the person gave; leave out what they did not say.

    Args:
        story: What happens, in a sentence or a few.
        mood: The feeling, e.g. "hopeful, wistful".
        style: The look, e.g. "cinematic, warm film look" or "anime".
        duration: Length in seconds.
        formats: Any of "9:16", "16:9", "1:1" (or "vertical", "horizontal", "square", "all").
        audience: Who it is for.
        title: The film's title.
        platform: Where it will be posted, e.g. "instagram reels".
        music: Path to a music file on this machine.

    Returns the brief so far and the next missing field to ask about.
    """
    fields = {
        "story": story,
        "mood": mood,
        "style": style,
        "duration": duration,
        "formats": formats,
        "audience": audience,
        "title": title,
        "platform": platform,
        "music": music,
    }
    interviewer = runtime.context.interviewer
    message = _person_said(runtime)
    if interviewer is None or message is None:
        return _safe(runtime, lambda s: words.brief(s.update_brief(**fields)))
    proposed = {k: v for k, v in fields.items() if v not in (None, "", []) and k != "music"}

    def guarded(s: Studio) -> str:
        brief = dict(s.session.draft)
        reading = read_for_chat(interviewer, message, proposed, brief, _asked(runtime))
        text = words.brief(s.update_brief(**reading.fields, music=music))
        return "\n".join([text, *reading.notes])

    return _safe(runtime, guarded)


def _messages(runtime: Runtime) -> list[BaseMessage]:
    state = runtime.state
    found = state.get("messages", []) if isinstance(state, dict) else []
    return [m for m in found if isinstance(m, BaseMessage)]


def _person_said(runtime: Runtime) -> str | None:
    """The person's newest message in the thread (what update_brief's fields must come from)."""
    person = [m for m in _messages(runtime) if isinstance(m, HumanMessage)]
    return str(person[-1].content) if person else None


def _asked(runtime: Runtime) -> str | None:
    """The brief field the assistant's last words asked about, when they used the director's
    question (an LLM's own wording is not parsed: the interviewer then reads without it)."""
    asked = conversation_state(_messages(runtime))[1]
    return asked if asked in FIELDS else None


@tool(response_format="content_and_artifact")
def show_brief(runtime: Runtime) -> Result:
    """Show the brief gathered so far and what is still missing."""
    return _safe(runtime, lambda s: words.brief(s.brief_view()))


@tool(response_format="content_and_artifact")
def plan_production(runtime: Runtime) -> Result:
    """Plan scenes and shots from the complete brief: provider per shot with its reason, prompt
    gaps, and the estimated price and time. Spends nothing. Call again after brief changes."""
    return _safe(runtime, lambda s: words.plan(s.plan()))


@tool(response_format="content_and_artifact")
def set_scenes(runtime: Runtime, scenes: list[SceneInput]) -> Result:
    """Replace the scene list with the person's scenes, then re-plan.

    Args:
        scenes: The scenes in order.
    """
    items = [s.model_dump(exclude_none=True) for s in scenes]
    return _safe(runtime, lambda s: words.plan_or_brief(s.set_scenes(items)))


@tool(response_format="content_and_artifact")
def edit_scene(
    runtime: Runtime,
    index: Annotated[int, Field(ge=1)],
    description: str | None = None,
    duration: float | None = None,
    dialogue: str | None = None,
    camera: str | None = None,
    transition: Transition | None = None,
) -> Result:
    """Change one scene (1-based index), then re-plan. Only the given fields change.

    Args:
        index: Scene number, from 1.
        description: New description.
        duration: New length in seconds.
        dialogue: New spoken words.
        camera: New camera move.
        transition: How the film goes into this scene: cut, dissolve or fade (via black).
    """
    changes = {"description": description, "duration": duration, "dialogue": dialogue}
    changes["camera"] = camera
    changes["transition"] = transition
    return _safe(runtime, lambda s: words.plan_or_brief(s.edit_scene(index, **changes)))


@tool(response_format="content_and_artifact")
def set_provider(runtime: Runtime, shot: str, provider: str) -> Result:
    """Override the video model for a shot ("1.2") or a whole scene ("2"), then re-plan.

    Args:
        shot: Shot id like "1.2" or scene number like "2".
        provider: One of veo, kling, runway, luma, pika, animatic.
    """
    return _safe(runtime, lambda s: words.plan(s.override_provider(shot, provider)))


@tool(response_format="content_and_artifact")
async def generate_takes(
    runtime: Runtime, takes: Annotated[int, Field(ge=1, le=20)] | None = None
) -> Result:
    """Render takes of every shot (only what is not rendered yet) and pick the best of each.
    May cost money: paid work waits for the person's approval. Call only after they agreed.

    Args:
        takes: Takes per shot (1-20); default from settings.
    """
    return await _asafe(runtime, lambda s: s.generate(takes), words.generated)


@tool(response_format="content_and_artifact")
def pick_take(runtime: Runtime, shot: str, take: Annotated[int, Field(ge=1)]) -> Result:
    """Use another take for a shot; takes are numbered best first.

    Args:
        shot: Shot id like "1.1".
        take: Take number, from 1 (the best).
    """
    return _safe(runtime, lambda s: words.picked(s.pick(shot, take)))


@tool(response_format="content_and_artifact")
async def export_video(runtime: Runtime) -> Result:
    """Cut the picked takes together, lay and level the sound, export every format, and record
    a new revision. Returns the exported file paths."""
    return await _asafe(runtime, lambda s: s.export(), words.exported)


@tool(response_format="content_and_artifact")
def finish_options(
    runtime: Runtime,
    stabilise: bool | None = None,
    fps: Literal[24, 48, 50, 60] | None = None,
    interpolation: Literal["fast", "best"] | None = None,
    uhd: bool | None = None,
    voiceover: str | None = None,
    subtitles: Literal["none", "burned", "sidecar"] | None = None,
    posters: bool | None = None,
    music_prompt: str | None = None,
    ambience: str | None = None,
) -> Result:
    """Set how the cut is finished: stabilisation, frame rate, UHD, voice-over, subtitles,
    posters, generated music and ambience. Free (no new renders), except generated sound from a
    paid service, which is priced here and approved at export; applied by the next
    export_video. Leave out what the person did not ask to change. Returns the options and
    what goes stale.

    Args:
        stabilise: True to steady shaky takes before the cut.
        fps: Frame rate of the master and exports: 48, 50 or 60 interpolates; 24 is the default.
        interpolation: "fast" (frame blending) or "best" (motion-compensated, much slower).
        uhd: True to also write a UHD (3840-class) file of every format.
        voiceover: Narration text to speak over the cut, music ducked under it; "" removes it.
        subtitles: "burned" into the picture, "sidecar" .srt files, or "none"; from the
            voice-over text, else the shots' dialogue.
        posters: True to write a JPEG poster frame next to each export.
        music_prompt: Music to generate (ElevenLabs) when the brief has no music file, e.g.
            "slow piano, hopeful"; "" removes it.
        ambience: Ambience and effects to generate under the cut, e.g. "rain on a tin roof,
            distant traffic"; "" removes it.
    """
    changes = {
        "stabilise": stabilise,
        "fps": fps,
        "interpolation": interpolation,
        "uhd": uhd,
        "voiceover": voiceover,
        "subtitles": subtitles,
        "posters": posters,
        "music_prompt": music_prompt,
        "ambience": ambience,
    }
    return _safe(runtime, lambda s: words.finishing_changed(s.set_finishing(**changes)))


@tool(response_format="content_and_artifact")
def export_timeline(runtime: Runtime, out: str | None = None) -> Result:
    """Write an OpenTimelineIO (.otio) timeline of the picked takes, whose clips point at the
    source take files, so an editor can re-cut it in DaVinci Resolve or Premiere. Free. Returns
    the file path.

    Args:
        out: Where to write it (a path ending in .otio); default: the project's folder.
    """
    return _safe(runtime, lambda s: words.timeline(s.export_timeline(out)))


@tool(response_format="content_and_artifact")
def revise_video(runtime: Runtime, request: str) -> Result:
    """Turn a revision request ("make it moodier", "warmer", "faster", "vertical") into a precise
    change, name what goes stale, and price two options: a free regrade or a re-render.

    Args:
        request: The person's words.
    """
    return _safe(runtime, lambda s: words.revision_offer(s.revise(request)))


@tool(response_format="content_and_artifact")
async def apply_revision(runtime: Runtime, option: Literal["regrade", "rerender"]) -> Result:
    """Apply the revision offered by revise_video: "regrade" (free, existing takes) or
    "rerender" (renders only the affected shots; may cost money and wait for approval).

    Args:
        option: "regrade" or "rerender".
    """
    return await _asafe(runtime, lambda s: s.apply_revision(option), words.exported)


@tool(response_format="content_and_artifact")
def add_reference(
    runtime: Runtime,
    path: str,
    kind: Literal["character", "environment", "style", "prop", "wardrobe"],
    name: str,
    description: str = "",
    library: bool = False,
) -> Result:
    """Keep an image (a photo, concept art, a frame grab) as a visual reference, so the shots that
    mention it stay consistent. Re-plan afterwards to use it.

    Args:
        path: Path of the image file on this machine.
        kind: What it shows.
        name: What the person calls it, e.g. "Mia" or "the rooftop".
        description: A canonical description, e.g. "a girl with a red scarf".
        library: True to share it across projects (the brand library).
    """
    return _safe(
        runtime,
        lambda s: words.reference_added(s.add_reference(path, kind, name, description, library)),
    )


@tool(response_format="content_and_artifact")
def find_references(runtime: Runtime, text: str) -> Result:
    """Search the project's and the library's references by meaning.

    Args:
        text: A mention or description, e.g. "the girl" or "neon street".
    """
    return _safe(runtime, lambda s: words.references_found(s.find_references(text)))


@tool(response_format="content_and_artifact")
def show_status(runtime: Runtime) -> Result:
    """The project's state: shots, picks, revisions, latest exports and spend."""
    return _safe(runtime, lambda s: words.status(s.status()))


ALL_TOOLS: list[BaseTool] = [
    update_brief,
    show_brief,
    set_scenes,
    edit_scene,
    plan_production,
    set_provider,
    generate_takes,
    pick_take,
    export_video,
    finish_options,
    export_timeline,
    revise_video,
    apply_revision,
    add_reference,
    find_references,
    show_status,
]

# Tools that can spend money, and how to price a call of each before it runs.
PAID_TOOLS = ("generate_takes", "apply_revision", "export_video")


class Unpriceable(Exception):
    """A paid tool call whose price cannot be worked out; it is refused, never run at $0."""


def price_of(studio: Studio, name: str, args: dict[str, object]) -> float:
    """What this tool call would spend, from the same quotes the tools use; raises
    `Unpriceable` with the reason when it cannot be priced (fails closed)."""
    try:
        if name == "generate_takes":
            takes = args.get("takes")
            try:
                count = (
                    int(str(takes)) if takes not in (None, "") else studio.services.settings.takes
                )
            except ValueError:
                raise StudioError(f"takes must be a whole number, got {takes!r}") from None
            if not 1 <= count <= 20:
                raise StudioError(f"takes per shot must be between 1 and 20, got {count}")
            return studio.quote_takes(count).cost_usd
        if name == "apply_revision":
            return studio.quote_revision(str(args.get("option"))).cost_usd
        if name == "export_video":
            return studio.quote_export().cost_usd
    except ACTIONABLE as exc:
        raise Unpriceable(str(exc)) from None
    return 0.0
