"""The deterministic planner: a brief becomes scenes and shots with no LLM.

This is the offline director's core. Scenes come from the brief, or from the story's beats (whole
sentences, never cut inside a quote; a reply stays with the line it answers; a one-line idea
becomes an establishing, action, detail and resolution scene). Durations fill the brief's length,
each scene is cut into shots a provider can render with a distinct design per shot, and every
shot gets its eight prompt components, a routed provider, a prompt in that provider's dialect and
one full prompt per take (its variation plan).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Literal, Protocol

from memory.models import Aspect, Brief, PromptComponents, Scene, SceneSpec, Shot, Variation
from tools.prompting import (
    build_prompt,
    direct,
    is_title_shot,
    plan_variations,
    read_scene,
    split_action,
    unquoted,
    with_variation,
)
from tools.providers.registry import Registry, default_profile
from tools.router import ShotNeeds, route

MAX_SHOT_S = 10.0
MAX_SPOKEN_SHOT_S = 8.0  # Veo renders 4, 6 or 8 s: a dialogue scene is cut to fit
MIN_SCENE_S = 0.5
MAX_STORY_SCENES = 6
VAGUE_IDEA_MIN_S = 10.0  # a one-line idea this long becomes several designed scenes
PAID_TAKES = 5  # variations planned per shot when the caller does not say (as tools.takes)
FREE_TAKES = 1
WIDE_WORDS = re.compile(
    r"drone|aerial|wide|establishing|skyline|landscape|panorama|city|crowd|title", re.IGNORECASE
)
VariationMode = Literal["angles", "seeds"]

# "Then a drone flies over the city" is a scene about a drone, not about "then".
LEAD_WORDS = re.compile(r"^(?:and\s+)?(?:then|next|after that|finally|later|meanwhile)[,\s]+", re.I)
# A sentence ends at . ! ? (after any closing quote), never inside a quote or after "Mr."
_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|Mt|Jr|Sr|vs|etc|e\.g|i\.e)\.$", re.IGNORECASE)
# "he replies", "she answers": a sentence that only answers the line before belongs to its beat
_REPLY = re.compile(
    r"^\s*(?:\"[^\"]*\"|“[^”]*”)\s*,?\s*(?:\w+\s+){0,3}?(?:says?|said|repl(?:y|ies|ied)|answers?|"
    r"answered|whispers?|asks?|adds?|shouts?)\b|^\s*(?:\"[^\"]*\"|“[^”]*”)\s*$",
    re.IGNORECASE,
)
_THEN = re.compile(r"\s*(?:,|;)?\s+(?:and\s+)?then\s+|\s*;\s+", re.IGNORECASE)
_OWN_SUBJECT = re.compile(
    r"^(?:(?:the|a|an|he|she|they|it|we|i|his|her|their|its|our|[A-Z][a-z]+)\b)"
)
DESIGNS = ("establishing", "action", "detail", "resolution")
DESIGN_SHARE = {"establishing": 0.25, "action": 0.3, "detail": 0.2, "resolution": 0.25}
DESIGN_FRAMING = {
    "establishing": "wide establishing shot",
    "action": "medium shot on the action",
    "detail": "close-up detail",
    "resolution": "closing wide shot",
    "dialogue": "medium two-shot",
}
DESIGN_LEAD = {
    "establishing": "Establishing shot: ",
    "action": "",
    "detail": "Close detail: ",
    "resolution": "Closing image: ",
}


class PlanError(ValueError):
    """The brief cannot be planned as asked; the message says why."""


def sentences(text: str) -> list[str]:
    """Whole sentences of `text`: split after . ! ? (and any closing quote) or a line break,
    never inside quoted speech and never after an abbreviation."""
    out: list[str] = []
    buf: list[str] = []
    quoted = False
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        buf.append(ch)
        if ch in '"“”':
            quoted = (not quoted) if ch == '"' else ch == "“"
        end_here = False
        if ch == "\n" and not quoted:
            end_here = True
        elif ch in ".!?;" and not quoted:
            while i + 1 < n and text[i + 1] in "\"”’')":
                i += 1
                buf.append(text[i])
                if text[i] in '"”':
                    quoted = False
            nxt = text[i + 1] if i + 1 < n else " "
            end_here = nxt.isspace() and not _ABBREV.search("".join(buf).strip())
        elif ch in '"”' and not quoted and len(buf) > 1 and buf[-2] in ".!?":
            # "You came back." "I never left," he says: a closing quote after a full stop ends
            # the sentence when the next one starts (a capital or another quote)
            rest = text[i + 1 :].lstrip()
            end_here = bool(rest) and (rest[0].isupper() or rest[0] in '"“')
        if end_here:
            out.append("".join(buf).strip())
            buf = []
        i += 1
    tail = "".join(buf).strip()
    if tail:
        out.append(tail)
    return [s for s in out if s.strip(".;!? ")]


def quotes_balanced_all(parts: list[str]) -> bool:
    return all(p.count('"') % 2 == 0 for p in parts)


def _tidy(part: str) -> str:
    part = part.strip()
    if part.endswith((".", ";")) and not part.endswith(".."):
        part = part[:-1].rstrip()
    part = LEAD_WORDS.sub("", part, count=1)
    return part[:1].upper() + part[1:] if part else part


def _story_dialogue(beat: str) -> str | None:
    """The quoted lines of a beat, one a line, with the speaker when the sentence names one."""
    lines = []
    for sentence in sentences(beat):
        subject = split_action(sentence)[0]
        for m in re.finditer(r"\"([^\"]+)\"|“([^”]+)”", sentence):
            words = (m.group(1) or m.group(2)).strip().rstrip(",;")
            speaker = subject[:1].upper() + subject[1:] if subject else ""
            lines.append(f"{speaker}: {words}" if speaker else words)
    return "\n".join(lines) or None


def story_beats(story: str) -> list[str]:
    """The story's beats: whole sentences, a reply kept with the line it answers, at most
    MAX_STORY_SCENES (neighbours merged, nothing dropped)."""
    beats: list[str] = []
    whole = sentences(story)
    if len(whole) == 1:  # "she wakes, makes coffee, then runs for the bus": one beat per "then"
        parts = [p for p in _THEN.split(whole[0]) if p.strip(" ,.;")]
        subjects = all(_OWN_SUBJECT.match(p.strip()) for p in parts[1:])
        if len(parts) > 1 and subjects and quotes_balanced_all(parts):
            whole = parts
    for sentence in whole:
        if beats and _REPLY.search(sentence):
            beats[-1] = f"{beats[-1]} {sentence}"
        else:
            beats.append(sentence)
    parts = [_tidy(b) for b in beats if len(b.strip(".;!? ")) > 2]
    parts = [p for p in parts if p]
    if len(parts) > MAX_STORY_SCENES:
        size = math.ceil(len(parts) / MAX_STORY_SCENES)
        parts = [". ".join(parts[i : i + size]) for i in range(0, len(parts), size)]
    return parts


_IDEA_TIME = re.compile(
    r"\b(?:at|in|by|during)\s+(?:the\s+)?(?:dawn|dusk|night|midnight|noon|midday|sunset|sunrise|"
    r"daybreak|twilight|nightfall|morning|evening|afternoon|golden hour|first light|last light)\b",
    re.IGNORECASE,
)
_IDEA_PLACE = re.compile(
    r"\b(?:on|in|inside|at|over|through|across|along|down|up|under|by|near|into|onto|around|"
    r"beside|outside|above|past)\s+((?:(?:the|a|an|his|her|their|its|my|our|your)\s+)?"
    r"[\w'-]+(?:\s+(?!(?:and|while|as|with|for|before|after|to|who|which|where|when|that|is|are|"
    r"was|were|at|in|on|by|from|of)\b)[\w'-]+){0,4})",
    re.IGNORECASE,
)
# Head nouns that make a phrase a time or a manner, not a place ("on his last night")
_NOT_A_PLACE = re.compile(
    r"\b(?:night|day|days|evening|morning|afternoon|week|year|years|life|lifetime|motion|moment|"
    r"time|way|mind|dream|dreams|own|first|last|turn|fire|love|silence|slow|style)$",
    re.IGNORECASE,
)
_NP_STOP = re.compile(
    r"^(?:on|in|inside|at|over|through|across|along|down|up|under|by|near|into|onto|around|"
    r"beside|outside|above|past|for|before|after|while|as|with|and|or|but|to|of|from|is|are|was|"
    r"were|be|being|been|gets?|who|which|that|where|when|then)$",
    re.IGNORECASE,
)
_DET = r"(?:the|a|an|his|her|their|its|my|our|your)"
_PASSIVE = re.compile(r"^(?:being|is|are|was|were|gets?|getting|been)$", re.IGNORECASE)
_LIVING = re.compile(
    r"(?:er|or|ist|ian|ess|man|men|woman|women|girl|girls|boy|boys|child|children|kid|kids|"
    r"friend|friends|couple|family|people|person|mum|mom|dad|son|daughter|grandson|"
    r"granddaughter|wife|husband|dog|dogs|cat|cats|bird|birds|horse|fox|bear|robot|chef|nurse|"
    r"monk|knight|queen|king|i|we|he|she|they)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class IdeaParts:
    """The nouns and verbs of a one-line idea that its designed beats are built from."""

    subject: str
    verb: str  # as the idea says it: "kneads", "racing"; a passive's participle: "poured"
    action: str  # the verb and what follows it up to a place or time: "kneads dough"
    thing: str  # the key object: "dough", "the light", "a sunset"
    place: str  # the place without its preposition: "a tiny village bakery"
    time: str  # "at dawn", "on his last night"
    passive: bool = False

    def spoken_of(self) -> IdeaParts:
        """The parts as the film's own description says them: "my grandma" is "the grandma"
        to a video model, which does not know who "my" is (the person's sentence itself stays
        verbatim in the shot's `said`)."""

        def third(text: str) -> str:
            return re.sub(r"\b(?:my|our)\b", "the", text, flags=re.IGNORECASE) if text else text

        return dataclasses.replace(
            self,
            subject=third(self.subject),
            action=third(self.action),
            thing=third(self.thing),
            place=third(self.place),
            time=third(self.time),
        )


def _gerund(verb: str) -> str:
    low = verb.lower()
    if low.endswith("ing") or not low:
        return low
    if low.endswith("ies"):
        return low[:-3] + "ying"
    if low.endswith("es") and low[:-2].endswith(("sh", "ch", "ss", "x", "z")):
        low = low[:-2]
    elif low.endswith("s") and not low.endswith("ss"):
        low = low[:-1]
    if low.endswith("ie"):
        return low[:-2] + "ying"
    if low.endswith("e") and not low.endswith(("ee", "ye", "oe")):
        return low[:-1] + "ing"
    if re.fullmatch(r"[^aeiou]*[aeiou][^aeiouwxy]", low) and len(low) <= 4:
        return low + low[-1] + "ing"
    return low + "ing"


def _noun_phrase(words: list[str], most: int = 4) -> str:
    """The words up to the first preposition, verb-ish or joining word."""
    kept: list[str] = []
    for word in words[:most]:
        bare = word.strip(",;:.!?")
        if not bare or _NP_STOP.match(bare):
            break
        kept.append(bare)
        if bare != word:
            break
    if kept and re.fullmatch(_DET, kept[-1], re.IGNORECASE):
        kept.pop()
    return " ".join(kept)


def _as_written(phrase: str, text: str) -> str:
    """`phrase` with the casing `text` gives it, a sentence's capital lowered ("A keeper")."""
    at = text.lower().find(phrase.lower())
    found = text[at : at + len(phrase)] if at >= 0 else phrase
    first = found.split(" ", 1)[0]
    if at == 0 and re.fullmatch(rf"{_DET}|two|three|four|some|several|many", first, re.I):
        found = first.lower() + found[len(first) :]
    return found


def idea_parts(idea: str, written: str = "") -> IdeaParts:
    """Subject, core verb and action, key object, place and time of a one-line idea, in its own
    words (empty where the idea does not say); `written` the story as the person wrote it (its
    casing)."""
    plain = re.sub(r"\s+", " ", unquoted(idea)).strip().rstrip(".!?;")
    subject, verb, _ = split_action(plain)
    subject = _as_written(subject, written or plain) if subject else ""
    time_m = _IDEA_TIME.search(plain)
    time = time_m.group(0) if time_m else ""
    place = ""
    for m in _IDEA_PLACE.finditer(plain):
        phrase = _noun_phrase(_IDEA_TIME.sub("", m.group(1)).split(), 6)
        if not phrase or (subject and phrase.lower() in subject.lower()):
            continue
        if _NOT_A_PLACE.search(phrase):
            time = time or f"{m.group(0).split()[0]} {phrase}"  # "on his last night"
            continue
        place = phrase
        break
    passive = bool(verb and _PASSIVE.match(verb))
    after_verb: list[str] = []
    if verb:
        at = re.search(rf"\b{re.escape(verb)}\b", plain)
        after_verb = plain[at.end() :].split() if at else []
        if passive and after_verb:
            verb, after_verb = after_verb[0], after_verb[1:]
    rest = list(after_verb)
    if rest and rest[0].lower() in ("to", "about") and len(rest) > 2:
        rest = rest[2:]  # "learns to paint a sunset": the sunset
    thing = "" if passive else _noun_phrase(rest, 4)
    head = " ".join([verb, *after_verb]) if verb else ""
    cut = _IDEA_PLACE.search(head)
    action = head[: cut.start()].strip(" ,") if cut and cut.start() > 0 else head
    action = _IDEA_TIME.sub("", action).strip(" ,")
    if not thing and not passive:
        nouns = []
        for m in re.finditer(rf"\b{_DET}\s+\S+(?:\s+\S+){{0,3}}", plain, re.IGNORECASE):
            phrase = _noun_phrase(m.group(0).split(), 4)
            low = phrase.lower()
            if len(phrase.split()) < 2 or (subject and low in subject.lower()):
                continue
            if subject and low.startswith(subject.lower()):
                continue
            if (place and low in place.lower()) or (time and low in time.lower()):
                continue
            nouns.append(phrase)
        thing = nouns[-1] if nouns else ""
    return IdeaParts(subject, verb, action, thing, place, time, passive)


def idea_beat(design: str, parts: IdeaParts, idea: str) -> str:
    """What one designed beat of a one-line idea shows, in the idea's own nouns and verbs:
    establishing the place, action the subject doing it, detail the key object or gesture,
    resolution the outcome."""
    parts = parts.spoken_of()
    who = parts.subject or "the subject"
    when = f" {parts.time}" if parts.time else ""
    living = bool(parts.subject) and bool(_LIVING.search(who.split()[-1]))
    doing = _gerund(parts.verb) if parts.verb else ""
    if design == "establishing":
        if parts.place:
            world = f", the world of {who}" if parts.subject else ""
            return f"{DESIGN_LEAD['establishing']}wide view of {parts.place}{when}{world}"
        return f"{DESIGN_LEAD['establishing']}wide view of the world of {who}{when}"
    if design == "action":
        return _tidy(idea)
    if design == "detail":
        if parts.passive:
            return f"{DESIGN_LEAD['detail']}{who} as it is {parts.verb}"
        if not parts.thing and not living:
            return f"{DESIGN_LEAD['detail']}the texture of {who}" + (f", {doing}" if doing else "")
        thing = parts.thing or f"the hands of {who}"
        if doing:
            return f"{DESIGN_LEAD['detail']}{thing}, with {who} {doing}"
        face = f" and the face of {who}" if living and parts.thing else ""
        return f"{DESIGN_LEAD['detail']}{thing}{face}"
    if parts.passive:
        outcome = f"{who} after it is {parts.verb}"
    elif doing:
        outcome = f"{who} after {doing}{parts.action[len(parts.verb) :]}"
    else:
        outcome = f"{who}{when}"
    return f"{DESIGN_LEAD['resolution']}{outcome}, the last lingering frame"


def _idea_components(
    c: PromptComponents, spec: SceneSpec, design: str, idea: str, story: str
) -> PromptComponents:
    """A designed beat of a one-line idea: its own words lead (what the beat shows), the person's
    sentence follows verbatim; subject and place are the idea's own nouns for the beat."""
    parts = idea_parts(idea, story)
    sentence = " ".join(idea.split())
    beat = " ".join(spec.description.split())
    said = sentence if beat.rstrip(".") == sentence.rstrip(".") else f"{beat}. {sentence}"
    who = parts.subject or c.subject
    subject = {
        "establishing": parts.place or (f"the world of {who}" if who else ""),
        "detail": parts.thing or who,
    }.get(design, who)
    where = f"{parts.place} {parts.time}".strip() if parts.place else ""
    return c.model_copy(
        update={
            "said": said,
            "subject": subject or c.subject,
            "environment": where or c.environment,
        }
    )


def vague_idea(story: str, duration: float | None) -> str | None:
    """The one beat of a one-line idea long enough to become designed scenes, else None."""
    beats = story_beats(story) or [story.strip()]
    if len(beats) == 1 and duration is not None and duration >= VAGUE_IDEA_MIN_S:
        return beats[0]
    return None


def story_scenes(story: str, duration: float | None = None) -> list[SceneSpec]:
    """Scenes from a story, one per beat. A one-beat idea of `duration` >= VAGUE_IDEA_MIN_S
    becomes designed scenes (establishing, action, detail, resolution) with their own lengths."""
    beats = story_beats(story) or [story.strip()]
    idea = vague_idea(story, duration)
    if idea is not None and duration is not None:
        count = min(len(DESIGNS), max(2, round(duration / 5)))
        designs = DESIGNS[:count] if count > 2 else ("establishing", "action")
        if count == 3:
            designs = ("establishing", "action", "resolution")
        weights = [DESIGN_SHARE[d] for d in designs]
        # half-second lengths (how an editor times a cut), the remainder on the last beat
        lengths = [round(duration * w / sum(weights) * 2) / 2 for w in weights]
        lengths[-1] = round(duration - sum(lengths[:-1]), 3)
        parts = idea_parts(idea, story)
        return [
            SceneSpec(
                description=idea_beat(d, parts, idea),
                duration=length,
                dialogue=_story_dialogue(idea),
            )
            for d, length in zip(designs, lengths, strict=True)
        ]
    return [SceneSpec(description=b, dialogue=_story_dialogue(b)) for b in beats]


def scene_design(spec: SceneSpec, index: int, count: int) -> str:
    """The scene's job: from an explicit lead ("Establishing shot: "), or from its content."""
    for design, lead in DESIGN_LEAD.items():
        if lead and spec.description.startswith(lead):
            return design
    read = read_scene(spec.description, dialogue=spec.dialogue)
    if read.dialogue:
        return "dialogue"
    if index == 1 and count > 1 and (read.wide or WIDE_WORDS.search(spec.description)):
        return "establishing"
    if read.detail:
        return "detail"
    if index == count and count > 2 and not read.action:
        return "resolution"
    return "action"


def shot_designs(scene: str, count: int) -> list[str]:
    """A distinct design per shot of a scene cut in `count`: the scene's own job first."""
    if scene == "dialogue":
        return ["dialogue", *(["detail", "dialogue"] * count)][:count]
    order = [scene, *(d for d in DESIGNS if d != scene)]
    return [order[k % len(order)] for k in range(count)]


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


def _shot_lengths(duration: float, longest: float = MAX_SHOT_S) -> list[float]:
    count = max(1, math.ceil(duration / longest - 1e-9))
    base = round(duration / count, 3)
    lengths = [base] * count
    lengths[-1] = round(duration - base * (count - 1), 3)
    return lengths


def _framed(camera: str, design: str, shots_in_scene: int) -> str:
    """The shot's framing before its move, when a scene is cut in several designed shots."""
    framing = DESIGN_FRAMING.get(design, "")
    if shots_in_scene < 2 or not framing or framing.split()[0] in camera.lower():
        return camera
    return f"{framing}, {camera}" if camera else framing


@dataclass(frozen=True)
class ShotRequest:
    """What a drafter is told about one shot: its words, its job, and the offline components."""

    shot_id: str
    description: str
    design: str
    dialogue: str | None
    camera: str | None
    style: str
    mood: str
    components: PromptComponents


class Drafter(Protocol):
    """Scene beats and shot components from an LLM (tools.drafting). Each method answers None (or
    leaves a shot out) where the offline planner's own work should stand."""

    def scenes(self, brief: Brief) -> list[SceneSpec] | None: ...

    def components(self, shots: list[ShotRequest]) -> dict[str, PromptComponents]: ...


@dataclass
class _Pending:
    scene: Scene
    spec: SceneSpec
    shot_id: str
    index: int
    length: float
    design: str
    title: bool
    components: PromptComponents
    shots_in_scene: int


def plan_scenes(
    brief: Brief,
    registry: Registry,
    *,
    overrides: dict[str, str] | None = None,
    aspect: Aspect | None = None,
    takes: int | None = None,
    variation_mode: VariationMode = "angles",
    drafter: Drafter | None = None,
) -> list[Scene]:
    """Plan every scene and shot of `brief`. `overrides` maps a shot id (e.g. "2.1") or a
    scene number ("2") to a provider id. Each shot gets one variation per take: `takes` of them
    (default: 5 on a paid provider, 1 on the animatic); `variation_mode` "seeds" keeps the same
    prompt for every take (only the seed changes), "angles" varies angle, move and light.
    A `drafter` (an LLM) may supply the story's scenes and the shots' components; whatever it
    does not supply is the offline planner's."""
    overrides = dict(overrides or {})
    aspect = aspect or brief.formats[0]
    drafted = drafter.scenes(brief) if drafter is not None and not brief.scenes else None
    specs = brief.scenes or drafted or story_scenes(brief.story, brief.duration)
    # a one-line idea's designed beats say what each shows; the person's sentence stays the
    # words every one of their shots leads with
    idea = None if brief.scenes or drafted else vague_idea(brief.story, brief.duration)
    context = f"{brief.style} {brief.mood}"
    scenes: list[Scene] = []
    pending: list[_Pending] = []
    setting = ""
    for s_index, (spec, duration) in enumerate(
        zip(specs, scene_durations(specs, brief.duration), strict=True), start=1
    ):
        scene = Scene(
            index=s_index, description=spec.description, duration=duration, dialogue=spec.dialogue
        )
        scenes.append(scene)
        design = scene_design(spec, s_index, len(specs))
        title = is_title_shot(spec.description)
        spoken = bool(spec.dialogue) and not title
        lengths = _shot_lengths(duration, MAX_SPOKEN_SHOT_S if spoken else MAX_SHOT_S)
        for k, (length, shot_design) in enumerate(
            zip(lengths, shot_designs(design, len(lengths)), strict=True), start=1
        ):
            components = direct(
                spec.description,
                style=brief.style,
                mood=brief.mood,
                camera=spec.camera,
                dialogue=spec.dialogue,
                design=shot_design,
                setting=setting,
                context=context,
                story=brief.story,
            )
            if not components.left_open:
                components = components.model_copy(
                    update={
                        "camera_movement": _framed(
                            components.camera_movement, shot_design, len(lengths)
                        )
                    }
                )
            if idea is not None and not title:
                components = _idea_components(components, spec, design, idea, brief.story)
            if title:
                components = components.model_copy(
                    update={
                        "subject": f'the title "{brief.title}"',
                        "environment": components.environment
                        if components.environment != "a setting in keeping with the story"
                        else "a clean field in the film's palette",
                        "motion_detail": "letters fade in",
                    }
                )
            else:
                setting = components.environment
            pending.append(
                _Pending(
                    scene,
                    spec,
                    f"{s_index}.{k}",
                    k,
                    length,
                    shot_design,
                    title,
                    components,
                    len(lengths),
                )
            )
    if drafter is not None:
        requests = [
            ShotRequest(
                shot_id=p.shot_id,
                description=p.spec.description,
                design=p.design,
                dialogue=p.spec.dialogue,
                camera=p.spec.camera,
                style=brief.style,
                mood=brief.mood,
                components=p.components,
            )
            for p in pending
            if not p.title
        ]
        written = drafter.components(requests) if requests else {}
        for p in pending:
            p.components = written.get(p.shot_id, p.components)
    for p in pending:
        spec, components, s_index = p.spec, p.components, p.scene.index
        title = p.title
        needs = ShotNeeds(
            description=spec.description,
            components=components,
            duration=p.length,
            aspect=aspect,
            dialogue=spec.dialogue,
            kind="title" if title else "live",
        )
        override = overrides.get(p.shot_id) or overrides.get(str(s_index)) or spec.provider
        chosen = route(needs, registry, override)
        profile = default_profile(chosen.provider, chosen.model)
        shot = Shot(
            id=p.shot_id,
            scene_index=s_index,
            index=p.index,
            kind="title" if title else "live",
            description=spec.description,
            components=components,
            duration=p.length,
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
            transition=spec.transition if p.index == 1 and s_index > 1 else "cut",
            design="title" if title else p.design,
        )
        count = (
            takes
            if takes is not None
            else (FREE_TAKES if profile.price_per_second_usd == 0 else PAID_TAKES)
        )
        variations = plan_variations(
            components,
            chosen.provider,
            takes=count,
            mode=variation_mode,
            dialogue=spec.dialogue,
            title=brief.title if title else None,
            max_chars=profile.prompt_max_chars,
            model=chosen.model,
            speaks=profile.native_audio,
        )
        shot.prompt = variations[0].prompt
        shot.variations = variations
        p.scene.shots.append(shot)
    unknown = (
        set(overrides)
        - {s.id for sc in scenes for s in sc.shots}
        - {str(sc.index) for sc in scenes}
    )
    if unknown:
        raise PlanError(f"no shot or scene {', '.join(sorted(unknown))} to override")
    return scenes


def take_prompt(shot: Shot, index: int) -> str:
    """The prompt take `index` of `shot` sends: take 0 (and any take beyond the plan) the shot's
    prompt; a later take its variation, rebuilt from the shot's current components so that
    references attached after planning reach every take."""
    if index <= 0 or index >= len(shot.variations):
        return shot.prompt
    v: Variation = shot.variations[index]
    if not (v.camera_movement or v.lighting or v.emotional_tone) or shot.kind == "title":
        return shot.prompt
    profile = default_profile(shot.provider, shot.model)
    return build_prompt(
        with_variation(shot.components, v),
        shot.provider,
        dialogue=shot.dialogue,
        max_chars=profile.prompt_max_chars,
        model=shot.model,
        speaks=profile.native_audio,
    )


def take_components(shot: Shot, index: int) -> PromptComponents:
    """The components take `index` of `shot` is framed by: its variation's camera, light and
    mood over the written ones (so the previz performs the take's move, as a model would)."""
    if index <= 0 or index >= len(shot.variations) or shot.kind == "title":
        return shot.components
    return with_variation(shot.components, shot.variations[index])


def reprompt(shot: Shot) -> Shot:
    """`shot` with its prompt and variation prompts rebuilt from its current components (after
    references, a provider fallback or an edit changed them)."""
    profile = default_profile(shot.provider, shot.model)
    title = shot.text_overlay if shot.kind == "title" else None
    prompt = build_prompt(
        shot.components,
        shot.provider,
        dialogue=shot.dialogue,
        title=title,
        max_chars=profile.prompt_max_chars,
        model=shot.model,
        speaks=profile.native_audio,
    )
    shot = shot.model_copy(update={"prompt": prompt})
    variations = [
        v.model_copy(update={"prompt": take_prompt(shot, v.index)}) for v in shot.variations
    ]
    return shot.model_copy(update={"variations": variations})


def with_takes(shot: Shot, takes: int) -> Shot:
    """`shot` with a variation for each of `takes` takes: the plan is kept where it already has
    enough, else the variation plan is drawn again for the larger count (take 1 stays the
    written framing), so extra takes vary angle, move and light instead of repeating a prompt."""
    if takes <= len(shot.variations) or shot.kind == "title":
        return shot
    profile = default_profile(shot.provider, shot.model)
    variations = plan_variations(
        shot.components,
        shot.provider,
        takes=takes,
        dialogue=shot.dialogue,
        max_chars=profile.prompt_max_chars,
        model=shot.model,
        speaks=profile.native_audio,
    )
    return reprompt(shot.model_copy(update={"variations": variations}))
