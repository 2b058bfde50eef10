"""A brief's run is one project: `make` again after a failure continues it (its takes, ledger
and cap), two identical runs at once never both pay, and `resume` names each take it could not
reconcile, on stdout and in --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from memory.store import ProjectStore
from tests.providers.test_take_faults import BRIEF, _setup, _submissions, _takes
from tools.production import RunSpec
from tools.providers.registry import default_profile
from tools.providers.sandbox import Sandbox
from tools.settings import Settings

pytestmark = pytest.mark.ffmpeg
runner = CliRunner()


def _brief(tmp_path: Path) -> Path:
    path = tmp_path / "brief.yaml"
    scenes = [{"description": BRIEF["story"], "provider": "runway"}]
    path.write_text(json.dumps({**BRIEF, "scenes": scenes}))
    return path


def _projects(settings: Settings) -> list[str]:
    store = ProjectStore(settings.db_path)
    try:
        return [p.id for p, _ in store.list_projects()]
    finally:
        store.close()


def test_make_again_after_a_failure_continues_the_same_project_and_its_cap(
    sandbox: Sandbox, sandbox_settings: Settings, tmp_path: Path
) -> None:
    brief = _brief(tmp_path)
    one = default_profile("runway").price(4)
    sandbox.fault("runway", "bad_key", times=1)
    first = runner.invoke(app, ["make", str(brief), "--takes", "1", "--budget", f"{one:.2f}"])
    assert first.exit_code == 1, first.output
    (project,) = _projects(sandbox_settings)
    # the project's cap ($one) survives: two takes do not fit it, without --budget too
    over = runner.invoke(app, ["make", str(brief), "--takes", "2"])
    assert over.exit_code == 2 and "over the budget" in over.stderr, over.output
    again = runner.invoke(app, ["make", str(brief), "--takes", "1", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["project_id"] == project
    assert _projects(sandbox_settings) == [project]  # no fresh project, no fresh budget


def test_two_identical_makes_at_once_never_pay_twice(
    sandbox: Sandbox, sandbox_settings: Settings, tmp_path: Path
) -> None:
    sandbox.state.latency = 1.5
    brief = _brief(tmp_path)
    env = {**os.environ, **sandbox.env(), "REELFORGE_DATA_DIR": str(sandbox_settings.data_dir)}
    command = [sys.executable, "-m", "agent.cli.main", "make", str(brief), "--takes", "2"]
    runs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, _, err in results if code == 2)
    assert "being made by another" in refused
    assert _submissions(sandbox, "runway") == 2  # the takes of one run
    assert len(_projects(sandbox_settings)) == 1


def test_resume_names_the_takes_it_could_not_reconcile(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    services, pid, shot = _setup(sandbox_settings, "runway", timeout_s=0.3)
    services.store.save_run(pid, RunSpec(takes=1).model_dump_json())
    sandbox.fault("runway", "hang", seconds=0.8, times=1)
    batch, _ = _takes(services, pid, shot, 1)
    (take,) = batch.takes[shot.id]
    services.store.close()
    for args in (["resume", pid], ["resume", pid, "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        if "--json" in args:
            (named,) = json.loads(result.stdout)["unreconciled"]
            assert named["take"] == take.id and named["shot"] == shot.id
        else:
            assert f"not reconciled: take {take.id} of shot {shot.id}" in result.stdout
        assert "Traceback" not in result.output
