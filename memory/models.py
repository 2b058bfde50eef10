"""The production record: every object reelforge plans, pays for, renders or exports.

Pure data. Nothing here touches the network or the disk; the store persists these models.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Aspect = Literal["9:16", "16:9", "1:1"]
ASPECTS: tuple[Aspect, ...] = ("9:16", "16:9", "1:1")
EXPORT_SIZES: dict[str, tuple[int, int]] = {
    "9:16": (1080, 1920),
    "16:9": (1920, 1080),
    "1:1": (1080, 1080),
}
PROVIDER_IDS: tuple[str, ...] = ("veo", "kling", "runway", "luma", "pika", "animatic")

MAX_BRIEF_DURATION_S = 600.0
MIN_SCENE_S = 1.0  # the shortest scene (and brief) reelforge plans: shorter is one frame of video
MAX_SCENES = 40
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 (not tab/newline), DEL, C1
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_text(value: object, *, one_line: bool) -> object:
    """A person's text checked before it is stored or printed: stripped, never blank, and free
    of terminal escape codes and control characters (a one-line field has no line breaks)."""
    if not isinstance(value, str):
        return value
    pattern = _ANY_CONTROL if one_line else _CONTROL
    if pattern.search(value):
        what = "line breaks or control characters" if one_line else "control characters"
        raise ValueError(f"must not contain {what} (terminal escape codes)")
    text = value.strip()
    if not text:
        raise ValueError("must not be blank")
    return text


def no_bool(value: object) -> object:
    """YAML reads `true` as a bool, which pydantic would take as 1 second."""
    if isinstance(value, bool):
        raise ValueError("must be a number of seconds, not true/false")
    return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def aspect_tag(aspect: str) -> str:
    """`9:16` -> `9x16`, the form used in file names."""
    return aspect.replace(":", "x")


def stable_hash(payload: Any) -> str:
    """A short content hash of JSON-able data: the key that makes artifacts reusable."""
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --------------------------------------------------------------------------- brief


Transition = Literal["cut", "dissolve", "fade"]
"""How a scene begins: a hard cut, a dissolve from the previous scene, or a fade through black."""


class SceneSpec(Strict):
    """A scene as a person writes it in a brief."""

    description: str = Field(min_length=1, max_length=2000)
    duration: float | None = Field(default=None, ge=MIN_SCENE_S, le=120)
    dialogue: str | None = Field(default=None, max_length=2000)
    camera: str | None = Field(default=None, max_length=200)
    provider: str | None = Field(default=None, description="Override the routed provider.")
    transition: Transition = Field(
        default="cut",
        description="Into this scene from the previous one: cut, dissolve, or fade (via black).",
    )

    @field_validator("description", "dialogue", mode="before")
    @classmethod
    def _clean_text(cls, v: object) -> object:
        return clean_text(v, one_line=False)

    @field_validator("camera", mode="before")
    @classmethod
    def _clean_line(cls, v: object) -> object:
        return clean_text(v, one_line=True)

    @field_validator("duration", mode="before")
    @classmethod
    def _no_bool(cls, v: object) -> object:
        return no_bool(v)

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, v: str | None) -> str | None:
        if v is not None and v not in PROVIDER_IDS:
            raise ValueError(f"unknown provider {v!r}; use one of {', '.join(PROVIDER_IDS)}")
        return v


class Finishing(Strict):
    """Finishing steps applied at assembly and export: free to change, no new renders.

    The defaults leave the cut as it is; each step's output is cached by a hash of its inputs."""

    stabilise: bool = Field(default=False, description="Stabilise each picked take first.")
    fps: Literal[48, 50, 60] | None = Field(
        default=None, description="Interpolate the master to this frame rate; None keeps 24."
    )
    interpolation: Literal["fast", "best"] = Field(
        default="fast", description="fast: frame blending; best: motion-compensated (slow)."
    )
    uhd: bool = Field(default=False, description="Also write a UHD (3840-class) file per format.")
    voiceover: str | None = Field(
        default=None, max_length=5000, description="Narration text spoken over the cut."
    )
    subtitles: Literal["none", "burned", "sidecar"] = "none"
    posters: bool = Field(default=False, description="A JPEG poster next to each export.")
    music_prompt: str | None = Field(
        default=None,
        max_length=2000,
        description="Music to generate (ElevenLabs) when the brief gives no music file.",
    )
    ambience: str | None = Field(
        default=None,
        max_length=1000,
        description="Ambience and sound effects to generate under the cut (ElevenLabs).",
    )

    @field_validator("voiceover", "music_prompt", "ambience")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return " ".join(v.split()) or None if v is not None else None


