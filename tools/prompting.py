"""Prompt components from plain words, prompts in each provider's dialect, and the prompt linter.

The extractor is a small keyword lexicon (deterministic, no LLM): the same lexicon fills a shot's
components from a brief and tells which components a free-text prompt lacks. `direct` then
chooses what the person did not say the way a cinematographer would (from the scene's content,
mood and style), and `build_prompt` writes the person's words verbatim first, the chosen
components after, in each provider's dialect and within its length limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from memory.models import PromptComponents, Variation

COMPONENT_LABELS: dict[str, str] = {
    "subject": "subject",
    "environment": "environment",
    "camera_movement": "camera movement",
    "lighting": "lighting",
    "style": "style",
    "realism": "realism",
    "motion_detail": "motion detail",
    "emotional_tone": "emotional tone",
}


@dataclass(frozen=True)
class Cue:
    pattern: re.Pattern[str]
    phrase: str


def _cues(*pairs: tuple[str, str]) -> tuple[Cue, ...]:
    return tuple(Cue(re.compile(p, re.IGNORECASE), phrase) for p, phrase in pairs)


# Cues match whole words in their context: "window" is not wind, a crane in a marsh is a bird,
# a frying pan is not a camera pan, and a car parked in a garage is not traffic.
CAMERA_CUES = _cues(
    (
        r"\bdrone (?:shot|footage|view|flies|flying|rises|rising)|\baerial\b|bird'?s[- ]eye|"
        r"\bflyover\b|\bfly-?through\b",
        "aerial drone rise",
    ),
    (
        r"\bpush(?:es|ing)?[- ]?in\b|\bdolly(?:ing)?[- ]?in\b|\bzoom(?:s|ing)? in\b|"
        r"\bcreep(?:s|ing)? in\b",
        "slow push-in",
    ),
    (
        r"\bpull(?:s|ing)?[- ]?(?:back|out)\b|\bdolly(?:ing)?[- ]?(?:out|back)\b|"
        r"\bzoom(?:s|ing)? out\b",
        "slow pull-back",
    ),
    (r"\bhand[- ]?held\b|\bshaky[- ]cam", "handheld camera"),
    (
        r"\btracking (?:shot|camera|alongside|behind)|\bcamera (?:tracks|follows)|\bsteadicam\b",
        "tracking shot",
    ),
    (
        r"\borbit(?:s|ing)?\b|\bcircl(?:es|ing) around\b|\b360(?:-degree)? (?:shot|move|orbit)",
        "orbiting camera",
    ),
    (
        r"\bcrane(?:s|d)? (?:up|down|shot|move|movement|over|rises|rising)\b|\bcrane[- ]up\b|"
        r"\binto a crane\b|\bjib\b",
        "crane move",
    ),
    (
        r"\b(?:camera )?pan(?:s|ning)? (?:left|right|across|over|up|down|to)\b|\bslow pan\b|"
        r"\bwhip[- ]pan\b|\bcamera pans\b",
        "slow pan",
    ),
    (r"\b(?:camera )?tilt(?:s|ing)? (?:up|down)\b|\bslow tilt\b", "slow tilt up"),
    (
        r"\bstatic (?:shot|camera|frame|wide)|\blocked[- ]off\b|\btripod\b|\bstill frame\b",
        "locked-off static camera",
    ),
    (
        r"\bcamera (?:slowly |gently |quickly )?(?:circles|rises|descends|glides|drifts|moves|"
        r"floats|swoops|spins|rolls|cranes|booms|dollies|trucks|creeps|whips)\b",
        "camera move as described",
    ),
    (
        r"\bdolly\b|\btrack(?:ing)? shot\b|\bgimbal\b|\bclose[- ]up\b|\bwide shot\b|"
        r"\bmedium shot\b|\bover[- ]the[- ]shoulder\b|\bpov\b|\boverhead shot\b|\btop[- ]down\b|"
        r"\b(?:low|high|dutch)[- ]angle\b|\brack focus\b|\bdolly zoom\b|\bwhip[- ]pan\b",
        "camera move as described",
    ),
)
LIGHTING_CUES = _cues(
    (r"\bsunset\b|\bgolden hour\b|\bdusk\b|\bsun goes down\b", "warm golden-hour sunset light"),
    (r"\bsunrise\b|\bdawn\b|\bfirst light\b|\bdaybreak\b", "soft dawn light"),
    (r"\bneon\b", "neon signs and bokeh lights"),
    (r"\bnight\b|\bmidnight\b|\bdark street", "night, deep shadows"),
    (r"\brain(?:y|ing|s)?\b|\bwet (?:street|road|pavement|asphalt)", "wet reflections"),
    (r"\bovercast\b|\bcloudy\b|\bgr[ae]y sky\b", "soft overcast light"),
    (
        r"\bstudio (?:light|lighting|shot|backdrop)|\bin a (?:photo )?studio\b",
        "controlled studio lighting",
    ),
    (r"\bcandles?\b|\bcandlelight\b|\bfirelight\b|\bfireplace\b", "warm candlelight"),
    (r"\bmoonlight\b|\bmoonlit\b|\bfull moon\b", "cool moonlight"),
    (r"\bfog(?:gy)?\b|\bmist(?:y)?\b|\bhaze\b|\bhazy\b", "diffused light through haze"),
    (r"\bmidday\b|\bnoon\b|\bsunny\b|\bbright day\b|\bdaylight\b", "bright daylight"),
    (r"\bbacklit\b|\bsilhouett\w*|\brim light\b", "backlit silhouette, rim light"),
)
REALISM_CUES = _cues(
    (r"ultra[- ]?realistic|photo[- ]?real|hyper[- ]?real", "photorealistic"),
    (r"\banime\b", "stylised, anime"),
    (r"\bcartoon\w*|\btoon\b|cel[- ]shaded", "stylised, cartoon"),
    (r"\bpixar\b|\b3d animat", "stylised, 3D animation"),
    (r"claymation|stop[- ]motion", "stylised, stop-motion"),
    (
        r"watercolou?r|\billustrat\w*|\bcomic\b|hand[- ]drawn|\b2d\b|painterly",
        "stylised, illustrated",
    ),
    (r"\banimat(?:ed|ion)\b", "stylised, animated"),
    (r"\bstylis\w*|\bstyliz\w*", "stylised"),
    (
        r"\brealistic\b|\blive[- ]action\b|\bdocumentary\b|\bcinematic\b|\brealism\b",
        "live-action realism",
    ),
)
WEATHER_MOTION_CUES = _cues(
    (r"\bsoft rain\b|\brain(?:s|ing|y|drops?)?\b", "rain falling"),
    (r"\bsnow(?:s|ing|fall|flakes?)?\b", "snow drifting"),
    (
        r"\bwind(?:y|s|swept)?\b(?! (?:up|down|through|back|the clock))|\bbreeze\b",
        "wind moving hair and cloth",
    ),
    (r"\bsmoke\b|\bsteam(?:ing|s)?\b", "steam drifting"),
    (
        r"\b(?:ocean|sea) waves?\b|\bwaves? (?:crash|roll|break|lap)\w*|\bsurf\b|\bocean\b|"
        r"\bthe sea\b",
        "waves rolling",
    ),
    # cars are traffic only on a road, never parked or indoors
    (
        r"\btraffic\b|\b(?:cars?|trucks?|buses)\b(?=[^.;]*\b(?:street|road|highway|avenue|"
        r"motorway|freeway|boulevard)\b)(?![^.;]*\b(?:parked|garage|driveway|showroom)\b)",
        "traffic streaking past",
    ),
)
STYLISED = re.compile(
    r"anime|cartoon|\btoon\b|cel[- ]shaded|pixar|3d animat|claymation|stop[- ]motion|"
    r"watercolou?r|illustrat|comic|hand[- ]drawn|\b2d\b|stylis|styliz|painterly|animat(?:ed|ion)",
    re.IGNORECASE,
)
TITLE_SHOT = re.compile(
    r"\btitle\b|\b(?:text|logo|caption|credits?|end card|title card)\b.*\b(?:appear|fade|reveal|"
    r"show|card|display)",
    re.IGNORECASE,
)
_SHOT_OF = re.compile(
    r"^(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,4}?(?:shot|footage|clip|scene|video|take|transition|"
    r"montage|sequence)\s+of\s+",
    re.IGNORECASE,
)
_PREPOSITION = re.compile(
    r"\b(?:on|in|over|through|across|inside|at|above|under|along|by|near|into|onto|around)\s+"
    r"(?P<place>(?:the\s+|a\s+|an\s+)?[^,.;!?]+)",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^(?:[A-Z][\w]*\s){0,2}[\w]+:\s+(?=\S)")  # "Establishing shot: ..."
_TIME_WORDS = re.compile(
    r"^(?:at|in|by|on|around)\s+(?:the\s+)?(?:dawn|dusk|night|midnight|noon|midday|sunset|sunrise|"
    r"first light|last light|daybreak|twilight|nightfall|morning|evening|afternoon|end|last|same|"
    r"once|time|moment|\d+)\b",
    re.IGNORECASE,
)
_PREP_WORD = re.compile(
    r"\b(?:on|in|over|through|across|inside|at|above|under|along|by|near|into|onto|around)\s+\S",
    re.IGNORECASE,
)
_QUANTITY = re.compile(  # "two friends talk": a plural noun after a number is not a verb
    r"^(?:two|three|four|five|six|seven|eight|nine|ten|several|many|some|few|both|all|"
    r"these|those|\d+)$",
    re.IGNORECASE,
)
_PREP_ONLY = re.compile(
    r"(?:on|in|over|through|across|inside|at|above|under|along|by|near|into|onto|around|of)",
    re.IGNORECASE,
)
_TIME_PREFIX = re.compile(
    r"^(?:at|in|by|on|around)\s+(?:the\s+)?(?:dawn|dusk|night|midnight|noon|midday|sunset|sunrise|"
    r"daybreak|twilight|nightfall|morning|evening|afternoon)\b,?\s*",
    re.IGNORECASE,
)
_VERB = re.compile(r"\b(?P<verb>[a-z]+ing)\b", re.IGNORECASE)
_NOT_VERBS = {
    "building",
    "evening",
    "morning",
    "ceiling",
    "clothing",
    "lighting",
    "king",
    "ring",
    "spring",
    "string",
    "thing",
    "nothing",
    "something",
    "everything",
    "wedding",
    "painting",
    "swing",
    "sibling",
    "pudding",
    "wing",
    "ending",
    "opening",
    "beginning",
}
_CAMERA_WORDS = re.compile(
    r"\b(?:drone|aerial|handheld|hand-held|camera|shot|push-?in|pull-?back|tracking|dolly|pan|"
    r"tilt|orbit(?:ing)?|crane|static|locked-off|slow|motion|zoom(?:s|ing)?|bokeh|lights?)\b",
    re.IGNORECASE,
)


def _all_phrases(cues: tuple[Cue, ...], text: str) -> list[str]:
    found: list[tuple[int, str]] = []
    for cue in cues:
        m = cue.pattern.search(text)
        if m and cue.phrase not in (p for _, p in found):
            found.append((m.start(), cue.phrase))
    return [phrase for _, phrase in sorted(found)]


def _first_phrase(cues: tuple[Cue, ...], text: str) -> str:
    for cue in cues:
        if cue.pattern.search(text):
            return cue.phrase
    return ""


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ,.;:-")


_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")


def unquoted(text: str) -> str:
    """`text` without its quoted speech: what is said aloud is not a cue for the picture."""
    return _QUOTED.sub(" ", text)


def quotes_balanced(text: str) -> bool:
    return text.count('"') % 2 == 0 and text.count("“") == text.count("”")


def camera_phrase(text: str) -> str:
    """The canonical camera moves `text` names (for the linter and the router)."""
    return ", ".join(p for p in _all_phrases(CAMERA_CUES, unquoted(text)) if "described" not in p)


_CAMERA_MODIFIER = re.compile(
    r"(?:\b(?:very|slow(?:ly)?|fast|quick|rapid|gentle|smooth|sweeping|steady|subtle|low|high|"
    r"wide|tight|long|fluid|dramatic|gradual|handheld|aerial|low-angle|high-angle)[\s-]+)+$",
    re.IGNORECASE,
)
_CAMERA_CONTINUES = re.compile(
    r"^(?:\s+(?:camera\s+)?(?:motion|movement|move|shot))?"
    r"(?:\s+(?:that\s+|which\s+)?(?:turns?|turning|becomes?|becoming|rises?|rising|moves?|moving|"
    r"transitions?|transitioning|pulls?|pushes?|settles?|ends?|ending|continues?)\s+"
    r"(?:into|to|up|down|out|back|in|on|over)(?:\s+(?:a|an|the))?\s+[\w-]+"
    r"(?:\s+(?:up|down|out|in|left|right|shot|move|reveal))?)?",
    re.IGNORECASE,
)


def camera_words(text: str) -> str:
    """The person's own camera words, verbatim ("slow dolly-in that turns into a crane up")."""
    plain = unquoted(text)
    spans: list[tuple[int, int]] = []
    for cue in CAMERA_CUES:
        for m in cue.pattern.finditer(plain):
            start, end = m.start(), m.end()
            if any(a <= start < b for a, b in spans):
                continue
            lead = _CAMERA_MODIFIER.search(plain[:start])
            if lead:
                start = lead.start()
            tail = _CAMERA_CONTINUES.match(plain[end:])
            if tail:
                end += tail.end()
            spans = [(a, b) for a, b in spans if not (start <= a and b <= end)]
            spans.append((start, end))
    return ", ".join(dict.fromkeys(_clean(plain[a:b]) for a, b in sorted(spans)))


