"""The deterministic planner: a brief becomes scenes and shots with no LLM.

This is the offline director's core. Scenes come from the brief (or from the story's sentences),
durations fill the brief's length, each scene is cut into shots a provider can render, and every
shot gets its eight prompt components, a routed provider and a prompt in that provider's dialect.
"""

from __future__ import annotations

import math
import re

from memory.models import Aspect, Brief, Scene, SceneSpec, Shot
from tools.prompting import build_prompt, extract_components, is_title_shot
from tools.providers.registry import Registry, default_profile
from tools.router import ShotNeeds, route

MAX_SHOT_S = 10.0
MIN_SCENE_S = 0.5
MAX_STORY_SCENES = 6
WIDE_WORDS = re.compile(
    r"drone|aerial|wide|establishing|skyline|landscape|panorama|city|crowd|title", re.IGNORECASE
)

# "Then a drone flies over the city" is a scene about a drone, not about "then".
LEAD_WORDS = re.compile(r"^(?:and\s+)?(?:then|next|after that|finally|later|meanwhile)[,\s]+", re.I)


class PlanError(ValueError):
    """The brief cannot be planned as asked; the message says why."""


def story_scenes(story: str) -> list[SceneSpec]:
    """Scenes from a story: one per sentence (or line), at most MAX_STORY_SCENES."""
    parts = [p.strip() for p in re.split(r"(?<=[.!?;])\s+|\n+", story) if p.strip()]
    parts = [p.rstrip(".;") for p in parts if len(p.strip(".;! ")) > 2]
    parts = [LEAD_WORDS.sub("", p, count=1) for p in parts]
    parts = [p[0].upper() + p[1:] for p in parts if p]
    if len(parts) > MAX_STORY_SCENES:
        size = math.ceil(len(parts) / MAX_STORY_SCENES)
        parts = [". ".join(parts[i : i + size]) for i in range(0, len(parts), size)]
    return [SceneSpec(description=p) for p in parts] or [SceneSpec(description=story.strip())]


def scene_durations(specs: list[SceneSpec], total: float) -> list[float]:
    """Given durations are kept; the rest of `total` is shared by the scenes without one."""
    given = sum(s.duration or 0 for s in specs)
    open_scenes = [s for s in specs if s.duration is None]
    share = (total - given) / len(open_scenes) if open_scenes else 0.0
    if open_scenes and share < MIN_SCENE_S:
        raise PlanError(
            f"{len(open_scenes)} scenes without a duration share {total - given:g}s; "
            f"give each at least {MIN_SCENE_S:g}s (raise 'duration' or set scene durations)"
        )
    return [round(s.duration if s.duration is not None else share, 3) for s in specs]


def _shot_lengths(duration: float) -> list[float]:
    count = max(1, math.ceil(duration / MAX_SHOT_S - 1e-9))
    base = round(duration / count, 3)
    lengths = [base] * count
    lengths[-1] = round(duration - base * (count - 1), 3)
    return lengths


def plan_scenes(
    brief: Brief,
    registry: Registry,
    *,
    overrides: dict[str, str] | None = None,
    aspect: Aspect | None = None,
) -> list[Scene]:
    """Plan every scene and shot of `brief`. `overrides` maps a shot id (e.g. "2.1") or a
    scene number ("2") to a provider id."""
    overrides = dict(overrides or {})
    aspect = aspect or brief.formats[0]
    specs = brief.scenes or story_scenes(brief.story)
    context = f"{brief.style} {brief.mood}"
    scenes: list[Scene] = []
    for s_index, (spec, duration) in enumerate(
        zip(specs, scene_durations(specs, brief.duration), strict=True), start=1
    ):
        scene = Scene(
            index=s_index, description=spec.description, duration=duration, dialogue=spec.dialogue
        )
        for k, length in enumerate(_shot_lengths(duration), start=1):
            shot_id = f"{s_index}.{k}"
            title = is_title_shot(spec.description)
            components = extract_components(
                spec.description,
                style=brief.style,
                mood=brief.mood,
                camera=spec.camera,
                context=context,
            )
            if title:
                components = components.model_copy(
                    update={
                        "subject": f'the title "{brief.title}"',
                        "environment": components.environment
                        or "a clean field in the film's palette",
                        "lighting": components.lighting or "soft, even light",
                        "camera_movement": components.camera_movement or "slow push-in",
                        "motion_detail": "letters fade in",
                    }
                )
            needs = ShotNeeds(
                description=spec.description,
                components=components,
                duration=length,
                aspect=aspect,
                dialogue=spec.dialogue,
                kind="title" if title else "live",
            )
            override = overrides.get(shot_id) or overrides.get(str(s_index)) or spec.provider
            chosen = route(needs, registry, override)
            profile = default_profile(chosen.provider, chosen.model)
            shot = Shot(
                id=shot_id,
                scene_index=s_index,
                index=k,
                kind="title" if title else "live",
                description=spec.description,
                components=components,
                duration=length,
                aspect=aspect,
                dialogue=spec.dialogue,
                text_overlay=brief.title if title else spec.description,
                preferred_provider=chosen.preferred,
                preferred_reason=chosen.preferred_reason,
                provider=chosen.provider,
                provider_reason=chosen.provider_reason,
                model=chosen.model,
                override=override,
                reframe="pad" if title or WIDE_WORDS.search(spec.description) else "crop",
                # the way into the scene, on its first shot; the film's first shot has none
                transition=spec.transition if k == 1 and s_index > 1 else "cut",
            )
            shot.prompt = build_prompt(
                components,
                chosen.provider,
                dialogue=spec.dialogue,
                title=brief.title if title else None,
                max_chars=profile.prompt_max_chars,
            )
            scene.shots.append(shot)
        scenes.append(scene)
    unknown = (
        set(overrides)
        - {s.id for sc in scenes for s in sc.shots}
        - {str(sc.index) for sc in scenes}
    )
    if unknown:
        raise PlanError(f"no shot or scene {', '.join(sorted(unknown))} to override")
    return scenes
