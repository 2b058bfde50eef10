"""Words up, logic down: the studio hands back typed results and `agent.conversation.words` says
them. These pin the sentences the studio used to write (word for word) and that no public studio
operation returns a sentence any more."""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path

from agent.conversation import words
from memory.models import Finishing, Grade
from tests.test_engine_paths import planned  # noqa: F401  (the fixture)
from tools.production.pricing import Quote
from tools.production.revision import RevisionPlan
from tools.studio import (
    BriefView,
    BudgetView,
    ExportResult,
    FinishingView,
    GenerateResult,
    PickResult,
    PlanView,
    PriceChanged,
    ReferenceAdded,
    ReferenceHit,
    ReferenceMatches,
    RevisionOffer,
    ShotTakes,
    StatusView,
    Studio,
    TimelineResult,
)

# The engine's one refusal reason (the same line `make --budget` prints), not chat's words.
REASONS = {"budget_problem"}


def test_no_studio_operation_returns_a_sentence() -> None:
    """A public method that returns `str` (or `str | X`) would be a sentence written in tools/:
    it goes in agent/conversation/words.py instead, and the method returns data."""
    checked = 0
    for name, fn in inspect.getmembers(Studio, inspect.isfunction):
        if name.startswith("_") or name in REASONS:
            continue
        returns = typing.get_type_hints(fn).get("return")
        union = typing.get_origin(returns) in (typing.Union, types.UnionType)
        assert returns is not str and not (union and str in typing.get_args(returns)), name
        checked += 1
    assert checked > 20


def test_the_brief_words() -> None:
    view = BriefView(
        {"story": "A girl on a roof.", "duration": 15.0, "formats": ["9:16"], "platform": "reels"},
        ["mood", "style", "audience"],
        "9:16",
    )
    assert words.brief(view) == (
        "Brief so far:\n- story: A girl on a roof.\n- duration: 15s\n- formats: 9:16\n"
        "- platform: reels\n(format 9:16 from the platform (say if you want others))\n"
        "Still missing: mood, style, audience. Ask for mood next."
    )
    done = BriefView({"story": "x", "scenes": [{}, {}]}, [])
    assert words.brief(done).splitlines()[-2:] == [
        "- scenes: 2 given",
        "The brief is complete: plan it next.",
    ]
    assert words.status(StatusView(done)) == words.brief(done)


def test_takes_pick_export_and_timeline_words() -> None:
    result = GenerateResult(
        [ShotTakes("1.1", 3, 2, 0.8123, ["soft"], "scarf colour"), ShotTakes("1.2", 1, 1, 0.5, [])],
        1.5,
        [],
        "no ffmpeg",
    )
    assert words.generated(result) == (
        "Rendered takes for 2 shot(s); spent $1.50.\n"
        "- shot 1.1: 3 take(s); picked take 2, score 0.81 (soft)\n  drift: scarf colour\n"
        "- shot 1.2: 1 take(s); picked take 1, score 0.50\n"
        "Export next, or pick other takes.\n(No contact sheets this time: no ffmpeg.)"
    )
    sheets = GenerateResult([], 0.0, [("1.1", Path("/s/1.png"))])
    assert words.generated(sheets).splitlines()[-2:] == [
        "Contact sheets (each shot's takes side by side; pick one by its take number):",
        "- shot 1.1: /s/1.png",
    ]
    assert words.price_changed(PriceChanged("1.2", 0.5, 0.25)) == (
        "A new take of shot 1.2 now costs $0.50, not $0.25; nothing was rendered."
    )
    assert words.picked(PickResult("1.1", 2, "t-1")) == (
        "Shot 1.1 now uses take 2 (t-1). Export to see it cut."
    )
    export = ExportResult(3, "exported from chat", [Path("/o/a.mp4")], ["no subtitles"])
    assert words.exported(export) == (
        "Exported revision 3 (exported from chat):\n- /o/a.mp4\nNote: no subtitles"
    )
    assert words.timeline(TimelineResult(Path("/o/a.otio"), 4)).startswith(
        "Wrote the timeline /o/a.otio: 4 clip(s) pointing at the source takes;"
    )


