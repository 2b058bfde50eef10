"""The director's craft: beats, the prompt writer, routing by the seed's rules, take variations.

Each test names a failure the issue reported (#12 items 3-6) and fails if it comes back.
"""

from __future__ import annotations

import re

import pytest

from memory.briefs import load_brief, parse_brief
from memory.models import Brief, Shot
from tests.conftest import EXAMPLES
from tools.planner import plan_scenes, sentences, story_beats, story_scenes
from tools.prompting import build_prompt, direct, extract_components, quotes_balanced
from tools.providers.registry import Registry, default_profile
from tools.router import ShotNeeds, route
from tools.settings import Settings

LIMITS = {pid: default_profile(pid).prompt_max_chars for pid in ("veo", "kling", "luma", "pika")}
LIMITS["runway"] = 1000
KINDS = ("harbour-return.yaml", "pier-story.yaml", "lighthouse-idea.yaml", "story-only.yaml",
         "rooftop-sunset.yaml", "neon-tokyo.yaml", "anime-fox.yaml",
         "market-documentary.yaml")  # fmt: skip


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9'’-]+", text.lower())


def plan(brief: Brief, settings: Settings, **kw: object) -> list[Shot]:
    scenes = plan_scenes(brief, Registry(settings), **kw)  # type: ignore[arg-type]
    return [shot for scene in scenes for shot in scene.shots]


def harbour(settings: Settings, **kw: object) -> list[Shot]:
    return plan(load_brief(EXAMPLES / "harbour-return.yaml"), settings, **kw)


# ---------------------------------------------------------------------------- the prompt writer


def test_the_issue_brief_keeps_every_word_and_line_and_misses_nothing(settings: Settings) -> None:
    shots = harbour(settings)
    brief = load_brief(EXAMPLES / "harbour-return.yaml")
    assert brief.scenes is not None
    for spec, shot in zip(brief.scenes, shots, strict=True):
        assert shot.description == spec.description  # the record holds the words as written
        assert shot.dialogue == spec.dialogue
        assert shot.components.missing() == []
        assert quotes_balanced(shot.prompt)
        if shot.kind == "live":  # the prompt has every word the person wrote, in order
            assert spec.description[1:] in shot.prompt, shot.prompt
    dialogue, chase, crane, ink, _title = shots
    assert 'tells her father "You came back." and he answers softly' in dialogue.prompt
    assert "A slow dolly-in that turns into a crane up over the harbour" in crane.prompt
    assert crane.components.camera_movement == "slow dolly-in that turns into a crane up"
    assert "swirling ink and light" in ink.prompt


@pytest.mark.parametrize("name", KINDS)
def test_every_kind_of_brief_plans_with_all_eight_components_within_limits(
    name: str, settings: Settings
) -> None:
    brief = load_brief(EXAMPLES / name)
    for shot in plan(brief, settings):
        assert shot.components.missing() == [], (shot.id, shot.components)
        if shot.kind == "live":
            assert set(words(shot.description)) <= set(words(shot.prompt)), shot.id
        for provider, limit in LIMITS.items():
            prompt = build_prompt(
                shot.components, provider, dialogue=shot.dialogue, max_chars=limit
            )
            assert len(prompt) <= limit and quotes_balanced(prompt)


def test_shortening_keeps_the_persons_words_first() -> None:
    said = "A fisherman mends a net on the quay, " + ", ".join(
        f"gull number {i} circling" for i in range(60)
    )
    c = direct(said, style="realistic", mood="calm")
    for provider, limit in LIMITS.items():
        prompt = build_prompt(c, provider, max_chars=limit)
        assert len(prompt) <= limit
        if len(said) < limit - 20:
            assert said in prompt, provider  # the chosen words were dropped, not the person's
    short = build_prompt(c, "runway", max_chars=200)
    assert short.startswith("A fisherman mends a net on the quay") and len(short) <= 200
    quote = direct('She whispers "' + "stay " * 80 + 'please" at the door', style="s", mood="m")
    assert quotes_balanced(build_prompt(quote, "runway", max_chars=120))


