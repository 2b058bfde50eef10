"""Every sentence a chat tool says: the production's typed results, put in words.

Words up, logic down: `tools.studio.Studio` returns small typed results (`BriefView`, `PlanView`,
`GenerateResult`, ...); the chat tools, the Slack worker and the board turn them into the words
the person (or a language model) reads here, in one place. Nothing decides from these sentences:
the offline director reads the thread's typed state (`agent.conversation.state`).
"""

from __future__ import annotations

from typing import Any

from memory.models import Finishing
from tools.production.pricing import Quote
from tools.studio import (
    REQUIRED,
    BriefView,
    BudgetView,
    ExportResult,
    FinishingView,
    GenerateResult,
    PickResult,
    PlanView,
    PriceChanged,
    ReferenceAdded,
    ReferenceMatches,
    RevisionOffer,
    StatusView,
    TimelineResult,
)

# The cue to a language model that closes a revision offer; the offline director asks its own
# question instead and drops this line from what the person reads.
REVISION_CUE = "Ask which option to apply."

# What each finishing option makes stale at the next export.
STALE_BY_OPTION = {
    "stabilise": "the master (the takes are stabilised once, then cached)",
    "fps": "the master's frame rate and the exports",
    "interpolation": "the master's frame rate and the exports",
    "uhd": "the UHD files",
    "voiceover": "the soundtrack (voice-over and ducked music) and the exports",
    "subtitles": "the subtitles of the exports",
    "posters": "the posters",
    "music_prompt": "the soundtrack (generated music) and the exports",
    "ambience": "the soundtrack (generated ambience) and the exports",
}


def quote(q: Quote) -> str:
    """`$1.20 for 2 shot(s), 1 take(s) reused, about 40s`."""
    what = f"{len(q.shots)} shot(s)" if q.shots else "nothing new"
    money = "free" if q.cost_usd == 0 else f"${q.cost_usd:.2f}"
    extra = f", {q.reused} take(s) reused" if q.reused else ""
    return f"{money} for {what}{extra}, about {q.seconds:.0f}s"


def brief(view: BriefView) -> str:
    """The brief so far, then what to ask next (or that it is ready to plan)."""
    draft = view.draft
    lines = ["Brief so far:"]
    for name in ("title", *REQUIRED, "platform", "music"):
        if name in draft:
            value = draft[name]
            if name == "formats":
                value = ", ".join(value)
            elif name == "duration":
                value = f"{value:g}s"
            lines.append(f"- {name}: {value}")
    if draft.get("scenes"):
        lines.append(f"- scenes: {len(draft['scenes'])} given")
    if view.implied_format:
        lines.append(f"(format {view.implied_format} from the platform (say if you want others))")
    if view.missing:
        lines.append(f"Still missing: {', '.join(view.missing)}. Ask for {view.missing[0]} next.")
    else:
        lines.append("The brief is complete: plan it next.")
    return "\n".join(lines)


def plan(view: PlanView) -> str:
    """Each shot with its provider and why, prompt gaps, and the price of the takes."""
    production = view.production
    b = production.brief
    lines = [
        f'Plan for "{b.title}" ({b.duration:g}s, {", ".join(b.formats)}), '
        f"{len(production.scenes)} scene(s):"
    ]
    for shot in production.shots():
        used = shot.provider
        why = shot.preferred_reason
        if used != shot.preferred_provider:
            why += f"; using {used}: {shot.provider_reason}"
        lines.append(
            f"- shot {shot.id} ({shot.duration:g}s, {used}): {shot.description}. Why: {why}"
        )
        if shot.components.missing():
            lines.append(f"  missing prompt components: {', '.join(shot.components.missing())}")
    per_shot = f"{view.takes} take(s) per shot" if view.takes else "the default takes per shot"
    lines.append(f"Estimated cost of {per_shot}: {quote(view.quote)}.")
    return "\n".join(lines)


def plan_or_brief(view: PlanView | BriefView) -> str:
    """A scene change re-plans when the brief is complete, else shows the brief."""
    return plan(view) if isinstance(view, PlanView) else brief(view)


def generated(result: GenerateResult) -> str:
    """What rendered, what was picked, what it cost, and where each contact sheet is."""
    lines = [f"Rendered takes for {len(result.shots)} shot(s); spent ${result.spent_usd:.2f}."]
    for shot in result.shots:
        notes = f" ({'; '.join(shot.qc_notes)})" if shot.qc_notes else ""
        if shot.best is not None:
            lines.append(
                f"- shot {shot.shot_id}: {shot.takes} take(s); kept the current pick, take "
                f"{shot.picked}; the best scored is take {shot.best}, score {shot.score:.2f}{notes}"
            )
        else:
            lines.append(
                f"- shot {shot.shot_id}: {shot.takes} take(s); picked take {shot.picked}, "
                f"score {shot.score:.2f}{notes}"
            )
        if shot.drift:
            lines.append(f"  drift: {shot.drift}")
    lines.append("Export next, or pick other takes.")
    if result.sheet_error is not None:
        lines.append(f"(No contact sheets this time: {result.sheet_error}.)")
    elif result.sheets:
        lines.append(
            "Contact sheets (each shot's takes side by side; pick one by its take number):"
        )
        lines += [f"- shot {shot_id}: {path}" for shot_id, path in result.sheets]
    return "\n".join(lines)


def picked(result: PickResult) -> str:
    return (
        f"Shot {result.shot_id} now uses take {result.take_number} ({result.take_id}). "
        "Export to see it cut."
    )


def price_changed(exc: PriceChanged) -> str:
    return (
        f"A new take of shot {exc.shot_id} now costs ${exc.now_usd:.2f}, not "
        f"${exc.shown_usd:.2f}; nothing was rendered."
    )


