"""`reelforge slack` names the missing variable and exits 2 before connecting anywhere."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agent.cli.main import app

SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")


@pytest.mark.parametrize(
    ("args", "env", "missing"),
    [
        ([], {}, "SLACK_BOT_TOKEN"),
        ([], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        (["--http", "--port", "0"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        (["--http"], {"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
    ],
)
def test_missing_tokens_name_the_variable_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], missing: str
) -> None:
    for var in SLACK_VARS:
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    result = CliRunner().invoke(app, ["slack", *args])
    assert result.exit_code == 2
    assert f"{missing} is not set" in result.output
    assert "xoxb-1" not in result.output


def test_the_manifest_asks_for_what_the_bot_uses() -> None:
    from pathlib import Path

    import yaml

    manifest = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "slack-manifest.yaml").read_text()
    )
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    # what the listeners subscribe to and the Web API methods the worker calls
    assert {"app_mention", "message.im", "message.channels", "assistant_thread_started"} <= events
    assert {
        "chat:write",
        "files:write",
        "files:read",
        "reactions:write",
        "assistant:write",
        "app_mentions:read",
        "im:history",
        "channels:history",
    } <= scopes
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
