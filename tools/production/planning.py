"""One plan for chat and `make`: a brief's scenes and shots routed and prompted, references
attached, picks kept where a shot's inputs did not change; and the provider fallback."""

from __future__ import annotations

from memory.models import Brief, Production, Shot
from tools.planner import plan_scenes, reprompt
from tools.production.services import Services
from tools.providers.registry import Registry, default_profile
from tools.router import NEAREST, ShotNeeds, capability_gap
from tools.takes import take_input_hash


def plan(
    brief: Brief,
    services: Services,
    overrides: dict[str, str] | None = None,
    *,
    old: Production | None = None,
    project_id: str | None = None,
    takes: int | None = None,
    notes: list[str] | None = None,
) -> Production:
    """The production a brief describes: its scenes and shots routed and prompted, and the
    brief's finishing options (if it gives any) as the production's finishing. With `old` (a
    re-plan), the grade and finishing carry over and so does every pick whose shot's inputs
    are unchanged. `takes` sizes each shot's variation plan (one full prompt per take). With an
    LLM configured, scenes and shot components are drafted through it (tools.drafting); why
    its answer was not used is appended to `notes`. Raises `tools.planner.PlanError` / `UnknownProvider` as the planner does."""
    from tools.drafting import drafter_from_settings
    from tools.references import with_references

    drafter = drafter_from_settings(services.settings)
    production = Production(
        brief=brief,
        scenes=plan_scenes(
            brief, services.registry, overrides=overrides, takes=takes, drafter=drafter
        ),
    )
    if drafter is not None and notes is not None:
        notes.extend(drafter.take_notes())
    if brief.finishing is not None:
        production.finishing = brief.finishing.model_copy()
    production = with_references(production, services.settings, project_id, services.refs)
    if old is None:
        return production
    return keep_picks(production, old)


def keep_picks(production: Production, old: Production) -> Production:
    """`production` with `old`'s grade, finishing and the picks of unchanged shots."""
    kept = {}
    for shot in production.shots():
        try:
            before = old.shot(shot.id)
        except KeyError:
            continue
        if shot.id in old.picks and take_input_hash(shot, 0) == take_input_hash(before, 0):
            kept[shot.id] = old.picks[shot.id]
    return production.model_copy(
        update={"grade": old.grade, "finishing": old.finishing, "picks": kept}
    )


def subset(production: Production, shot_ids: set[str]) -> Production:
    """The production with only the shots in `shot_ids` (for rendering part of it)."""
    return production.model_copy(
        update={
            "scenes": [
                sc.model_copy(update={"shots": [s for s in sc.shots if s.id in shot_ids]})
                for sc in production.scenes
            ]
        }
    )


def fallback_shot(shot: Shot, registry: Registry, why: str) -> Shot | None:
    """The shot re-routed to the closest configured provider that can render it (the router's
    NEAREST order and capability check), with a reason saying what happened; None when there
    is none."""
    needs = ShotNeeds(
        description=shot.description,
        components=shot.components,
        duration=shot.duration,
        aspect=shot.aspect,
        dialogue=shot.dialogue,
        kind=shot.kind,
        references=len(shot.reference_ids),
    )
    for pid in NEAREST.get(shot.provider, ()):
        if registry.unavailable_reason(pid) is not None:
            continue
        profile = default_profile(pid)
        if capability_gap(profile, needs) is not None:
            continue
        moved = shot.model_copy(
            update={
                "provider": pid,
                "model": profile.model,
                "provider_reason": f"fell back from {shot.provider} ({why}); {pid} is the "
                "closest configured",
            }
        )
        return reprompt(moved)
    return None


def replace_shots(production: Production, new: dict[str, Shot]) -> Production:
    scenes = [
        sc.model_copy(update={"shots": [new.get(s.id, s) for s in sc.shots]})
        for sc in production.scenes
    ]
    return production.model_copy(update={"scenes": scenes})