def test_dialogue_reaches_the_models_that_speak_verbatim_with_the_speaker(
    settings: Settings,
) -> None:
    dialogue = harbour(settings)[0]
    assert dialogue.dialogue == "DAUGHTER: You came back.\nFATHER: I never really left."
    veo = build_prompt(dialogue.components, "veo", dialogue=dialogue.dialogue, max_chars=1024)
    via_runway = build_prompt(
        dialogue.components, "runway", model="veo3.1", dialogue=dialogue.dialogue, max_chars=1000
    )
    gen45 = build_prompt(
        dialogue.components, "runway", model="gen4.5", dialogue=dialogue.dialogue, max_chars=1000
    )
    for prompt in (veo, via_runway):
        assert 'Father says: "I never really left."' in prompt
        assert '"You came back."' in prompt
    assert "I never really left" not in gen45  # a silent model is not asked to speak
    lines = build_prompt(
        extract_components("two old friends on a bench"), "veo", dialogue="ANA: Hi.\nBo: Hey you."
    )
    assert lines.endswith('Ana says: "Hi." Bo says: "Hey you."')


@pytest.mark.parametrize(
    ("description", "absent", "present"),
    [
        ("a man reads by the window", "wind moving", ""),
        ("a vintage car parked in a garage", "traffic", ""),
        ("cars race down the highway at dusk", "", "traffic streaking past"),
        ("a crane stands in the marsh", "crane", ""),
        ("he fries eggs in a pan", "pan", ""),
        ("a train pulls into the station", "rain", ""),
        ("she waves goodbye from the porch", "waves rolling", ""),
        ("a storm: wind howls over the moor", "", "wind moving hair"),
    ],
)
def test_cues_match_whole_words_in_context(description: str, absent: str, present: str) -> None:
    c = extract_components(description)
    added = f"{c.camera_movement} | {c.motion_detail} | {c.lighting}".lower()
    if absent:
        assert absent not in added.replace(description.lower(), "")
    if present:
        assert present in added


def test_what_was_not_said_is_chosen_like_a_cinematographer() -> None:
    talk = direct("the two sisters argue in the kitchen", dialogue="A: No.\nB: Yes.", style="s")
    assert "medium two-shot" in talk.camera_movement and "static" in talk.camera_movement
    assert talk.lighting.startswith("motivated light")
    chase = direct("a boy chases his dog across the beach", style="realistic")
    assert re.search(r"tracking|handheld", chase.camera_movement)
    night_out = direct("a fox crosses an empty road at night", style="realistic")
    assert "moonlight" in night_out.lighting and "practical" in night_out.lighting
    night_in = direct("a woman reads in the attic at midnight", style="realistic")
    assert "practical lamps" in night_in.lighting
    ink = direct("swirling ink and light", style="experimental")
    assert ink.subject == "swirling ink and light" and "swirl" in ink.motion_detail
    assert direct("a drone shot over the valley", style="x").camera_movement == "drone shot"
    # what the person explicitly left open stays open (and is the only thing reported missing)
    assert direct("a quiet lake", camera="you choose").missing() == ["camera_movement"]


# ---------------------------------------------------------------------------- scene breakdown


def test_sentences_are_never_cut_inside_a_quote_and_replies_stay_with_their_line() -> None:
    story = (
        'On the pier the daughter tells her father "You came back. Really back." "I never left,"'
        " he says. Mr. Reyes watches from the boat. Then the ferry leaves!"
    )
    assert (
        sentences(story)[0]
        == 'On the pier the daughter tells her father "You came back. Really back."'
    )
    beats = story_beats(story)
    assert beats == [
        'On the pier the daughter tells her father "You came back. Really back." "I never left,"'
        " he says",
        "Mr. Reyes watches from the boat",
        "The ferry leaves!",
    ]
    first = story_scenes(story)[0]
    assert first.dialogue == "The daughter: You came back. Really back.\nHe: I never left"


def test_a_vague_idea_becomes_designed_scenes_not_identical_shots(settings: Settings) -> None:
    shots = plan(load_brief(EXAMPLES / "lighthouse-idea.yaml"), settings)
    assert [s.design for s in shots] == ["establishing", "action", "detail", "resolution"]
    assert sum(s.duration for s in shots) == pytest.approx(20)
    assert len({s.duration for s in shots}) > 1 and max(s.duration for s in shots) < 10
    assert len({s.components.camera_movement for s in shots}) == 4
    assert len({s.prompt for s in shots}) == 4
    idea = "A lighthouse keeper on his last night before the light is automated"
    # each beat says what it shows; the person's sentence stays verbatim in every shot record
    assert len({s.description for s in shots}) == 4
    assert all(idea in s.components.said and idea in s.prompt for s in shots)
    assert all("moonlight" in s.components.lighting or "night" in s.components.lighting
               for s in shots)  # fmt: skip