def lighting_phrase(text: str) -> str:
    return ", ".join(_all_phrases(LIGHTING_CUES, unquoted(text)))


def realism_phrase(text: str) -> str:
    return _first_phrase(REALISM_CUES, unquoted(text))


def is_stylised(text: str) -> bool:
    return bool(STYLISED.search(unquoted(text)))


def is_title_shot(text: str) -> bool:
    return bool(TITLE_SHOT.search(unquoted(text)))


_CLAUSE = re.compile(r"\s*[,;:]\s*|\s+(?:as|while|whilst|when|then|before|after)\s+", re.I)
_DETERMINER = re.compile(r"^(?:the|a|an|his|her|their|its|my|our|your|this|that)$", re.I)
_PLACE_STOP = re.compile(
    r"^(?:while|as|with|and|when|then|that|who|which|where|to|for|before|after|"
    r"is|are|was|were|says?|tells?|asks?)$",
    re.IGNORECASE,
)


def _place(clause: str) -> tuple[str, int, int] | None:
    """The first place phrase ("on the pier", "through neon Tokyo streets at night"); a time
    ("at dusk", "in the morning") is not a place."""
    for m in _PREP_WORD.finditer(clause):
        words = clause[m.start() :].split()
        kept = [words[0]]
        content = 0
        for word in words[1:]:
            bare = word.strip(",.;:!?")
            chained = _PREP_ONLY.fullmatch(kept[-1])  # "under a car in a dim garage"
            if _PLACE_STOP.match(bare) or (_DETERMINER.match(bare) and content and not chained):
                break
            kept.append(word)
            if not _DETERMINER.match(bare):
                content += 1
            if word != bare:
                break
        if not content or _TIME_WORDS.match(" ".join(kept)):
            continue
        end = m.start() + clause[m.start() :].find(kept[-1]) + len(kept[-1])
        return _clean(" ".join(kept)), m.start(), end
    return None


