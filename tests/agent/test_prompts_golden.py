"""Prompts load strictly, and the rendered system prompt and the tool schemas the model sees are
pinned by golden files: a change to either shows up in review. Regenerate with UPDATE_GOLDEN=1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool

import prompts
from agent.runtime import system_prompt
from agent.tools import ALL_TOOLS
from tools.settings import Settings

GOLDEN = Path(__file__).parent / "golden"


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; review, then UPDATE_GOLDEN=1"


def test_system_prompt_golden(tmp_path: Path) -> None:
    _check("system_prompt.txt", system_prompt(Settings(data_dir=tmp_path, approve_above_usd=2)))


def test_tool_schemas_golden() -> None:
    schemas = [convert_to_openai_tool(t) for t in ALL_TOOLS]
    _check("tool_schemas.json", json.dumps(schemas, indent=2, sort_keys=True) + "\n")
    # the injected runtime never leaks into what the model sees
    assert all("runtime" not in s["function"]["parameters"].get("properties", {}) for s in schemas)


def test_render_is_strict_about_variables() -> None:
    with pytest.raises(prompts.PromptError, match="needs"):
        prompts.render("system", providers="x")
    values = dict.fromkeys(prompts.placeholders(prompts.load("system")), "v")
    with pytest.raises(prompts.PromptError, match="no placeholder for typo"):
        prompts.render("system", **values, typo="v")
    assert "$" not in prompts.render("system", **values).replace("$v", "")
    with pytest.raises(prompts.PromptError, match="no prompt file"):
        prompts.load("nope")
