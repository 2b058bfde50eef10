"""The words reelforge says to a model, as files. Loaded strictly: `$name` placeholders must all be
given, and every value given must be used, so a renamed variable fails loudly instead of leaving a
hole in a prompt."""

from __future__ import annotations

import string
from importlib import resources


class PromptError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def load(name: str) -> str:
    """The raw text of `prompts/<name>.md`."""
    try:
        return resources.files("prompts").joinpath(f"{name}.md").read_text("utf-8")
    except FileNotFoundError:
        raise PromptError(f"no prompt file prompts/{name}.md") from None


def placeholders(text: str) -> set[str]:
    return {
        m.group("named") or m.group("braced")
        for m in string.Template.pattern.finditer(text)
        if m.group("named") or m.group("braced")
    }


def render(name: str, **values: object) -> str:
    """`prompts/<name>.md` with every `$placeholder` filled from `values`."""
    text = load(name)
    wanted = placeholders(text)
    missing = sorted(wanted - set(values))
    if missing:
        raise PromptError(f"prompt {name!r} needs {', '.join(missing)}")
    unused = sorted(set(values) - wanted)
    if unused:
        raise PromptError(f"prompt {name!r} has no placeholder for {', '.join(unused)}")
    return string.Template(text).substitute({k: str(v) for k, v in values.items()})
