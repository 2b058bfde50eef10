"""Scene edits the offline director understands: add, remove, reorder, replace or describe scene
N, set its dialogue or camera, make it faster or slower. The scenes come from the thread's state
(`agent.conversation.state`), so a scene keeps its dialogue, camera and transition when the list
is rebuilt; the person's words are parsed here, the tools' sentences never are.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.conversation.state import SceneState

ORDINALS = {
    "first": 1,
    "1st": 1,
    "opening": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "sixth": 6,
    "6th": 6,
    "seventh": 7,
    "eighth": 8,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
}
_ORD = "|".join(ORDINALS)
REF = re.compile(
    rf"\b(?:(?:the\s+)?(?P<ord>{_ORD}|last|final|closing|ending)\s+(?:scene|shot)|"
    rf"(?:scene|shot)s?\s*(?:#|no\.?|number)?\s*(?P<num>\d{{1,2}}|{_ORD})(?!\.\d))\b",
    re.IGNORECASE,
)
QUOTED = re.compile(r"[\"“”]([^\"“”]+)[\"“”]|(?<![\w])'([^']{2,}?)'(?![\w])")
CAMERA = re.compile(
    r"\b(?:drone|aerial|dolly|crane|push[- ]?in|pull[- ]?(?:out|back)|pan|tilt|tracking|track|"
    r"handheld|hand-held|steadicam|gimbal|close[- ]?up|closeup|wide(?: shot| angle)?|"
    r"establishing|overhead|top[- ]down|bird'?s[- ]eye|pov|point of view|over[- ]the[- ]shoulder|"
    r"orbit|zoom|static|locked[- ]off|tripod|slow[- ]motion|slo-?mo|low[- ]angle|high[- ]angle|"
    r"dutch angle|whip pan|rack focus|medium shot|two[- ]shot|macro|fpv|360)\b",
    re.IGNORECASE,
)
FASTER = re.compile(
    r"\b(?:faster|quicker|shorter|snappier|speed (?:it )?up|tighter|punchier)\b", re.I
)
SLOWER = re.compile(r"\b(?:slower|longer|slow (?:it )?down|linger|more time)\b", re.I)
REMOVE = re.compile(
    r"\b(?:remove|delete|drop|cut|get rid of|lose|skip|take out|kill|scrap|ditch)\b", re.I
)
ADD = re.compile(r"\b(?:add|insert|include|put in|append|throw in|one more|another)\b", re.I)
SWAP_TWO = re.compile(r"\b(?:swap|switch|exchange|flip|reverse|trade)\b", re.I)
MOVE = re.compile(
    r"\b(?:move|put|place|shift|bring|start with|end with|open with|close with)\b", re.I
)
REPLACE = re.compile(
    r"\b(?:swap|switch|replace|change|turn|make|rewrite|redo|instead|should (?:be|show)|"
    r"becomes?|set)\b",
    re.IGNORECASE,
)
NEEDS_LLM = (
    "That scene change needs a language model. Offline I can: replace scene N ('scene 2: a "
    "beach at dawn'), add or remove a scene ('add a scene of the harbour at the end', 'remove "
    "scene 3'), reorder ('move scene 3 to the start', 'swap scenes 1 and 2'), set dialogue "
    "(in scene 2 she says \"You came back\") or the camera ('scene 3: drone shot'), and make a "
    "scene faster or slower."
)


@dataclass
class Edit:
    """A tool call to make, or (tool None) a sentence to say."""

    tool: str | None
    args: dict[str, Any] = field(default_factory=dict)
    say: str = ""


def mentions_scene(text: str) -> bool:
    return bool(REF.search(text)) or bool(
        re.search(
            r"\b(?:add|insert|another|new|extra|one more)\s+(?:a\s+)?(?:\w+\s+)?scene\b", text, re.I
        )
    )


def _index(m: re.Match[str], count: int) -> int:
    raw = (m.group("ord") or m.group("num") or "").lower()
    if raw in ("last", "final", "closing", "ending"):
        return count
    return int(raw) if raw.isdigit() else ORDINALS.get(raw, 0)


def _payload(text: str) -> str:
    """What a scene should show, with the scene reference and the command words removed."""
    text = REF.sub(" ", text)
    text = re.sub(
        r"^\s*(?:(?:ok|okay|so|and|also|please|actually|can you|could you|i want to|i'?d like to|"
        r"let'?s|now)[,\s]+)*",
        "",
        text,
        flags=re.I,
    )
    text = re.sub(
        r"^\s*(?:swap|switch|replace|change|turn|make|rewrite|redo|set|in|for|on)\b\s*",
        "",
        text,
        flags=re.I,
    )
    text = re.sub(
        r"^\s*(?:(?:so\s+)?(?:it|that)\s+)?(?:for|with|to|into|:|-|should (?:be|show)|shows?|"
        r"is|becomes?|instead|as)\b\s*",
        "",
        text.strip(" :,-"),
        flags=re.I,
    )
    text = re.sub(r"\s*\binstead\b\s*$", "", text, flags=re.I)
    text = text.strip(" .,:;!-")
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    return text


def parse(text: str, scenes: Sequence[SceneState]) -> Edit | None:
    """The scene edit `text` asks for against the thread's `scenes`; None if it is not one."""
    if not mentions_scene(text):
        return None
    count = len(scenes)
    if not count:
        return Edit(None, say="There is no plan yet: once the brief is complete I plan the scenes.")
    refs = list(REF.finditer(text))
    indexes = [_index(m, count) for m in refs]
    for i in indexes:
        if not 1 <= i <= count:
            return Edit(None, say=f"There is no scene {i}; the plan has scenes 1 to {count}.")
    low = text.lower()

    # add a scene
    if (
        ADD.search(low)
        and re.search(r"\bscenes?\b", low)
        and not (
            indexes
            and re.search(r"\b(?:add|put|give)\b.*\b(?:to|in|into)\b", low)
            and QUOTED.search(text)
        )
    ):
        add = re.search(
            r"\b(?:add|insert|include|put in|append|throw in)\s+(?:a |an |another |one more |new |"
            r"extra )*(?:new\s+)?scene\s*(?:of|where|with|showing|that shows|in which|:|-)?\s*(.+)",
            text,
            re.IGNORECASE,
        )
        if add:
            body = add.group(1)
            where = len(scenes)
            pos = re.search(
                r"\s*(?:,\s*)?\b(?:at the (?:end|start|beginning|front)|to the (?:end|start)|first|last|"
                r"(?:right\s+)?(?:after|before|between)\s+(?:the\s+)?(?:scene|shot|\w+ scene).*)$",
                body,
                re.IGNORECASE,
            )
            if pos:
                spot = pos.group(0).lower()
                body = body[: pos.start()]
                if re.search(r"start|beginning|front|first", spot):
                    where = 0
                elif m := REF.search(spot):
                    n = _index(m, count)
                    where = n - 1 if "before" in spot else n
            description = _payload(body)
            if not description:
                return Edit(None, say="What should the new scene show?")
            new = [s.spec(False) for s in scenes]
            new.insert(where, {"description": description})
            return Edit("set_scenes", {"scenes": new})

    # remove a scene
    if REMOVE.search(low) and indexes:
        kept = [s.spec(False) for i, s in enumerate(scenes, 1) if i not in indexes]
        if not kept:
            return Edit(None, say="A film needs at least one scene, so I kept it.")
        return Edit("set_scenes", {"scenes": kept})

    pair = re.search(r"\bscenes?\s+(\d{1,2})\s*(?:and|&|with|,)\s*(?:scene\s+)?(\d{1,2})\b", low)
    if pair and len(indexes) == 1:
        indexes.append(int(pair.group(2)))
        if not 1 <= indexes[1] <= count:
            return Edit(
                None, say=f"There is no scene {indexes[1]}; the plan has scenes 1 to {count}."
            )
    # swap two scenes
    if SWAP_TWO.search(low) and len(indexes) == 2:
        a, b = indexes
        order = list(range(1, count + 1))
        order[a - 1], order[b - 1] = order[b - 1], order[a - 1]
        return Edit("set_scenes", {"scenes": [scenes[i - 1].spec() for i in order]})
    ordinal_pair = re.search(
        rf"\b(?:swap|switch|exchange|flip)\s+(?:the\s+)?({_ORD}|last)\s+and\s+(?:the\s+)?"
        rf"({_ORD}|last)\s+scenes?\b",
        low,
    )
    if ordinal_pair:
        a, b = (
            count if w == "last" else ORDINALS.get(w, 0)
            for w in (ordinal_pair.group(1), ordinal_pair.group(2))
        )
        if 1 <= a <= count and 1 <= b <= count:
            order = list(range(1, count + 1))
            order[a - 1], order[b - 1] = order[b - 1], order[a - 1]
            return Edit("set_scenes", {"scenes": [scenes[i - 1].spec() for i in order]})

    # move a scene
    if indexes and (
        MOVE.search(low) or re.search(r"\bshould (?:come|go|be) (?:first|last)\b", low)
    ):
        n = indexes[0]
        target: int | None = None
        if re.search(
            r"\b(?:start|beginning|front|first|open with|start with|opening)\b",
            low.split(refs[0].group(0).lower(), 1)[-1],
        ) or re.search(r"\b(?:start|open) with\b", low):
            target = 1
        elif re.search(
            r"\b(?:end|last|close with|end with|final)\b",
            low.split(refs[0].group(0).lower(), 1)[-1],
        ) or re.search(r"\b(?:end|close) with\b", low):
            target = count
        elif len(indexes) == 2 and re.search(r"\b(?:before|after)\b", low):
            other = indexes[1]
            rest = [i for i in range(1, count + 1) if i != n]
            place = rest.index(other) + (1 if "after" in low else 0)
            rest.insert(place, n)
            return Edit("set_scenes", {"scenes": [scenes[i - 1].spec() for i in rest]})
        if target is not None:
            order = [i for i in range(1, count + 1) if i != n]
            order.insert(target - 1, n)
            return Edit("set_scenes", {"scenes": [scenes[i - 1].spec() for i in order]})

    if not indexes:
        return Edit(None, say=NEEDS_LLM)
    n = indexes[0]

    # dialogue
    quote = QUOTED.search(text)
    if quote and re.search(
        r"\b(?:says?|said|saying|line|lines|dialogue|tells?|asks?|whispers?|shouts?|yells?|"
        r"replies|answers?|speaks?|goes)\b|:",
        text,
        re.I,
    ):
        line = (quote.group(1) or quote.group(2)).strip()
        return Edit("edit_scene", {"index": n, "dialogue": line})
    if re.search(
        r"\b(?:no|remove the|without|cut the|drop the)\s+(?:dialogue|lines?|talking)\b", low
    ):
        return Edit("edit_scene", {"index": n, "dialogue": " "})

    # faster / slower
    if FASTER.search(low) or SLOWER.search(low):
        if (
            len(
                re.sub(
                    r"\b(?:make|scene|shot|the|a|bit|little|lot|much|please|\d+|faster|quicker|"
                    r"shorter|slower|longer|snappier|tighter|punchier|it|more|"
                    + _ORD
                    + r")\b|[^\w]",
                    "",
                    low,
                )
            )
            > 0
        ):
            pass
        factor = 0.7 if FASTER.search(low) else 1.3
        seconds = re.search(r"(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds)\b", low)
        length = (
            round(float(seconds.group(1)), 1)
            if seconds
            else round(scenes[n - 1].duration * factor, 1)
        )
        return _retime(scenes, n, length)

    payload = _payload(text)
    if m := ONLY_SECONDS.fullmatch(payload.strip(" .!").lower()):
        return _retime(scenes, n, round(float(m.group(1)), 1))  # "make scene 2 5 seconds"
    if not payload:
        return Edit(None, say=f"What should scene {n} show?")
    # camera
    if (
        CAMERA.search(payload)
        and len(CAMERA.sub(" ", payload.lower()).split()) <= 4
        and re.fullmatch(
            r"(?:(?:a|an|the|use|with|slow|fast|quick|shot|shots|camera|move|movement|angle|of it|"
            r"it|in|on|as|from|[\w'-]+ing)?\s*)*",
            CAMERA.sub(" ", payload.lower()).strip(),
        )
    ):
        camera = re.sub(r"^(?:use |with |as |from )?(?:an? |the )?", "", payload, flags=re.I)
        return Edit("edit_scene", {"index": n, "camera": camera[0].lower() + camera[1:]})
    if re.search(r"\bcamera\b\s*[:=]?\s*(?:should be|is)?\s*(.+)", text, re.I) and CAMERA.search(
        text
    ):
        m = re.search(r"\bcamera\b\s*[:=]?\s*(?:should be|is|to)?\s*(.+)", text, re.I)
        assert m
        return Edit("edit_scene", {"index": n, "camera": m.group(1).strip(" .")})

    # replace / describe
    if (
        REPLACE.search(low)
        or re.search(r"\b(?:scene|shot)\s*\d+\s*[:=-]", low)
        or re.match(
            r"^\s*(?:in\s+)?(?:the\s+)?(?:scene|shot)\b|^\s*(?:in\s+)?the\s+\w+\s+(?:scene|shot)\b",
            low,
        )
    ):
        if len(payload.split()) > 40:
            return Edit(None, say=NEEDS_LLM)
        if (
            re.search(
                r"\b(?:more|less|better|nicer|emotional|funnier|sadder|happier|darker|brighter)\b",
                payload.lower(),
            )
            and len(payload.split()) <= 4
        ):
            return Edit(None, say=NEEDS_LLM)
        return Edit("edit_scene", {"index": n, "description": payload})
    return Edit(None, say=NEEDS_LLM)