def test_finishing_words_name_what_goes_stale_and_what_sound_costs() -> None:
    look = Finishing(fps=48, voiceover="Hi")
    same = words.finishing_changed(FinishingView(look, [], Quote(0.0, 0.0)))
    assert same == (
        "Finishing: not stabilised, 48 fps (fast interpolation), no UHD, voice-over: 'Hi', "
        "subtitles: none, no posters.\nNothing changed."
    )
    paid = Quote(0.01, 1.0, parts={"voice (openai)": 0.01})
    said = words.finishing_changed(FinishingView(look, ["voiceover", "fps"], paid)).splitlines()
    assert said[1] == (
        "Changed: voiceover, fps. Stale: the master's frame rate and the exports; the soundtrack "
        "(voice-over and ducked music) and the exports. Free: no new renders, except generated "
        "sound: voice (openai) $0.0100, asked for approval at export; the takes and every other "
        "cached step are reused. Export to apply it."
    )


def test_revision_offer_words_end_with_the_cue_the_director_drops() -> None:
    change = RevisionPlan(
        request="make it warmer",
        label="warmer",
        grade=Grade(temperature=0.25),
        mood="hopeful",
        style="cinematic",
        duration=15,
        formats=["9:16"],
        phrases=["warmer"],
    )
    offer = RevisionOffer(change, 2, False, Quote(0.0, 1.0, [], 0))
    lines = words.revision_offer(offer).splitlines()
    assert lines[0] == "Change for 'make it warmer' (warmer):"
    assert lines[3] == "Blast radius: the exports of the current cut go stale (2 file(s))."
    assert lines[4].startswith("Option a) regrade: not possible")
    assert lines[5] == "Option b) re-render: no shot's inputs change, so it equals option a."
    assert lines[-1] == words.REVISION_CUE
    priced = RevisionOffer(change, 2, True, Quote(2.4, 90.0, ["1.1"], 1))
    assert words.revision_offer(priced).splitlines()[5] == (
        "Option b) re-render shots 1.1 with the new prompts (takes of those shots go stale; the "
        "rest are kept): $2.40 for 1 shot(s), 1 take(s) reused, about 90s."
    )


def test_reference_status_and_budget_words() -> None:
    assert words.reference_added(ReferenceAdded("character", "Mia", "mia-1", None, False)) == (
        "Added character reference 'Mia' (mia-1) to the library (the same image was already "
        "there). Re-plan to use it."
    )
    assert words.references_found(ReferenceMatches("x", False, [])) == (
        "There are no references yet."
    )
    assert words.references_found(ReferenceMatches("x", True, [])) == "No reference matches 'x'."
    hit = ReferenceHit("Mia", "character", "mia-1", "a girl", 0.5)
    assert words.references_found(ReferenceMatches("x", True, [hit])) == (
        "- Mia (character, mia-1): a girl [similarity 0.50]"
    )
    view = StatusView(None, "p", "T", 2, 1, 1, 0.5, (1, [Path("/o/a.mp4")]), "warmer")
    assert words.status(view) == (
        'Project p "T": 2 shot(s), 1 with a picked take; 1 revision(s); spent $0.50.\n'
        "Latest exports (revision 1):\n- /o/a.mp4\nWaiting for a choice on: warmer"
    )
    assert words.budget(BudgetView(None, 1.0)) == "no budget cap set; $1.00 spent so far"
    assert words.budget(BudgetView(2.0, 2.5)) == "budget $2.00, $2.50 spent, $0.00 left"


def test_a_plan_is_data_and_its_words_name_each_shot(planned: Studio) -> None:  # noqa: F811
    studio = planned
    view = studio.plan()
    assert isinstance(view, PlanView)
    shots = view.production.shots()
    lines = words.plan(view).splitlines()
    assert lines[0] == 'Plan for "A Girl on a Rooftop at Sunset" (1s, 16:9), 1 scene(s):'
    assert [line.split(" (")[0] for line in lines if line.startswith("- shot")] == [
        f"- shot {s.id}" for s in shots
    ]
    assert lines[-1] == (
        f"Estimated cost of the default takes per shot: {words.quote(view.quote)}."
    )
    # a scene edit answers with the plan again once the brief is complete
    assert isinstance(studio.edit_scene(1, camera="slow push-in"), PlanView)


def test_approval_words_name_the_price_the_cap_and_the_answers() -> None:
    question = words.spend_question("generate_takes", {"takes": 2}, 1.92, BudgetView(5.0, 1.0))
    assert question == (
        "Spend $1.92 on generate_takes {'takes': 2}? (budget $5.00, $1.00 spent, $4.00 left)"
    )
    assert words.spend_question("export_video", {}, 0.5, BudgetView(None, 0.0)) == (
        "Spend $0.50 on export_video? (no budget cap set; $0.00 spent so far)"
    )
    assert words.approval_question(question).endswith(
        "left) Reply 'approve', 'reject [why]' or 'edit takes=N'."
    )
