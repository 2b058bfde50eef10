"""Model choice per shot by rules, then by what is actually configured and capable.

The rules say which provider a professional would prefer; the registry says which can run the
shot now. Both answers are kept with a one-line reason, so a fallback is never silent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memory.models import Aspect, PromptComponents
from tools.prompting import is_stylised, unquoted
from tools.providers.base import CapabilityProfile
from tools.providers.registry import Registry, check_provider_id, default_profile

LONG_SHOT_S = 8.0
HEAVY_MOTION = re.compile(
    r"\b(?:(?<!river )(?<!road )(?<!path )(?<!trail )(?<!stream )run(?:s|ning)?|ran|chase[sd]?|"
    r"chasing|pursu(?:e|es|it|ing)|flee(?:s|ing)?|danc(?:e|es|ing)|fight(?:s|ing)?|sprint(?:s|ing)?|"
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
    r"\b(?:drone|aerial|push(?:es|ing)?[- ]?in|pull(?:s|ing)?[- ]?back|tracking|orbit\w*|crane|"
    r"handheld|pans?|panning|tilts?|dolly(?:-in|-out)?|jib|steadicam|flyover)\b",
    re.IGNORECASE,
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


RULES: dict[str, tuple[str, str]] = {
    # rule id: (provider, "rule → model (why)"), in the order they are tried
    "title": ("animatic", "title card → animatic (typography is set in post, legible and free)"),
    "dialogue": ("veo", "dialogue → Veo 3 (speaks the line with lip-synced native audio)"),
    "speech": ("veo", "speech or sound → Veo 3 (generates native audio)"),
    "stylised": ("pika", "stylised, cartoon or anime → Pika (strongest on stylised motion)"),
    "abstract": ("runway", "abstract or experimental → Runway Gen-4.5 (fast, bold on one beat)"),
    "action": ("kling", "chase or heavy motion → Kling (keeps fast movement coherent)"),
    "long": ("kling", "long continuous action → Kling (holds continuous takes up to 10 s)"),
    "camera": ("luma", "camera move with realism → Luma Ray (moves the camera physically)"),
    "quick": ("runway", "short, quick clip → Runway Gen-4.5 (fast and strong on one beat)"),
}
LONG_TAKE = re.compile(
    r"\b(?:unbroken|continuous|uninterrupted|long take|one take|single take|oner|one shot)\b",
    re.IGNORECASE,
)
ABSTRACT_CLIP = re.compile(
    r"\b(?:abstract|swirl\w*|ink|particles?|fractal\w*|kaleidoscop\w*|experimental|"
    r"geometric|morph\w*|liquid|light trails?|glitch\w*)\b",
    re.IGNORECASE,
)


def which_rule(needs: ShotNeeds) -> str:
    """The id of the first rule in RULES that the shot meets."""
    text = unquoted(needs.description)
    look = f"{needs.components.style} {needs.components.realism}"
    camera = needs.components.camera_movement
    if needs.kind == "title":
        return "title"
    if needs.dialogue:
        return "dialogue"
    if AUDIO_CUES.search(needs.description):
        return "speech"
    if is_stylised(look) or is_stylised(text):
        return "stylised"
    if ABSTRACT_CLIP.search(text):
        return "abstract"
    if HEAVY_MOTION.search(text):  # the words, not the verb lifted from them out of context
        return "action"
    if needs.duration > LONG_SHOT_S or LONG_TAKE.search(text):
        return "long"
    if camera and REAL_CAMERA.search(camera):
        return "camera"
    return "quick"


def preferred_provider(needs: ShotNeeds) -> tuple[str, str]:
    """The rules: (provider id, "rule → model (why)")."""
    rule = which_rule(needs)
    provider, reason = RULES[rule]
    if rule == "long":
        reason = reason.replace("continuous action", f"continuous action ({needs.duration:g}s)")
    elif rule == "camera":
        reason = reason.replace(
            "with realism", f"with realism ({needs.components.camera_movement})"
        )
    return provider, reason


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


VEO_VIA_RUNWAY = "veo3.1"


def _veo_via_runway(registry: Registry, needs: ShotNeeds) -> CapabilityProfile | None:
    """Runway's Veo model when a Runway key can run this shot, else None."""
    if registry.unavailable_reason("runway") is not None:
        return None
    profile = default_profile("runway", VEO_VIA_RUNWAY)
    return profile if capability_gap(profile, needs) is None else None


def route(needs: ShotNeeds, registry: Registry, override: str | None = None) -> Route:
    """Preferred by rules (or the override), then the provider actually used, each with a reason.

    Veo is reached directly (Vertex AI) when configured, else through Runway's `veo3.1` when a
    Runway key is set; the reason names the route.
    """
    if override is not None:
        preferred, why = check_provider_id(override), f"override: {override} chosen by you"
    else:
        preferred, why = preferred_provider(needs)
    problems: list[str] = []
    for pid in (preferred, *NEAREST.get(preferred, ())):
        blocked = registry.unavailable_reason(pid)
        profile = default_profile(pid)
        if blocked is None:
            blocked = capability_gap(profile, needs)
        if blocked is None:
            how = f"via Vertex AI {profile.model}" if pid == "veo" else ""
            if pid == preferred:
                said = how or "preferred provider is configured"
                return Route(preferred, why, pid, said, profile.model)
            return Route(
                preferred,
                why,
                pid,
                f"{problems[0]}; {pid} is the closest configured",
                profile.model,
            )
        if pid == "veo":
            runway = _veo_via_runway(registry, needs)
            if runway is not None:
                reason = f"via Runway {runway.model} ({blocked})"
                if pid != preferred:
                    reason = f"{problems[0]}; Veo via Runway {runway.model} is the closest"
                return Route(preferred, why, "runway", reason, runway.model)
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