ONLY_SECONDS = re.compile(
    r"(?:(?:be|last|run|take|to|at|about|around|roughly|just)\s+)*(\d+(?:\.\d+)?)\s*"
    r"(?:s|sec|secs|seconds?)(?:\s+long)?"
)
MIN_SCENE_S = 1.5


def _retime(scenes: Sequence[SceneState], n: int, length: float) -> Edit:
    """Scene `n` lasts `length` seconds; a longer scene takes its time from the others so the
    film keeps its length, a shorter one changes only itself."""
    specs = [s.spec() for s in scenes]
    specs[n - 1]["duration"] = max(1.0, length)
    film = sum(s.duration for s in scenes)
    extra = sum(float(s["duration"]) for s in specs) - film
    if extra > 0.01 and not _take_from_the_others(specs, n - 1, extra):
        return Edit(
            None,
            say=f"Scene {n} can only get longer if the film does: say 'make it "
            f"{math.ceil((film + extra) * 2) / 2:g} seconds' first, then ask again.",
        )
    return Edit("set_scenes", {"scenes": specs})


def _take_from_the_others(specs: list[dict[str, Any]], longer: int, extra: float) -> bool:
    """Keep the film's length when scene `longer` grows by `extra` seconds: the other scenes
    give the time back in proportion to what each can spare (none below MIN_SCENE_S). False,
    and `specs` untouched, when they cannot spare it."""
    others = [i for i in range(len(specs)) if i != longer]
    spare = {i: float(specs[i]["duration"]) - MIN_SCENE_S for i in others}
    room = sum(max(0.0, v) for v in spare.values())
    if not others or room + 1e-6 < extra:
        return False
    total = sum(float(s["duration"]) for s in specs) - extra
    for i in others:
        specs[i]["duration"] = round(
            float(specs[i]["duration"]) - extra * max(0.0, spare[i]) / room, 1
        )
    last = others[-1]  # the rounding's remainder, so the film keeps its length exactly
    specs[last]["duration"] = round(
        total - sum(float(s["duration"]) for j, s in enumerate(specs) if j != last), 1
    )
    return True