class Brief(Strict):
    """What the video is: the interview's result or a YAML brief file."""

    title: str = Field(min_length=1, max_length=200)
    story: str = Field(min_length=1, max_length=5000)
    mood: str = Field(min_length=1, max_length=200)
    style: str = Field(min_length=1, max_length=300)
    duration: float = Field(ge=MIN_SCENE_S, le=MAX_BRIEF_DURATION_S, description="Seconds.")
    formats: list[Aspect] = Field(min_length=1)
    audience: str = Field(min_length=1, max_length=300)
    platform: str | None = Field(default=None, max_length=100)
    music: Path | None = None
    scenes: list[SceneSpec] | None = Field(default=None, max_length=MAX_SCENES)
    finishing: Finishing | None = Field(
        default=None, description="Finishing options to start the production with."
    )

    @field_validator("title", "mood", "style", "audience", "platform", mode="before")
    @classmethod
    def _clean_line(cls, v: object) -> object:
        return clean_text(v, one_line=True)

    @field_validator("story", mode="before")
    @classmethod
    def _clean_text(cls, v: object) -> object:
        return clean_text(v, one_line=False)

    @field_validator("duration", mode="before")
    @classmethod
    def _no_bool(cls, v: object) -> object:
        return no_bool(v)

    @field_validator("formats")
    @classmethod
    def _dedupe_formats(cls, v: list[Aspect]) -> list[Aspect]:
        return list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _scene_durations_fit(self) -> Brief:
        if self.scenes:
            given = sum(s.duration or 0 for s in self.scenes)
            if given > self.duration + 0.01:
                raise ValueError(
                    f"scene durations add up to {given:g}s, more than the brief's {self.duration:g}s"
                )
        return self


# --------------------------------------------------------------------------- plan


class PromptComponents(Strict):
    """The eight components of a professional video prompt; empty means unknown."""

    subject: str = ""
    environment: str = ""
    camera_movement: str = ""
    lighting: str = ""
    style: str = ""
    realism: str = ""
    motion_detail: str = ""
    emotional_tone: str = ""
    said: str = Field(
        default="",
        description="The person's own words for the shot, kept verbatim at the head of every "
        "prompt built from these components (not one of the eight).",
    )
    left_open: list[str] = Field(
        default_factory=list,
        description="Components the person explicitly left open: reported missing, not filled.",
    )

    def missing(self) -> list[str]:
        return [name for name in COMPONENT_NAMES if not str(getattr(self, name)).strip()]


COMPONENT_NAMES: tuple[str, ...] = (
    "subject",
    "environment",
    "camera_movement",
    "lighting",
    "style",
    "realism",
    "motion_detail",
    "emotional_tone",
)


class Variation(Strict):
    """One take's design: take 0 is the framing as written, later takes another angle, camera
    movement or light. `prompt` is the full prompt that take sends."""

    index: int = Field(ge=0)
    variation: str
    prompt: str
    camera_movement: str = ""
    lighting: str = ""
    emotional_tone: str = ""


class Shot(Strict):
    id: str
    scene_index: int
    index: int
    kind: Literal["live", "title"] = "live"
    description: str
    components: PromptComponents
    duration: float = Field(gt=0)
    aspect: Aspect
    dialogue: str | None = None
    text_overlay: str | None = None
    reference_ids: list[str] = Field(default_factory=list)
    preferred_provider: str
    preferred_reason: str
    provider: str
    provider_reason: str
    model: str | None = None
    override: str | None = None
    prompt: str = ""
    reframe: Literal["crop", "pad"] = "crop"
    subject_x: float = Field(default=0.5, ge=0, le=1)
    transition: Transition = "cut"
    """Into this shot from the one before; only a scene's first shot (not the film's) has one."""
    design: str = Field(
        default="", description="The shot's job in its scene: establishing, action, detail, ..."
    )
    variations: list[Variation] = Field(
        default_factory=list, description="One per take, in take order (take 0 first)."
    )