def _subject_and_verb(head: str) -> tuple[str, str]:
    words = head.split()
    subject: list[str] = []
    for i, word in enumerate(words):
        low = word.lower().strip(",.;:!?")
        after_link = bool(subject) and subject[-1].lower() in ("of", "with", "and", "by", "in")
        is_verb = i > 0 and bool(_VERB.fullmatch(low)) and low not in _NOT_VERBS
        is_verb = is_verb and not after_link
        is_verb = is_verb or (
            i >= 1
            and bool(subject)
            and not _DETERMINER.match(subject[-1])
            and not any(_QUANTITY.match(w) for w in subject)
            and re.fullmatch(r"[a-z]+[^s]s", low) is not None
            and i >= 2 - (not _DETERMINER.match(words[0]))
        )
        # "two friends talk": the word after a counted plural is its verb
        is_verb = is_verb or (
            len(subject) >= 2
            and any(_QUANTITY.match(w) for w in subject[:-1])
            and subject[-1].lower().endswith("s")
            and bool(re.fullmatch(r"[a-z]+", low))
            and not _DETERMINER.match(low)
            and not _PREP_ONLY.fullmatch(low)
        )
        if is_verb:
            return " ".join(subject), low
        subject.append(word)
        if len(subject) >= 8:
            break
    return " ".join(subject), ""