IDEAS = [
    "A lighthouse keeper on his last night before the light is automated.",
    "An old baker kneads dough in a tiny village bakery at dawn.",
    "a girl skateboarding through neon Tokyo streets at night",
    "A robot learns to paint a sunset on a rooftop.",
    "Two friends racing bikes down a mountain road",
    "my dog waiting at the window for the school bus",
    "A grandmother teaches her grandson to bake bread.",
    "coffee being poured in slow motion",
]


@pytest.mark.parametrize("idea", IDEAS)
def test_a_vague_idea_gives_beats_that_each_show_something_else(
    idea: str, settings: Settings
) -> None:
    brief = parse_brief(
        {"title": "t", "story": idea, "mood": "quiet", "style": "realistic", "duration": 20,
         "formats": ["16:9"], "audience": "a"}
    )  # fmt: skip
    shots = plan(brief, settings)
    assert [s.design for s in shots] == ["establishing", "action", "detail", "resolution"]
    descriptions = [s.description for s in shots]
    assert len(set(descriptions)) == 4, descriptions
    # no beat is the sentence again behind a label: each says what it shows
    label = re.compile(r"^(?:establishing shot|close detail|closing image):\s*", re.IGNORECASE)
    bodies = {" ".join(words(label.sub("", d))) for d in descriptions}
    assert len(bodies) == 4, descriptions
    sentence = set(words(idea))
    assert sum(set(words(d)) <= sentence for d in descriptions) == 1  # the action beat alone
    for shot in shots:
        assert shot.components.missing() == [], shot.id
        assert " ".join(idea.rstrip(".").split()).lower() in shot.components.said.lower()
        # built from the idea's own words: every beat names some of them
        content = {w for w in sentence if len(w) > 3}
        assert content & set(words(shot.description)), shot.description
        record = " ".join([shot.description, shot.components.said, shot.prompt]).lower()
        assert all(w in words(record) for w in words(shot.description))
    assert len({s.prompt for s in shots}) == 4


def test_a_long_scene_is_cut_into_shots_with_different_designs(settings: Settings) -> None:
    brief = parse_brief(
        {
            "title": "t", "story": "s", "mood": "calm", "style": "realistic", "duration": 25,
            "formats": ["16:9"], "audience": "a",
            "scenes": [{"description": "an old man walks along the harbour wall"}],
        }
    )  # fmt: skip
    shots = plan(brief, settings)
    assert [s.design for s in shots] == ["action", "establishing", "detail"]
    assert len({s.prompt for s in shots}) == 3


def test_a_story_with_scenes_keeps_them(settings: Settings) -> None:
    brief = load_brief(EXAMPLES / "rooftop-sunset.yaml")
    assert brief.scenes is not None
    shots = plan(brief, settings)
    assert [s.description for s in shots] == [s.description for s in brief.scenes]
    assert [s.duration for s in shots] == [4, 4, 4]


# ---------------------------------------------------------------------------- routing


def test_each_rule_routes_and_the_reason_names_it(settings: Settings) -> None:
    shots = harbour(settings)
    assert [s.preferred_provider for s in shots] == ["veo", "kling", "luma", "runway", "animatic"]
    reasons = [s.preferred_reason for s in shots]
    assert reasons[0].startswith("dialogue → Veo 3")
    assert reasons[1].startswith("chase or heavy motion → Kling")
    assert reasons[2].startswith("camera move with realism (slow dolly-in")
    assert reasons[3].startswith("abstract or experimental → Runway")
    assert reasons[4].startswith("title card → animatic")
    # no keys: the animatic renders, and the reason still says which rule fired and why not
    assert all(s.provider == "animatic" for s in shots)
    assert "veo is not configured" in shots[0].provider_reason
    story = plan(load_brief(EXAMPLES / "story-only.yaml"), settings)
    assert [s.preferred_provider for s in story] == ["pika", "veo", "pika", "pika"]
    assert story[1].preferred_reason.startswith("dialogue → Veo 3")


def test_veo_through_runway_when_only_a_runway_key_is_set(settings: Settings) -> None:
    settings.runwayml_api_secret = "k"  # type: ignore[assignment]
    shots = harbour(settings)
    talk = shots[0]
    assert (talk.preferred_provider, talk.provider, talk.model) == ("veo", "runway", "veo3.1")
    assert talk.provider_reason.startswith("via Runway veo3.1")
    assert 'Father says: "I never really left."' in talk.prompt and len(talk.prompt) <= 1000
    assert all(s.duration <= 8 for s in shots if s.dialogue)  # Veo renders up to 8 s
    # --provider 1=veo works whenever Veo can be reached
    forced = harbour(settings, overrides={"3": "veo"})[2]
    assert (forced.provider, forced.model) == ("runway", "veo3.1")
    # the other shots fall back to the Runway model that does not speak
    assert (shots[1].provider, shots[1].model) == ("runway", "gen4.5")