class Scene(Strict):
    index: int
    description: str
    duration: float = Field(gt=0)
    dialogue: str | None = None
    shots: list[Shot] = Field(default_factory=list)


class Grade(Strict):
    """A colour grade applied at assembly: free to change, no re-render."""

    name: str = "neutral"
    brightness: float = Field(default=0.0, ge=-1, le=1)
    contrast: float = Field(default=1.0, ge=0, le=3)
    saturation: float = Field(default=1.0, ge=0, le=3)
    temperature: float = Field(default=0.0, ge=-1, le=1, description="-1 cool .. +1 warm")
    lut: str | None = Field(default=None, description="A look LUT by name, e.g. moody, warm.")


# --------------------------------------------------------------------------- takes and spend


class TakeStatus(StrEnum):
    PLANNED = "planned"
    SUBMITTING = "submitting"  # recorded before the submit call: the outcome may be unknown
    SUBMITTED = "submitted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Take(Strict):
    id: str
    project_id: str
    shot_id: str
    provider: str
    model: str | None = None
    job_id: str | None = None
    seed: int
    input_hash: str
    status: TakeStatus = TakeStatus.PLANNED
    cost_usd: float = 0.0
    file: Path | None = None
    qc_notes: list[str] = Field(default_factory=list)
    score: float | None = None
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class SpendEntry(Strict):
    project_id: str
    kind: Literal["estimate", "approval", "rejection", "submit", "refund", "unknown", "refused"]
    """`unknown`: a take's price held from just before its submit until the provider's answer is
    known (counted as spent, so a lost answer keeps its charge); it becomes `submit` when the job
    is found and `refused` (not counted) when the provider surely did not accept it."""
    amount_usd: float
    provider: str | None = None
    job_id: str | None = None
    take_id: str | None = None
    note: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class Reference(Strict):
    id: str
    kind: Literal["character", "environment", "style", "prop", "wardrobe"]
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)

    @field_validator("name", mode="before")
    @classmethod
    def _clean_name(cls, v: object) -> object:
        return clean_text(v, one_line=True)

    @field_validator("description", mode="before")
    @classmethod
    def _clean_description(cls, v: object) -> object:
        return clean_text(v, one_line=False) if v else v

    file: Path | None = None
    sha256: str | None = None
    project_id: str | None = None
    thumbnail: Path | None = None


# --------------------------------------------------------------------------- project and revisions


class Production(Strict):
    """Everything one revision of a project holds; a revision is an immutable snapshot of this."""

    brief: Brief
    scenes: list[Scene] = Field(default_factory=list)
    grade: Grade = Field(default_factory=Grade)
    finishing: Finishing = Field(default_factory=Finishing)
    picks: dict[str, str] = Field(default_factory=dict, description="shot id -> take id")
    master: Path | None = None
    exports: list[Path] = Field(default_factory=list)

    def shots(self) -> list[Shot]:
        return [shot for scene in self.scenes for shot in scene.shots]

    def shot(self, shot_id: str) -> Shot:
        for shot in self.shots():
            if shot.id == shot_id:
                return shot
        raise KeyError(shot_id)


class Revision(Strict):
    project_id: str
    number: int
    note: str
    production: Production
    created_at: datetime = Field(default_factory=utcnow)


class Project(Strict):
    id: str
    slug: str
    title: str
    created_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- conversations


class ChatSession(Strict):
    """What a conversation thread is working on: its project, the brief being drafted, and a
    revision offered but not yet chosen. The messages themselves live in the checkpointer."""

    thread_id: str
    project_id: str | None = None
    draft: dict[str, Any] = Field(default_factory=dict, description="Brief fields gathered so far.")
    overrides: dict[str, str] = Field(default_factory=dict, description="shot/scene -> provider")
    pending_revision: dict[str, Any] | None = None
    updated_at: datetime = Field(default_factory=utcnow)