def split_action(description: str) -> tuple[str, str, str]:
    """(subject, action verb, environment) from a one-line shot description; the camera words
    (already the camera component) are left out of the subject."""
    body = _SHOT_OF.sub("", _LABEL.sub("", _clean(unquoted(description))))
    camera = camera_words(body)
    for span in camera.split(", ") if camera else []:
        body = body.replace(span, " ")
    clauses = [_clean(_SHOT_OF.sub("", c)) for c in _CLAUSE.split(body)]
    clauses = [c for c in clauses if c and not re.fullmatch(r"(?:an?|the|camera|shot)", c, re.I)]
    if not clauses:
        return "", "", ""
    clause = clauses[0]
    environment = ""
    place = _place(clause)
    if place is not None:
        environment = place[0]
        head = clause[: place[1]] if place[1] > 0 else clause[place[2] :]
    else:
        head = clause
        for other in clauses[1:]:
            found = _place(other)
            if found:
                environment = found[0]
                break
    head = _TIME_PREFIX.sub("", _clean(head))
    subject, verb = _subject_and_verb(head)
    if not subject and place is not None and place[1] > 0:
        subject, verb = _subject_and_verb(_clean(clause[place[2] :]))
    for other in clauses[1:]:
        if subject and not re.fullmatch(r"(?:an?|the)", subject, re.I):
            break
        subject, verb = _subject_and_verb(_clean(_PREPOSITION.split(other)[0]))
    subject = re.sub(r"^(?:an?|the)$", "", _clean(subject), flags=re.IGNORECASE).strip()
    return subject, verb, environment


def extract_components(
    text: str, *, style: str = "", mood: str = "", camera: str | None = None, context: str = ""
) -> PromptComponents:
    """Fill what the words say; leave the rest empty so the linter can name it.

    `text` is the shot's own description; `context` (the brief's story and style) may supply
    lighting and realism the shot line does not state.
    """
    subject, verb, environment = split_action(text)
    motion = [verb] if verb else []
    if not subject and environment and camera_phrase(text).startswith("aerial"):
        subject = re.sub(r"^\w+\s+", "", environment)
        environment = "seen from above"
        motion = [f"camera {verb or 'gliding'} forward over it"]
    motion += _all_phrases(WEATHER_MOTION_CUES, unquoted(text))
    return PromptComponents(
        subject=subject,
        environment=environment,
        camera_movement=camera_words(camera) or camera if camera else camera_words(text),
        lighting=lighting_phrase(text) or lighting_phrase(context),
        style=_clean(style),
        realism=realism_phrase(f"{text} {style}") or realism_phrase(context),
        motion_detail=", ".join(motion),
        emotional_tone=_clean(mood),
    )


def lint_prompt(prompt: str) -> list[str]:
    """Names of the eight components a free-text prompt does not state."""
    return extract_components(prompt, style=_style_words(prompt)).missing()


def _style_words(prompt: str) -> str:
    m = re.search(
        r"\b(cinematic|film noir|noir|anime|cartoon|vintage|retro|documentary|"
        r"minimalist|surreal|dreamy|gritty|editorial|vaporwave|cyberpunk|pixar|"
        r"watercolou?r|35mm|16mm|film grain)\b",
        prompt,
        re.IGNORECASE,
    )
    return m.group(1) if m else ""


# ------------------------------------------------------------------------------ the director


