"""`reelforge plan --json` of the issue's brief, as a person runs it: every shot complete, the
rule named, dialogue on a model that speaks, `--provider N=veo` honoured with a Runway key."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from tests.conftest import EXAMPLES

runner = CliRunner()


def plan(*args: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["plan", str(EXAMPLES / "harbour-return.yaml"), "--json", *args])
    assert result.exit_code == 0, result.output
    return [shot for scene in json.loads(result.stdout)["scenes"] for shot in scene["shots"]]


def test_plan_json_offline_names_each_rule_and_misses_nothing() -> None:
    shots = plan()
    assert all(s["missing_components"] == [] for s in shots)
    assert [s["preferred_reason"].split(" → ")[0] for s in shots] == [
        "dialogue",
        "chase or heavy motion",
        "camera move with realism (slow dolly-in that turns into a crane up)",
        "abstract or experimental",
        "title card",
    ]
    assert 'tells her father "You came back." and he answers softly' in shots[0]["prompt"]
    assert "A slow dolly-in that turns into a crane up over the harbour" in shots[2]["prompt"]
    assert "swirling ink and light" in shots[3]["prompt"]


def test_plan_json_with_only_a_runway_key_speaks_through_veo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key")
    shots = plan("--provider", "3=veo")
    talk, chase, crane = shots[:3]
    assert (talk["provider"], talk["model"]) == ("runway", "veo3.1")
    assert talk["reason"].startswith("via Runway veo3.1")
    assert 'Father says: "I never really left."' in talk["prompt"]
    assert len(talk["prompt"]) <= 1000 and len(chase["prompt"]) <= 1000
    assert (crane["provider"], crane["model"]) == ("runway", "veo3.1")  # --provider 3=veo
    assert crane["preferred_reason"] == "override: veo chosen by you"


def test_plan_json_gives_one_variation_per_take_of_every_live_shot() -> None:
    """`--takes 5` reaches the planner: each live shot lists five variations with five different
    full prompts (take 1 the framing as written), and plan --json carries each shot's lines."""
    shots = plan("--takes", "5")
    live = [s for s in shots if s["preferred_reason"].split(" → ")[0] != "title card"]
    assert live
    for shot in live:
        assert [v["index"] for v in shot["variations"]] == [0, 1, 2, 3, 4]
        assert len({v["prompt"] for v in shot["variations"]}) == 5, shot["id"]
        assert len({v["variation"] for v in shot["variations"]}) == 5, shot["id"]
        assert shot["variations"][0]["prompt"] == shot["prompt"]
    assert "You came back." in shots[0]["dialogue"]