def exported(result: ExportResult) -> str:
    files = "\n".join(f"- {p}" for p in result.files)
    said = "".join(f"\nNote: {n}" for n in result.notes)
    return f"Exported revision {result.revision} ({result.note}):\n{files}{said}"


def finishing(look: Finishing) -> str:
    """The finishing options in words."""
    parts = [
        "stabilised" if look.stabilise else "not stabilised",
        f"{look.fps} fps ({look.interpolation} interpolation)" if look.fps else "24 fps",
        "UHD files too" if look.uhd else "no UHD",
        f"voice-over: {look.voiceover!r}" if look.voiceover else "no voice-over",
        f"subtitles: {look.subtitles}",
        "posters" if look.posters else "no posters",
    ]
    if look.music_prompt:
        parts.append(f"music: {look.music_prompt!r}")
    if look.ambience:
        parts.append(f"ambience: {look.ambience!r}")
    return "Finishing: " + ", ".join(parts) + "."


def finishing_changed(view: FinishingView) -> str:
    """The options, what changed, what goes stale, and what the next export costs."""
    lines = [finishing(view.finishing)]
    if not view.changed:
        lines.append("Nothing changed.")
        return "\n".join(lines)
    stale = sorted({STALE_BY_OPTION[k] for k in view.changed})
    sound = view.sound
    cost = (
        f"Free: no new renders, except generated sound: "
        f"{', '.join(f'{k} ${v:.4f}' for k, v in sound.parts.items())}, asked for approval "
        "at export"
        if sound.cost_usd
        else "Free: no new renders"
    )
    lines.append(
        f"Changed: {', '.join(view.changed)}. Stale: {'; '.join(stale)}. {cost}; "
        "the takes and every other cached step are reused. Export to apply it."
    )
    return "\n".join(lines)


def timeline(result: TimelineResult) -> str:
    return (
        f"Wrote the timeline {result.path}: {result.clips} clip(s) pointing at the source "
        "takes; open it in DaVinci Resolve or Premiere (via OTIO) to re-cut."
    )


def revision_offer(offer: RevisionOffer) -> str:
    """The change, its blast radius, and the two options with their prices."""
    change = offer.change
    g = change.grade
    lines = [
        f"Change for {change.request!r} ({change.label}):",
        f"- grade: brightness {g.brightness:+.2f}, contrast x{g.contrast:.2f}, "
        f"saturation x{g.saturation:.2f}, temperature {g.temperature:+.2f}"
        + (f", LUT {g.lut}" if g.lut else ""),
        f"- brief: mood '{change.mood}', style '{change.style}', "
        f"{change.duration:g}s, formats {', '.join(change.formats)}",
        f"Blast radius: the exports of the current cut go stale ({offer.stale_exports} file(s)).",
    ]
    if offer.regrade_possible:
        lines.append(
            "Option a) regrade: re-cut and regrade the existing takes. Free, no new renders."
        )
    else:
        lines.append(
            "Option a) regrade: not possible, the change needs footage that does not exist."
        )
    rerender = offer.rerender
    if rerender.shots:
        lines.append(
            f"Option b) re-render shots {', '.join(rerender.shots)} with the new prompts "
            f"(takes of those shots go stale; the rest are kept): {quote(rerender)}."
        )
    else:
        lines.append("Option b) re-render: no shot's inputs change, so it equals option a.")
    lines.append(REVISION_CUE)
    return "\n".join(lines)


def reference_added(added: ReferenceAdded) -> str:
    where = "the library" if added.project_id is None else f"project {added.project_id}"
    again = "" if added.created else " (the same image was already there)"
    return (
        f"Added {added.kind} reference {added.name!r} ({added.id}) to {where}{again}. "
        "Re-plan to use it."
    )


def references_found(found: ReferenceMatches) -> str:
    if not found.searched:
        return "There are no references yet."
    if not found.hits:
        return f"No reference matches {found.text!r}."
    return "\n".join(
        f"- {h.name} ({h.kind}, {h.id}): {h.description} [similarity {h.similarity:.2f}]"
        for h in found.hits
    )


def status(view: StatusView) -> str:
    """The project's shots, picks, revisions, spend and latest exports (the brief before)."""
    if view.brief is not None:
        return brief(view.brief)
    lines = [
        f'Project {view.project_id} "{view.title}": {view.shots} shot(s), '
        f"{view.picked} with a picked take; {view.revisions} revision(s); "
        f"spent ${view.spent_usd:.2f}.",
    ]
    if view.latest is not None:
        number, files = view.latest
        lines.append(f"Latest exports (revision {number}):")
        lines += [f"- {p}" for p in files]
    if view.pending_request:
        lines.append(f"Waiting for a choice on: {view.pending_request}")
    return "\n".join(lines)


def spend_question(tool: str, args: dict[str, Any], price: float, cap: BudgetView) -> str:
    """ "Spend $X on tool {args}? (budget ...)": the price, and the cap with what is left."""
    what = f"Spend ${price:.2f} on {tool} {args or ''}".strip() + "?"
    return f"{what} ({budget(cap)})"


def approval_question(description: str) -> str:
    """A waiting approval, with the answers the terminal chat understands."""
    return f"{description} Reply 'approve', 'reject [why]' or 'edit takes=N'."


def budget(view: BudgetView) -> str:
    """The cap and what is left of it, for an approval question."""
    cap, spent = view.cap_usd, view.spent_usd
    if cap is None:
        return f"no budget cap set; ${spent:.2f} spent so far"
    return f"budget ${cap:.2f}, ${spent:.2f} spent, ${max(0.0, cap - spent):.2f} left"