def test_route_with_override_and_no_veo_route_says_why(settings: Settings) -> None:
    c = direct("a woman says hello", style="realistic")
    needs = ShotNeeds(description="a woman says hello", components=c, duration=6, aspect="16:9")
    r = route(needs, Registry(settings), "veo")
    assert (r.preferred, r.provider) == ("veo", "animatic")
    assert "veo" in r.provider_reason and "animatic" in r.provider_reason


# ---------------------------------------------------------------------------- take variations


def test_five_takes_are_five_full_different_prompts(settings: Settings) -> None:
    for shot in harbour(settings, takes=5):
        assert [v.index for v in shot.variations] == [0, 1, 2, 3, 4]
        assert shot.variations[0].prompt == shot.prompt
        assert shot.variations[0].variation == "as written"
        if shot.kind == "live":
            assert len({v.prompt for v in shot.variations}) == 5
            assert len({v.variation for v in shot.variations}) == 5
            assert all(shot.description[1:] in v.prompt for v in shot.variations)
        limit = default_profile(shot.provider, shot.model).prompt_max_chars
        assert all(len(v.prompt) <= limit and quotes_balanced(v.prompt) for v in shot.variations)


def test_same_prompt_different_seeds_is_an_option(settings: Settings) -> None:
    for shot in harbour(settings, takes=3, variation_mode="seeds"):
        assert {v.prompt for v in shot.variations} == {shot.prompt}


def test_twenty_takes_stay_distinct(settings: Settings) -> None:
    shot = harbour(settings, takes=20)[1]
    assert len({v.prompt for v in shot.variations}) == 20


def test_each_take_sends_its_variation_prompt(settings: Settings) -> None:
    from tools.takes import request_for, shot_seed, take_input_hash

    settings.runwayml_api_secret = "k"  # type: ignore[assignment]
    shot = harbour(settings, takes=5)[1]
    sent = [request_for(shot, shot_seed(shot, i)).prompt for i in range(5)]
    assert sent == [v.prompt for v in shot.variations]
    assert request_for(shot, 12345, take=2).prompt == shot.variations[2].prompt
    assert request_for(shot, shot_seed(shot, 9)).prompt == shot.prompt  # beyond the plan
    assert len({take_input_hash(shot, i) for i in range(5)}) == 5
    # components changed after planning (a reference attached) reach every take's prompt
    anna = shot.components.model_copy(
        update={"subject": "Anna, red coat; " + shot.components.subject}
    )
    changed = shot.model_copy(update={"components": anna})
    assert all("Anna, red coat" in request_for(changed, 0, take=i).prompt for i in range(1, 5))


def test_the_runway_request_for_a_dialogue_shot_asks_veo_to_speak(settings: Settings) -> None:
    from pydantic import SecretStr

    from tools.providers.runway import RunwayProvider
    from tools.takes import request_for, shot_seed

    settings.runwayml_api_secret = SecretStr("k")
    talk = harbour(settings, takes=3)[0]
    for i in range(3):
        path, body = RunwayProvider(settings).payload(request_for(talk, shot_seed(talk, i)))
        assert (path, body["model"]) == ("v1/text_to_video", "veo3.1")
        assert body["duration"] in (4, 6, 8) and len(body["promptText"]) <= 1000
        assert 'Father says: "I never really left."' in body["promptText"]
        assert body["promptText"] == talk.variations[i].prompt


def test_one_sentence_with_then_is_split_only_where_each_part_has_a_subject() -> None:
    assert story_beats("A girl wakes up at dawn, then the bus arrives") == [
        "A girl wakes up at dawn",
        "The bus arrives",
    ]
    assert story_beats("A girl wakes up, makes coffee, then runs to catch the bus") == [
        "A girl wakes up, makes coffee, then runs to catch the bus"
    ]
    assert story_beats('She says "wait, then go" and leaves') == [
        'She says "wait, then go" and leaves'
    ]


def test_other_kinds_route_by_their_rules(settings: Settings) -> None:
    fox = plan(load_brief(EXAMPLES / "anime-fox.yaml"), settings)
    assert [s.preferred_provider for s in fox] == ["pika", "veo", "pika"]
    assert fox[1].preferred_reason.startswith("dialogue → Veo 3")
    market = plan(load_brief(EXAMPLES / "market-documentary.yaml"), settings)
    assert [s.preferred_provider for s in market] == ["veo", "kling", "runway", "kling", "kling"]
    assert market[3].preferred_reason.startswith("long continuous action (7s)")
    assert market[0].dialogue == "Forty years I've stood here, and the sea still surprises me."
    assert "Forty years I've stood here" in build_prompt(
        market[0].components, "veo", dialogue=market[0].dialogue, max_chars=1024
    )


