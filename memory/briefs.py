"""Read a brief from YAML and explain, in one line, anything wrong with it."""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml
from pydantic import ValidationError

from memory.models import ASPECTS, Brief, Finishing, SceneSpec

MAX_BRIEF_BYTES = 256 * 1024


class BriefError(ValueError):
    """A brief that cannot be used; the message is one line a person can act on."""


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _explain(exc: ValidationError) -> str:
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = ".".join(str(part) for part in err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        fields = {"scenes": SceneSpec.model_fields, "finishing": Finishing.model_fields}
        known = list(fields.get(str(err["loc"][0]), Brief.model_fields))
        return f"unknown key {_shown(loc)}{_suggest(key[:100], known)}"
    if kind == "missing":
        return f"missing key {loc!r}"
    if kind == "literal_error" and "formats" in err["loc"]:
        return (
            f"unknown format {_shown(err['input'])} in 'formats'; use any of {', '.join(ASPECTS)}"
        )
    if err["loc"] == ("finishing",) and kind in ("model_type", "dict_type"):
        options = ", ".join(Finishing.model_fields)
        return f"'finishing' is a mapping of options ({options}), got {_shown(err.get('input'))}"
    if kind == "literal_error" and isinstance(err.get("input"), bool):
        # YAML reads an unquoted yes/no/on/off as true/false
        return f"{loc}: {err['msg']} (got {err['input']!r}: YAML reads yes/no/on/off as true/false)"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if loc:
        return f"{loc}: {msg} (got {_shown(err['input'])})" if "input" in err else f"{loc}: {msg}"
    return msg


def _shown(value: object, limit: int = 60) -> str:
    """A short, escaped rendering of a bad value (never the whole 1 MB, never raw escapes)."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"a deeply nested {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_brief(data: object, *, base_dir: Path | None = None) -> Brief:
    """Validate already-parsed brief data; relative music paths resolve against `base_dir`."""
    if data is None or data == {}:
        raise BriefError(
            "the brief is empty; it needs title, story, mood, style, duration, formats, audience"
        )
    if not isinstance(data, dict):
        raise BriefError(f"a brief is a mapping of keys to values, not a {type(data).__name__}")
    if isinstance(data.get("formats"), str):
        data = {**data, "formats": [data["formats"]]}
    try:
        brief = Brief.model_validate(data)
    except ValidationError as exc:
        raise BriefError(" ".join(_explain(exc).split())) from None
    except RecursionError:
        raise BriefError("the brief is nested too deeply to be a brief") from None
    if brief.music is not None:
        music = (
            brief.music if brief.music.is_absolute() or base_dir is None else base_dir / brief.music
        )
        if not music.is_file():
            raise BriefError(f"music file not found: {music}")
        brief = brief.model_copy(update={"music": music.resolve()})
    return brief


def load_brief(path: Path) -> Brief:
    """Load and validate a YAML brief file."""
    if not path.is_file():
        raise BriefError(f"no brief file at {path}")
    size = path.stat().st_size
    if size > MAX_BRIEF_BYTES:
        raise BriefError(f"{path} is {size} bytes; a brief is at most {MAX_BRIEF_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BriefError(f"{path} is not a text file (YAML expected)") from None
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise BriefError(f"{path} is nested too deeply to be a brief") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BriefError(f"{path} is not valid YAML{where}") from None
    return parse_brief(data, base_dir=path.parent)