SPEECH = re.compile(
    r"\b(?:says?|said|speaks?|speaking|talks?|talking|tells?|telling|asks?|asking|repl(?:y|ies)|"
    r"answers?|whispers?|shouts?|yells?|sings?|singing|dialogue|conversation|interview|argu(?:e|es|"
    r"ing))\b|\"[^\"]+\"|“[^”]+”",
    re.IGNORECASE,
)
# "a river runs through the valley" is not a chase
_STILL_THINGS = r"(?<!river )(?<!road )(?<!path )(?<!trail )(?<!stream )(?<!track )(?<!fence )"
ACTION = re.compile(
    r"\b(?:chas(?:e|es|ed|ing)|pursu(?:e|es|it|ing)|"
    + _STILL_THINGS
    + r"run(?:s|ning)?|ran|sprint(?:s|ing)?|"
    r"flee(?:s|ing)?|escap(?:e|es|ing)|race(?:s)?|racing|fight(?:s|ing)?|battle|crash(?:es|ing)?|"
    r"explo(?:de|des|sion)|jump(?:s|ing)?|leap(?:s|ing)?|parkour|stampede|danc(?:e|es|ing)|"
    r"spin(?:s|ning)?|skat(?:e|es|ing)|surf(?:s|ing)?|acrobat\w*|sports?|crowd)\b",
    re.IGNORECASE,
)
ABSTRACT = re.compile(
    r"\b(?:abstract|swirl\w*|ink|particles?|fractal\w*|kaleidoscop\w*|liquid|morph\w*|shapes|"
    r"patterns?|experimental|surreal\w*|geometric|nebula|smoke trails?|light trails?)\b",
    re.IGNORECASE,
)
DETAIL = re.compile(
    r"\b(?:close[- ]?up|macro|detail|hands?|fingers?|eyes?|insert|texture)\b", re.IGNORECASE
)
WIDE = re.compile(
    r"\b(?:skyline|landscape|panorama|city|harbou?r|coast(?:line)?|valley|mountains?|horizon|"
    r"establishing|aerial|drone|fields?|desert|ocean|sea|island|town|village)\b",
    re.IGNORECASE,
)
NIGHT = re.compile(r"\b(?:night|midnight|moon\w*|stars?|starry|dark(?:ness)?|tonight)\b", re.I)
INTERIOR = re.compile(
    r"\b(?:inside|interior|indoors?|room|kitchen|bedroom|living room|garage|office|bar|caf[eé]|"
    r"hall(?:way)?|corridor|apartment|flat|attic|cabin|studio|library|classroom|restaurant|shop|"
    r"store|basement|lamp(?:room)?|bathroom|church|train carriage|car interior)\b",
    re.IGNORECASE,
)
OPEN = re.compile(r"^\s*(?:open|any|you choose|your choice|none|left open)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SceneRead:
    """What a shot is about, read from its words (quoted speech excluded)."""

    dialogue: bool
    action: bool
    abstract: bool
    detail: bool
    wide: bool
    night: bool
    interior: bool
    stylised: bool


def read_scene(text: str, *, dialogue: str | None = None, style: str = "") -> SceneRead:
    plain = unquoted(text)
    return SceneRead(
        dialogue=bool(dialogue) or bool(SPEECH.search(text)),
        action=bool(ACTION.search(plain)),
        abstract=bool(ABSTRACT.search(plain)) and not SPEECH.search(text),
        detail=bool(DETAIL.search(plain)),
        wide=bool(WIDE.search(plain)),
        night=bool(NIGHT.search(plain)),
        interior=bool(INTERIOR.search(plain)),
        stylised=is_stylised(f"{plain} {style}"),
    )


def _speakers(dialogue: str | None) -> int:
    lines = dialogue_lines(dialogue)
    return len({who for who, _ in lines if who}) or (2 if len(lines) > 1 else 1)


def choose_camera(read: SceneRead, design: str, dialogue: str | None) -> str:
    if read.dialogue:
        two = _speakers(dialogue) > 1
        return (
            "static medium two-shot, then a slow push-in on the speaker"
            if two
            else "static medium close-up, slow push-in as they speak"
        )
    if read.action:
        return "fast tracking shot alongside the action, handheld energy"
    if read.abstract:
        return "slow drifting camera gliding through the forms"
    if design == "establishing" or (read.wide and design != "detail"):
        return (
            "slow aerial drone glide" if not read.interior else "wide establishing shot, slow pan"
        )
    if design == "detail" or read.detail:
        return "macro close-up, shallow depth of field, slow push-in"
    if design == "resolution":
        return "slow pull-back to a wide shot"
    return "medium shot, smooth gimbal follow"


def choose_lighting(read: SceneRead, mood: str, style: str) -> str:
    low = f"{mood} {style}".lower()
    if read.abstract:
        return "luminous glow blooming through the forms against a dark ground"
    if read.night and read.interior:
        light = "warm practical lamps, pools of light in the dark"
    elif read.night:
        light = "cool moonlight with warm practical lights, deep shadows"
    elif read.interior:
        light = "soft window light as the key, gentle falloff"
    else:
        light = "natural daylight, soft bounced fill"
    if read.dialogue:
        light = f"motivated light: {light}"
    if re.search(r"\b(?:moody|dark|noir|tense|ominous|sinister)\b", low):
        light += ", low-key contrast"
    elif re.search(r"\b(?:nostalgic|warm|tender|wistful|cosy|cozy|hopeful)\b", low):
        light += ", warm tones"
    return light


def choose_motion(read: SceneRead) -> str:
    if read.dialogue:
        return "subtle gestures and natural lip movement as they speak"
    if read.action:
        return "fast continuous movement, motion blur"
    if read.abstract:
        return "slow swirling, flowing motion"
    if read.wide:
        return "gentle ambient movement across the scene"
    if read.detail:
        return "small, precise movement"
    return "natural, unhurried movement"


def choose_tone(read: SceneRead) -> str:
    if read.dialogue:
        return "intimate"
    if read.action:
        return "tense, urgent"
    if read.abstract:
        return "dreamlike"
    return "contemplative"


def first_place(text: str) -> str:
    """The first place a story names ("on the pier"), for shots that do not say where."""
    for clause in _CLAUSE.split(unquoted(text)):
        found = _place(clause)
        if found:
            return found[0]
    return ""


def direct(
    description: str,
    *,
    style: str = "",
    mood: str = "",
    camera: str | None = None,
    dialogue: str | None = None,
    design: str = "",
    setting: str = "",
    context: str = "",
    story: str = "",
) -> PromptComponents:
    """All eight components of a shot: the person's words first (verbatim in `said`), then what
    they did not say, chosen from the shot's content, mood and style as a cinematographer would.

    `setting` is where the previous shot was (continuity), `context` the brief's style and mood,
    `story` the whole story (where and when, for shots that do not say); a scene's `camera` of
    "open" (or "you choose") leaves the camera open on purpose.
    """
    left_open: list[str] = []
    if camera is not None and OPEN.match(camera):
        left_open.append("camera_movement")
        camera = None
    c = extract_components(description, style=style, mood=mood, camera=camera, context=context)
    read = read_scene(description, dialogue=dialogue, style=style)
    if not read.night and not c.lighting and NIGHT.search(unquoted(story)):
        read = replace(read, night=True)  # the story's time of day carries into its shots
    subject = c.subject
    if not subject:
        plain = _LABEL.sub("", unquoted(description))
        first = _clean(_CLAUSE.split(plain)[0]) or _clean(description)
        subject = first if len(first.split()) <= 8 else " ".join(first.split()[:8])
    environment = c.environment or ("" if read.abstract else setting or first_place(story))
    if not environment:
        environment = (
            "a dark, infinite space"
            if read.abstract
            else "an interior in keeping with the story"
            if read.interior
            else "a setting in keeping with the story"
        )
    motion = c.motion_detail or choose_motion(read)
    if read.dialogue and "speak" not in motion:
        motion = f"{motion}, natural lip movement as they speak" if c.motion_detail else motion
    realism = c.realism or ("stylised" if read.stylised else "photorealistic live action")
    return c.model_copy(
        update={
            "subject": subject,
            "environment": environment,
            "camera_movement": ""
            if left_open
            else c.camera_movement or choose_camera(read, design, dialogue),
            "lighting": _motivated(c.lighting, read, mood, style),
            "style": c.style or ("stylised animation" if read.stylised else "cinematic"),
            "realism": realism,
            "motion_detail": motion,
            "emotional_tone": c.emotional_tone or choose_tone(read),
            "said": _clean_said(description),
            "left_open": left_open,
        }
    )


def _motivated(lighting: str, read: SceneRead, mood: str, style: str) -> str:
    """The named light, with "night" made into sources a cinematographer would use."""
    if not lighting:
        return choose_lighting(read, mood, style)
    night = "night, deep shadows"
    if night in lighting:
        lighting = lighting.replace(night, choose_lighting(read, mood, style))
    return lighting


def _clean_said(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ------------------------------------------------------------------------------------ dialects


def _sentence(text: str) -> str:
    text = _clean(text)
    return f"{text[:1].upper()}{text[1:]}." if text else ""


def _said_sentence(text: str) -> str:
    """The person's words verbatim, with a full stop only when they did not end the sentence
    (and a quote they opened closed, so the model does not read the rest as speech)."""
    text = text.strip()
    if not text:
        return ""
    if text.count('"') % 2:
        text = f'{text}"'
    if text.count("“") > text.count("”"):
        text = f"{text}”"
    return text if re.search(r"[.!?…][\"”')\]]*$", text) else f"{text}."


def _subject_action(c: PromptComponents) -> str:
    motion = [m.strip() for m in c.motion_detail.split(",") if m.strip()]
    verb = motion.pop(0) if motion and re.fullmatch(r"[a-z]+ing", motion[0]) else ""
    phrase = " ".join(x for x in (c.subject or "the scene", verb, c.environment) if x)
    return ", ".join([phrase, *motion])


def dialogue_lines(dialogue: str | None) -> list[tuple[str, str]]:
    """(speaker or "", words) per line of a scene's dialogue ("DAUGHTER: You came back.")."""
    out: list[tuple[str, str]] = []
    for line in (dialogue or "").splitlines():
        line = line.strip()
        if not line:
            continue
        m = re.match(r"^([A-Za-z][\w .'’-]{0,40}?)\s*:\s+(.+)$", line)
        out.append((m.group(1).strip(), m.group(2).strip()) if m else ("", line))
    return out


def spoken(dialogue: str | None, subject: str = "", said: str = "") -> str:
    """Veo's way to make a line heard: the speaker, then the words in quotes, verbatim."""
    parts = []
    for who, words in dialogue_lines(dialogue):
        if words.strip('"“”') and words.strip('"“”') in said:
            continue  # already in the person's own sentence, in quotes
        speaker = who.title() if who.isupper() else who
        speaker = speaker or subject or "The speaker"
        quoted = words if re.fullmatch(r"\".*\"|“.*”", words) else f'"{words}"'
        parts.append(f"{speaker[:1].upper()}{speaker[1:]} says: {quoted}")
    return " ".join(parts)


def dialect_of(provider: str, model: str | None = None) -> str:
    """The prompt dialect: the provider's, except that Veo through Runway reads as Veo."""
    return "veo" if provider == "veo" or (model or "").startswith("veo") else provider


def fit_text(text: str, max_chars: int) -> str:
    """`text` within `max_chars`, cut at a sentence or word boundary with quotes kept balanced."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    for boundary in (r"[.!?…][\"”]?\s", r"\s"):
        ends = [m.end() for m in re.finditer(boundary, cut + " ")]
        ends = [e for e in ends if e > max_chars // 2]
        if ends:
            cut = cut[: ends[-1]].rstrip()
            break
    while not quotes_balanced(cut) and '"' in cut:
        cut = cut[: cut.rindex('"')].rstrip()
    return cut[:max_chars].rstrip()


def _not_said(value: str, said: str) -> str:
    """The parts of a comma list that the person's words do not already state."""
    low = said.lower()
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return ", ".join(p for p in parts if p.lower() not in low)


def _fitted(pieces: list[tuple[int, str]], max_chars: int) -> str:
    """Join `(priority, text)` pieces in order, dropping the least important (highest priority
    number, last first) until the prompt fits; the person's words (priority 0) go last of all."""
    pieces = [(p, t) for p, t in pieces if t]
    while pieces:
        text = " ".join(t for _, t in pieces)
        if len(text) <= max_chars or all(p == 0 for p, _ in pieces):
            return fit_text(text, max_chars)
        worst = max(p for p, _ in pieces)
        drop = max(i for i, (p, _) in enumerate(pieces) if p == worst)
        pieces.pop(drop)
    return ""


def _written(c: PromptComponents, dialect: str, speech: str, max_chars: int) -> str:
    said = c.said
    camera = _not_said(c.camera_movement, said)
    setting = "" if c.environment.lower() in said.lower() else c.environment
    subject = "" if c.subject.lower() in said.lower() else c.subject
    where = ", ".join(x for x in (subject, setting) if x)
    motion = _not_said(c.motion_detail, said)
    look = _not_said(", ".join(x for x in (c.style, c.realism) if x), said)
    tone = f"{c.emotional_tone} mood" if c.emotional_tone else ""
    words = _said_sentence(said)
    if dialect == "runway":  # the camera move leads: "Slow push-in: ..."
        lead = f"{camera[:1].upper()}{camera[1:]}: " if camera else ""
        if len(lead + words) > max_chars:
            lead = ""
        return _fitted(
            [
                (0, f"{lead}{words}"),
                (3, _sentence(where)),
                (4, _sentence(motion)),
                (2, _sentence(c.lighting)),
                (2, _sentence(look)),
                (4, _sentence(tone)),
            ],
            max_chars,
        )
    if dialect == "veo":  # cinematography, subject and action, setting, light, style, audio
        order = [
            (1, _sentence(camera)),
            (0, words),
            (3, _sentence(where)),
            (4, _sentence(motion)),
            (2, _sentence(c.lighting)),
            (2, _sentence(look)),
            (4, _sentence(tone)),
            (0, speech),
        ]
    elif dialect == "pika":
        order = [
            (2, _sentence(f"{look} style" if look else "")),
            (0, words),
            (3, _sentence(where)),
            (1, _sentence(camera)),
            (4, _sentence(motion)),
            (2, _sentence(c.lighting)),
            (4, _sentence(tone)),
        ]
    elif dialect == "kling":  # subject and movement, scene, camera, light and atmosphere
        order = [
            (0, words),
            (3, _sentence(where)),
            (4, _sentence(motion)),
            (1, _sentence(camera)),
            (2, _sentence(c.lighting)),
            (2, _sentence(look)),
            (4, _sentence(tone)),
            (0, speech),
        ]
    else:  # luma and the animatic read plain descriptive prose
        order = [
            (0, words),
            (3, _sentence(where)),
            (1, _sentence(camera)),
            (4, _sentence(motion)),
            (2, _sentence(c.lighting)),
            (2, _sentence(look)),
            (4, _sentence(tone)),
        ]
    return _fitted(order, max_chars)


def build_prompt(
    c: PromptComponents,
    provider: str,
    *,
    dialogue: str | None = None,
    title: str | None = None,
    max_chars: int = 2000,
    model: str | None = None,
    speaks: bool | None = None,
) -> str:
    """The shot's prompt in the dialect its provider (or model) reads best, within `max_chars`.

    With `c.said` (the person's words) the prompt leads with them verbatim and adds only what
    they did not say; when it must shorten, the chosen words go first. Models that speak
    (`speaks`; by default Veo) get the dialogue in quotes with its speaker.
    """
    dialect = dialect_of(provider, model)
    speaks = dialect == "veo" if speaks is None else speaks
    look = ", ".join(x for x in (c.style, c.realism) if x)
    tone = f"{c.emotional_tone} mood" if c.emotional_tone else ""
    speech = spoken(dialogue, c.subject, c.said) if speaks and dialogue else ""
    if title and provider == "animatic":
        text = (
            f'Title card: the words "{title}" in clean, legible type. {_sentence(c.style)} '
            f"{_sentence(tone)}"
        )
    elif title:
        # generated video misspells lettering: ask for the plate, the title is set in post
        text = (
            f"Background plate for a title card: {c.environment or 'a clean field'}, "
            f"{c.camera_movement or 'slow push-in'}. {_sentence(c.style)} {_sentence(tone)} "
            "An uncluttered centre left clear; no text, letters, numbers or logos anywhere."
        )
    elif c.said:
        return _written(c, dialect, speech, max_chars)
    elif dialect == "veo":
        text = " ".join(
            s
            for s in (
                _sentence(c.camera_movement),
                _sentence(_subject_action(c)),
                _sentence(c.lighting),
                _sentence(look),
                _sentence(tone),
                speech,
            )
            if s
        )
    elif dialect == "runway":
        lead = f"{c.camera_movement.capitalize()}: " if c.camera_movement else ""
        text = lead + " ".join(
            s
            for s in (
                _sentence(_subject_action(c)),
                _sentence(c.lighting),
                _sentence(look),
                _sentence(tone),
            )
            if s
        )
    elif dialect == "pika":
        text = ", ".join(
            x
            for x in (
                f"{look} style" if look else "",
                _subject_action(c),
                c.camera_movement,
                c.lighting,
                tone,
            )
            if x
        )
    elif dialect == "kling":
        text = ", ".join(
            x for x in (_subject_action(c), c.camera_movement, c.lighting, look, tone) if x
        )
    else:  # luma and the animatic read plain descriptive prose
        text = " ".join(
            s
            for s in (
                _sentence(f"{look + ' shot: ' if look else ''}{_subject_action(c)}"),
                _sentence(c.camera_movement),
                _sentence(c.lighting),
                _sentence(tone),
            )
            if s
        )
    return fit_text(text, max_chars)


# ------------------------------------------------------------------------------ take variations


@dataclass(frozen=True)
class VariationDesign:
    label: str
    camera_movement: str = ""
    lighting: str = ""
    emotional_tone: str = ""


def variation_designs(c: PromptComponents, read: SceneRead, count: int) -> list[VariationDesign]:
    """How a director varies `count` takes: the written framing first, then other angles, camera
    movements and an alternative light or mood, each different from the others."""
    subject = c.subject or "the subject"
    if re.match(r"^(?:A|An|The|This|That)\b", subject):
        subject = subject[:1].lower() + subject[1:]
    night = read.night
    alt_light = (
        "hard backlight through haze, silhouettes and rim light"
        if night
        else "cool blue-hour light, soft and even"
        if "golden" in c.lighting or "sunset" in c.lighting
        else "low golden-hour backlight, long shadows"
    )
    alt_light_2 = (
        "overcast, soft diffused light" if not night else "single warm practical, deep shadows"
    )
    cameras = [
        ("another angle: low-angle wide", "low-angle wide shot, slow push-in"),
        ("another move: slow orbit", f"slow orbit around {subject}"),
        ("closer: tight close-up", f"tight close-up on {subject}, shallow depth of field"),
        ("another angle: high angle", "high-angle shot looking down, slow crane down"),
        ("another move: handheld", "handheld camera, close and intimate"),
        ("another move: tracking", f"smooth tracking shot alongside {subject}"),
    ]
    if read.dialogue:
        cameras.insert(0, ("another angle: over-the-shoulder", "over-the-shoulder shot, static"))
    lights = [alt_light, alt_light_2]
    lenses = ["24mm wide lens", "85mm portrait lens", "35mm lens", "50mm lens"]
    mood = c.emotional_tone or "contemplative"
    designs = [VariationDesign("as written")]
    plan: list[VariationDesign] = [
        VariationDesign(cameras[0][0], camera_movement=cameras[0][1]),
        VariationDesign(cameras[1][0], camera_movement=cameras[1][1]),
        VariationDesign("alternative light", lighting=lights[0]),
        VariationDesign(cameras[2][0], camera_movement=cameras[2][1]),
        VariationDesign(
            "alternative mood", lighting=lights[1], emotional_tone=f"quieter, more {mood}"
        ),
    ]
    plan += [VariationDesign(label, camera_movement=move) for label, move in cameras[3:]]
    i = 0
    while len(designs) + len(plan) < count:
        label, move = cameras[i % len(cameras)]
        lens = lenses[(i // len(cameras)) % len(lenses)]
        light = lights[i % len(lights)]
        plan.append(
            VariationDesign(
                f"{label}, {lens}, alternative light",
                camera_movement=f"{move}, {lens}",
                lighting=light,
            )
        )
        i += 1
    return (designs + plan)[: max(1, count)]


def with_variation(c: PromptComponents, v: Variation | VariationDesign) -> PromptComponents:
    """`c` as take `v` frames it: its camera, light and mood override the written ones."""
    update = {
        k: getattr(v, k) for k in ("camera_movement", "lighting", "emotional_tone") if getattr(v, k)
    }
    return c.model_copy(update=update) if update else c


def plan_variations(
    c: PromptComponents,
    provider: str,
    *,
    takes: int,
    mode: str = "angles",
    dialogue: str | None = None,
    title: str | None = None,
    max_chars: int = 2000,
    model: str | None = None,
    speaks: bool | None = None,
    read: SceneRead | None = None,
) -> list[Variation]:
    """One variation per take, each a full prompt within `max_chars`. `mode` "seeds": the same
    prompt every take (only the seed changes); title cards are always "seeds"."""
    count = max(1, takes)

    def prompt(comps: PromptComponents) -> str:
        return build_prompt(
            comps,
            provider,
            dialogue=dialogue,
            title=title,
            max_chars=max_chars,
            model=model,
            speaks=speaks,
        )

    if mode == "seeds" or title:
        base = prompt(c)
        return [
            Variation(
                index=i, variation="as written" if i == 0 else "same prompt, new seed", prompt=base
            )
            for i in range(count)
        ]
    read = read or read_scene(c.said or c.subject, dialogue=dialogue, style=c.style)
    out: list[Variation] = []
    for i, design in enumerate(variation_designs(c, read, count)):
        out.append(
            Variation(
                index=i,
                variation=design.label,
                prompt=prompt(with_variation(c, design)),
                camera_movement=design.camera_movement,
                lighting=design.lighting,
                emotional_tone=design.emotional_tone,
            )
        )
    return out
