"""Model choice per shot by rules, then by what is actually configured and capable.

The rules say which provider a professional would prefer; the registry says which can run the
shot now. Both answers are kept with a one-line reason, so a fallback is never silent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memory.models import Aspect, PromptComponents
from tools.prompting import is_stylised
from tools.providers.base import CapabilityProfile
from tools.providers.registry import Registry, check_provider_id, default_profile

LONG_SHOT_S = 8.0
HEAVY_MOTION = re.compile(
    r"\b(?:run(?:s|ning)?|chase|chasing|danc(?:e|es|ing)|fight(?:s|ing)?|sprint(?:s|ing)?|"
    r"jump(?:s|ing)?|parkour|rac(?:e|es|ing)|crowd|sports?|skat(?:e|es|ing)|surf(?:s|ing)?|"
    r"explo(?:de|des|sion)|stampede|battle|acrobat\w*|spin(?:s|ning)?)\b",
    re.IGNORECASE,
)
AUDIO_CUES = re.compile(
    r"\b(?:says?|said|speaks?|speaking|talks?|talking|sings?|singing|dialogue|voice|shouts?|"
    r"whispers?|conversation|interview|narrat\w*|sound of|hear|audio)\b|\"[^\"]+\"",
    re.IGNORECASE,
)
REAL_CAMERA = re.compile(
    r"drone|aerial|push-in|pull-back|tracking|orbit|crane|handheld|pan|tilt|dolly", re.IGNORECASE
)
# When the preferred provider cannot run a shot, the closest configured alternative, in order.
NEAREST: dict[str, tuple[str, ...]] = {
    "veo": ("kling", "runway", "luma", "pika"),
    "kling": ("luma", "runway", "veo", "pika"),
    "runway": ("luma", "kling", "pika", "veo"),
    "luma": ("runway", "kling", "veo", "pika"),
    "pika": ("runway", "kling", "luma", "veo"),
}


@dataclass(frozen=True)
class Route:
    preferred: str
    preferred_reason: str
    provider: str
    provider_reason: str
    model: str


@dataclass(frozen=True)
class ShotNeeds:
    description: str
    components: PromptComponents
    duration: float
    aspect: Aspect
    dialogue: str | None = None
    kind: str = "live"
    references: int = 0


def preferred_provider(needs: ShotNeeds) -> tuple[str, str]:
    """The rules: (provider id, one-line reason)."""
    text = f"{needs.description} {needs.components.motion_detail}"
    look = f"{needs.components.style} {needs.components.realism}"
    if needs.kind == "title":
        return "animatic", "title card: typography is set in post, legible and free"
    if needs.dialogue:
        return "veo", "has dialogue: Veo 3 renders speech with native, lip-synced audio"
    if AUDIO_CUES.search(needs.description):
        return "veo", "sound is part of the shot: Veo 3 generates native audio"
    if is_stylised(look) or is_stylised(needs.description):
        return "pika", "stylised look: Pika is strongest on cartoon, anime and stylised motion"
    if needs.duration > LONG_SHOT_S:
        return "kling", f"long take ({needs.duration:g}s): Kling holds up to 10s continuous shots"
    if HEAVY_MOTION.search(text):
        return "kling", "heavy motion: Kling keeps fast body and crowd movement coherent"
    camera = needs.components.camera_movement
    if camera and REAL_CAMERA.search(camera):
        return "luma", f"realistic camera motion ({camera}): Luma Ray moves the camera physically"
    return "runway", "quick creative clip: Runway Gen-4.5 is fast and strong on a single beat"


def capability_gap(profile: CapabilityProfile, needs: ShotNeeds) -> str | None:
    """Why this model cannot render the shot, or None when it can."""
    if profile.fit_duration(needs.duration) is None:
        longest = max(profile.durations) if profile.durations else profile.max_duration
        return f"{profile.provider} renders at most {longest:g}s (shot is {needs.duration:g}s)"
    if needs.aspect not in profile.aspects:
        return f"{profile.provider} does not render {needs.aspect}"
    if needs.references > profile.max_reference_images:
        return (
            f"{profile.provider} takes {profile.max_reference_images} reference images "
            f"(shot has {needs.references})"
        )
    return None


def route(needs: ShotNeeds, registry: Registry, override: str | None = None) -> Route:
    """Preferred by rules (or the override), then the provider actually used, each with a reason."""
    if override is not None:
        preferred, why = check_provider_id(override), f"override: {override} chosen by you"
    else:
        preferred, why = preferred_provider(needs)
    problems: list[str] = []
    for pid in (preferred, *NEAREST.get(preferred, ())):
        blocked = registry.unavailable_reason(pid)
        if blocked is None:
            profile = default_profile(pid)
            blocked = capability_gap(profile, needs)
        if blocked is None:
            if pid == preferred:
                return Route(preferred, why, pid, "preferred provider is configured", profile.model)
            return Route(
                preferred,
                why,
                pid,
                f"{problems[0]}; {pid} is the closest configured",
                profile.model,
            )
        problems.append(blocked)
        if override is not None:
            break
    animatic = default_profile("animatic")
    if preferred == "animatic":
        return Route(preferred, why, "animatic", "rendered offline with ffmpeg", animatic.model)
    return Route(
        preferred,
        why,
        "animatic",
        f"{problems[0]}; the offline animatic previz stands in (free)",
        animatic.model,
    )
