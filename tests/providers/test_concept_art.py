"""`reelforge ref generate` through the OpenAI image adapter against the sandbox: priced,
approved, on the spend ledger before the request, refunded on a sure refusal."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from tools.providers.sandbox import Sandbox
from tools.references import IMAGE_PRICES_USD
from tools.settings import Settings

ARGS = ["ref", "generate", "a moody harbour at night", "--kind", "environment", "--name", "Harbour"]
PRICE = IMAGE_PRICES_USD["medium"]


def _ledger(settings: Settings) -> list[tuple[str, float]]:
    if not settings.db_path.exists():
        return []
    with sqlite3.connect(settings.db_path) as conn:
        return [(k, a) for k, a in conn.execute("SELECT kind, amount_usd FROM spend ORDER BY seq")]


def test_generate_is_paid_once_and_ingested(
    sandbox: Sandbox, sandbox_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REELFORGE_DATA_DIR", str(sandbox_settings.data_dir))
    result = CliRunner().invoke(app, [*ARGS, "--yes", "--json"])
    assert result.exit_code == 0, result.output
    added = json.loads(result.stdout)
    assert added["name"] == "Harbour" and Path(added["file"]).is_file()
    assert sandbox.stats()["submissions"] == {"openai": 1}
    assert _ledger(sandbox_settings) == [("submit", PRICE)]
    listed = CliRunner().invoke(app, ["ref", "list"])
    assert "Harbour" in listed.stdout


@pytest.mark.parametrize(
    ("extra", "words"),
    [([], "pass --yes"), (["--yes", "--budget", "0.01"], "budget")],
)
def test_unapproved_or_over_budget_is_refused_before_any_request(
    sandbox: Sandbox,
    sandbox_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    words: str,
) -> None:
    monkeypatch.setenv("REELFORGE_DATA_DIR", str(sandbox_settings.data_dir))
    result = CliRunner().invoke(app, [*ARGS, *extra])
    assert result.exit_code == 2, result.output
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sandbox.stats()["submissions"] == {}
    assert _ledger(sandbox_settings) == []


def test_a_sure_refusal_is_refunded(
    sandbox: Sandbox, sandbox_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REELFORGE_DATA_DIR", str(sandbox_settings.data_dir))
    sandbox.fault("openai", "moderation")
    result = CliRunner().invoke(app, [*ARGS, "--yes"])
    assert result.exit_code == 2, result.output
    assert "content grounds" in result.stderr
    assert _ledger(sandbox_settings) == [("refused", PRICE)]