def test_more_camera_words_river_runs_and_an_open_quote() -> None:
    from tools.prompting import camera_words, read_scene
    from tools.router import preferred_provider

    assert camera_words("the camera slowly circles the couple on the bridge") == (
        "camera slowly circles"
    )
    assert camera_words("a low-angle shot of the tower") == "low-angle shot"
    assert not read_scene("a river runs through the valley").action
    river = direct("a river runs through the valley", style="realistic")
    needs = ShotNeeds(description=river.said, components=river, duration=5, aspect="16:9")
    assert preferred_provider(needs)[0] != "kling"
    boy = direct("a boy runs home through the rain", style="realistic")
    needs = ShotNeeds(description=boy.said, components=boy, duration=5, aspect="16:9")
    assert preferred_provider(needs)[0] == "kling"
    opened = build_prompt(direct('She says "hello and walks away', style="s"), "kling")
    assert quotes_balanced(opened) and 'She says "hello and walks away"' in opened


@pytest.mark.parametrize(
    ("description", "subject", "verb", "environment"),
    [
        (
            "A mechanic works under a car in a dim garage",
            "A mechanic",
            "works",
            "under a car in a dim garage",
        ),
        ("Two friends talk in a dark kitchen", "Two friends", "talk", "in a dark kitchen"),
        ("Two old friends laugh", "Two old friends", "laugh", ""),
        ("Three kids run across a field", "Three kids", "run", "across a field"),
    ],
)
def test_components_read_chained_places_and_counted_subjects(
    description: str, subject: str, verb: str, environment: str
) -> None:
    """A place runs through chained prepositions ("under a car in a dim garage", not "under a
    car in"), and a counted plural is the subject, not its verb ("two friends talk")."""
    c = extract_components(description, style="cinematic", mood="calm")
    assert (c.subject, c.motion_detail.split(",")[0], c.environment) == (
        subject,
        verb,
        environment,
    )


def test_a_takes_variation_reaches_the_request_and_the_previz_move() -> None:
    """Take i is framed by its variation: the request's components carry the variation's
    camera (so the animatic performs another move, as a video model would), take 1 the
    written framing."""
    from pathlib import Path

    from tools.providers.animatic import renderer
    from tools.settings import Settings
    from tools.takes import request_for, shot_seed

    brief = load_brief(Path(EXAMPLES / "rooftop-sunset.yaml"))
    shot = plan_scenes(brief, Registry(Settings()), takes=5)[0].shots[0]
    requests = [request_for(shot, shot_seed(shot, i)) for i in range(5)]
    assert requests[0].components == shot.components
    moves = [renderer.camera_move(r.components.camera_movement) for r in requests]
    assert len(set(moves)) >= 3, moves
    assert [r.prompt for r in requests] == [shot.variations[i].prompt for i in range(5)]


def test_a_first_person_idea_becomes_third_person_in_the_beats_we_write() -> None:
    """'my grandma' means nothing to a video model: the beats reelforge writes say 'the
    grandma'; the person's own sentence (the action beat, and `said`) stays as written."""
    import re as _re

    from tools.planner import idea_beat, idea_parts

    idea = "My grandma bakes bread in our tiny kitchen at dawn."
    parts = idea_parts(idea)
    beats = {d: idea_beat(d, parts, idea) for d in ("establishing", "detail", "resolution")}
    for design, beat in beats.items():
        assert not _re.search(r"\b(?:my|our)\b", beat, _re.I), (design, beat)
        assert "grandma" in beat, (design, beat)
    assert idea_beat("action", parts, idea).startswith("My grandma bakes bread")


@pytest.mark.parametrize("duration", [12, 15, 20, 30, 45])
def test_designed_beats_are_timed_in_half_seconds_and_fill_the_film(duration: float) -> None:
    """An editor times beats in half seconds (4.5 s, not 4.688 s); together they are the film."""
    from tools.planner import story_scenes

    specs = story_scenes("A barista pours latte art while rain hits the window.", duration)
    lengths = [s.duration for s in specs]
    assert all(x is not None and (x * 2).is_integer() for x in lengths), lengths
    assert sum(x or 0 for x in lengths) == pytest.approx(duration)
