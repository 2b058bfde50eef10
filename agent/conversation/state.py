"""The thread's state as data: what every chat tool hands back beside its sentence.

Words up, logic down: a tool's sentence is for the person (or a language model) to read; the
offline director decides from this typed state, carried as the ToolMessage artifact (and, when
history is summarised, as one JSON line in the summary), never by parsing the sentences.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from pydantic import BaseModel, Field, ValidationError

from tools.studio import Studio

Phase = Literal["interview", "planned", "rendered", "exported", "revising"]
STATE_LINE = "Thread state (JSON): "


class SceneState(BaseModel):
    """One scene as the brief and the plan hold it."""

    index: int
    description: str
    duration: float
    dialogue: str | None = None
    camera: str | None = None
    transition: str | None = None
    providers: dict[str, str] = Field(default_factory=dict, description="shot id -> provider")

    def spec(self, with_duration: bool = True) -> dict[str, Any]:
        """The scene as `set_scenes` takes it: dialogue and camera travel with the scene."""
        out: dict[str, Any] = {"description": self.description}
        for name in ("dialogue", "camera", "transition"):
            value = getattr(self, name)
            if value and str(value).strip() and not (name == "transition" and value == "cut"):
                out[name] = value
        if with_duration:
            out["duration"] = self.duration
        return out


class ThreadState(BaseModel):
    """Where one thread's production stands."""

    brief: dict[str, Any] = Field(default_factory=dict, description="Brief fields so far.")
    missing: list[str] = Field(default_factory=list, description="Required fields, in order.")
    phase: Phase = "interview"
    scenes: list[SceneState] = Field(default_factory=list)
    revision_request: str | None = None
    revision_options: list[str] = Field(default_factory=list)
    approval: Literal["approved", "rejected"] | None = None
    error: str | None = Field(default=None, description="The tool's failure, if it failed.")

    def line(self) -> str:
        """The state as one JSON line (for a summary)."""
        return STATE_LINE + self.model_dump_json(exclude_defaults=True)


def of_studio(studio: Studio, error: str | None = None) -> ThreadState:
    """The state of `studio`'s thread, from its public accessors."""
    session = studio.session
    draft = dict(session.draft)
    missing = studio.missing()
    project = studio.project()
    if project is None:
        return ThreadState(brief=draft, missing=missing, error=error)
    store = studio.services.store
    production = store.working(project.id)
    specs: list[dict[str, Any]] = list(draft.get("scenes") or [])
    scenes = []
    for i, scene in enumerate(production.scenes):
        spec = specs[i] if i < len(specs) and len(specs) == len(production.scenes) else {}
        first = scene.shots[0] if scene.shots else None
        scenes.append(
            SceneState(
                index=i + 1,
                description=str(spec.get("description") or scene.description),
                duration=round(scene.duration, 3),
                dialogue=spec.get("dialogue") or scene.dialogue,
                camera=spec.get("camera"),
                transition=spec.get("transition") or (first.transition if first else None),
                providers={shot.id: shot.provider for shot in scene.shots},
            )
        )
    shots = production.shots()
    rendered = bool(shots) and all(s.id in production.picks for s in shots)
    pending = session.pending_revision
    phase: Phase = "planned"
    if pending:
        phase = "revising"
    elif rendered and production.exports:
        phase = "exported"
    elif rendered:
        phase = "rendered"
    decisions = [e for e in store.spend(project.id) if e.kind in ("approval", "rejection")]
    approval: Literal["approved", "rejected"] | None = None
    if decisions:
        approval = "approved" if decisions[-1].kind == "approval" else "rejected"
    return ThreadState(
        brief=draft,
        missing=missing,
        phase=phase,
        scenes=scenes,
        revision_request=str(pending["request"]) if pending else None,
        revision_options=["regrade", "rerender"] if pending else [],
        approval=approval,
        error=error,
    )


def _parse(raw: Any) -> ThreadState | None:
    try:
        return ThreadState.model_validate(raw)
    except ValidationError:
        return None


def from_summary(text: str) -> ThreadState | None:
    """The state line a summary carries, if any."""
    for line in text.splitlines():
        if line.startswith(STATE_LINE):
            try:
                return _parse(json.loads(line[len(STATE_LINE) :]))
            except json.JSONDecodeError:
                return None
    return None


def _is_summary(message: HumanMessage, summary_head: str) -> bool:
    # LangChain's summarisation wraps the summary in its own lead-in and marks its source.
    marked = message.additional_kwargs.get("lc_source") == "summarization"
    return marked or summary_head in str(message.content)


def latest(messages: Sequence[BaseMessage], summary_head: str) -> ThreadState | None:
    """The newest state in the thread: the last tool artifact, else a summary's state line."""
    for message in reversed(messages):
        if isinstance(message, ToolMessage) and isinstance(message.artifact, dict):
            state = _parse(message.artifact)
            if state is not None:
                return state
        elif isinstance(message, HumanMessage) and _is_summary(message, summary_head):
            return from_summary(str(message.content))
    return None
