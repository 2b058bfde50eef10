"""Turn decisions shared by every front end (the terminal chat and Slack): reading an approval
answer, and the words for each pipeline step."""

from __future__ import annotations

from typing import Any

STEP_LABELS = {
    "plan": "planning",
    "takes": "rendering takes",
    "master": "cutting the master",
    "audio": "laying the audio bed",
    "loudness": "levelling loudness to -14 LUFS",
    "export": "exporting every format",
    "stabilise": "stabilising the picked takes",
    "voiceover": "speaking the voice-over",
    "interpolate": "interpolating the frame rate",
    "subtitles": "adding subtitles",
    "uhd": "writing UHD files",
}


def parse_decision(line: str) -> tuple[str, str | None, dict[str, Any] | None] | None:
    """`approve` / `yes`, `reject [why]` / `no`, `edit takes=2` -> (decision, message, args)."""
    words = line.strip().split(maxsplit=1)
    if not words:
        return None
    head, rest = words[0].lower().rstrip(".!,"), (words[1] if len(words) > 1 else "")
    if head in ("approve", "approved", "yes", "y", "ok", "okay", "go"):
        return "approve", None, None
    if head in ("reject", "rejected", "no", "n", "cancel"):
        return "reject", rest or None, None
    if head == "edit":
        args: dict[str, Any] = {}
        for pair in rest.replace(",", " ").split():
            key, sep, value = pair.partition("=")
            if not sep:
                return None
            args[key] = int(value) if value.isdigit() else value
        return ("edit", None, args) if args else None
    return None
