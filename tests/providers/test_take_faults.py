"""Every sandbox fault, played through `generate_takes` (and `reelforge make` for the retired
model): it ends in recovery or one clear message, is paid for at most once, and never yields a
silently worse video (a failed take is never picked; a fallback is in the output and the record).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from memory.models import Brief, Shot, TakeStatus
from memory.store import ProjectStore
from tools.production import Services, plan
from tools.providers.kling import KlingProvider
from tools.providers.registry import Registry
from tools.providers.runway import RunwayProvider
from tools.providers.sandbox import Sandbox
from tools.settings import Settings
from tools.takes import TakeBatch, generate_takes

BRIEF: dict[str, Any] = {
    "title": "Faults",
    "story": "A cup of coffee steams on a table.",
    "mood": "calm",
    "style": "cinematic",
    "duration": 4,
    "formats": ["16:9"],
    "audience": "everyone",
}


class Waits:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(min(seconds, 0.01))


def _setup(
    settings: Settings, provider: str, *, timeout_s: float = 30.0
) -> tuple[Services, str, Shot]:
    adapters = {
        "runway": lambda s: RunwayProvider(s, timeout_s=timeout_s),
        "kling": lambda s: KlingProvider(s, timeout_s=timeout_s),
    }
    services = Services(settings, ProjectStore(settings.db_path), Registry(settings, adapters))  # type: ignore[arg-type]
    brief = Brief(**{**BRIEF, "scenes": [{"description": BRIEF["story"], "provider": provider}]})
    production = plan(brief, services)
    project = services.store.create_project(brief.title, production)
    (shot,) = production.shots()
    assert shot.provider == provider
    return services, project.id, shot


def _takes(
    services: Services, project_id: str, shot: Shot, n: int, **kw: Any
) -> tuple[TakeBatch, Waits]:
    waits = Waits()

    async def go() -> TakeBatch:
        try:
            return await generate_takes(
                project_id,
                [shot],
                n,
                store=services.store,
                registry=services.registry,
                take_dir=services.settings.media_dir / "takes",
                sleep=waits,
                poll_interval_s=0.05,
                **kw,
            )
        finally:
            await services.registry.aclose()

    return asyncio.run(go()), waits


def _submissions(sandbox: Sandbox, provider: str) -> int:
    return int(sandbox.stats()["submissions"].get(provider, 0))


def test_rate_limit_past_the_adapters_retries_is_waited_out_and_paid_once(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    services, pid, shot = _setup(sandbox_settings, "runway")
    sandbox.fault("runway", "rate_limit", times=5, retry_after=0.01)  # the adapter retries 3
    batch, waits = _takes(services, pid, shot, 1)
    (take,) = batch.takes[shot.id]
    assert take.status is TakeStatus.SUCCEEDED and batch.best(shot.id) == take
    assert 0.01 in waits.waits  # the take waited the server's Retry-After, then resubmitted
    assert _submissions(sandbox, "runway") == 1
    assert [e.job_id for e in services.store.spend(pid)] == [take.job_id]


def test_a_long_retry_after_ends_in_one_clear_message(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    services, pid, shot = _setup(sandbox_settings, "runway")
    sandbox.fault("runway", "rate_limit", times=1, retry_after=900)
    batch, _ = _takes(services, pid, shot, 1)
    (take,) = batch.takes[shot.id]
    assert take.status is TakeStatus.FAILED and batch.best(shot.id) is None
    assert "rate limiting" in (take.error or "") and "900" in (take.error or "")
    assert _submissions(sandbox, "runway") == 0 and services.store.total_spend(pid) == 0


def test_5xx_on_submit_and_poll_recovers(sandbox: Sandbox, sandbox_settings: Settings) -> None:
    services, pid, shot = _setup(sandbox_settings, "runway")
    sandbox.fault("runway", "server_error", status=503, times=1)
    sandbox.fault("runway", "server_error", on="poll", status=500, times=1)
    batch, _ = _takes(services, pid, shot, 1)
    assert batch.takes[shot.id][0].status is TakeStatus.SUCCEEDED
    assert _submissions(sandbox, "runway") == 1


def test_500_on_submit_is_not_resent_and_the_other_takes_are_kept(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    services, pid, shot = _setup(sandbox_settings, "runway")
    sandbox.fault("runway", "server_error", status=500, times=1)
    batch, _ = _takes(services, pid, shot, 2)
    statuses = sorted(t.status.value for t in batch.takes[shot.id])
    assert statuses == ["failed", "succeeded"]  # partial result kept, failure reported
    (failed,) = batch.failures()
    assert "down or overloaded" in (failed.error or "")
    assert batch.best(shot.id) is not failed and batch.best(shot.id) is not None
    assert _submissions(sandbox, "runway") == 1  # the 500 was not sent again


def test_failed_and_refused_jobs_are_reported_and_never_picked(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    services, pid, shot = _setup(sandbox_settings, "runway")
    sandbox.fault("runway", "fail", reason="GPU node lost", times=1)
    sandbox.fault("runway", "moderation", times=1)
    batch, _ = _takes(services, pid, shot, 3)
    errors = sorted(t.error or "" for t in batch.failures())
    assert len(errors) == 2
    assert any("GPU node lost" in e for e in errors)
    assert any("content grounds" in e and "rephrase" in e for e in errors)
    best = batch.best(shot.id)
    assert best is not None and best.status is TakeStatus.SUCCEEDED
    assert best not in batch.failures()
    assert _submissions(sandbox, "runway") == 3  # failed jobs are paid, never resubmitted


def test_expired_url_is_fetched_again(sandbox: Sandbox, sandbox_settings: Settings) -> None:
    services, pid, shot = _setup(sandbox_settings, "runway")
    sandbox.fault("runway", "expire_url", times=1)
    batch, _ = _takes(services, pid, shot, 1)
    (take,) = batch.takes[shot.id]
    assert take.status is TakeStatus.SUCCEEDED and take.file is not None and take.file.exists()
    assert _submissions(sandbox, "runway") == 1


@pytest.mark.parametrize(
    ("kind", "words"),
    [("bad_key", "RUNWAYML_API_SECRET"), ("out_of_credits", "out of credits")],
)
def test_key_and_credit_errors_name_the_fix(
    sandbox: Sandbox, sandbox_settings: Settings, kind: str, words: str
) -> None:
    services, pid, shot = _setup(sandbox_settings, "runway")
    sandbox.fault("runway", kind, times=-1)
    batch, _ = _takes(services, pid, shot, 1)
    (take,) = batch.takes[shot.id]
    assert take.status is TakeStatus.FAILED and words in (take.error or "")
    assert services.store.total_spend(pid) == 0


def test_submit_timeout_is_never_resent_blindly(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    """Runway cannot look a job up by request: the take is UNKNOWN, named, and not resent."""
    services, pid, shot = _setup(sandbox_settings, "runway", timeout_s=0.3)
    sandbox.fault("runway", "hang", seconds=0.8, times=1)
    batch, _ = _takes(services, pid, shot, 1)
    (take,) = batch.takes[shot.id]
    assert take.status is TakeStatus.UNKNOWN and batch.best(shot.id) is None
    assert take.id in (take.error or "") and "NOT resubmitted" in (take.error or "")
    _wait_for(lambda: _submissions(sandbox, "runway") == 1)  # the hung request did land
    batch, _ = _takes(services, pid, shot, 1, retry_failed=False)  # what resume does
    assert batch.takes[shot.id][0].status is TakeStatus.UNKNOWN
    assert _submissions(sandbox, "runway") == 1


def test_submit_timeout_on_kling_is_reconciled_not_paid_twice(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    services, pid, shot = _setup(sandbox_settings, "kling", timeout_s=0.3)
    sandbox.fault("kling", "hang", seconds=0.8, times=1)
    batch, _ = _takes(services, pid, shot, 1)
    assert batch.takes[shot.id][0].status is TakeStatus.UNKNOWN
    _wait_for(lambda: _submissions(sandbox, "kling") == 1)
    batch, _ = _takes(services, pid, shot, 1, retry_failed=False)
    (take,) = batch.takes[shot.id]
    assert take.status is TakeStatus.SUCCEEDED and take.job_id is not None
    assert [e.job_id for e in services.store.spend(pid)] == [take.job_id]
    assert _submissions(sandbox, "kling") == 1


@pytest.mark.ffmpeg
def test_retired_model_falls_back_and_says_so(
    sandbox: Sandbox, sandbox_settings: Settings, tmp_path: Path
) -> None:
    sandbox.fault("runway", "retired", model="gen4.5", times=-1)
    brief = tmp_path / "brief.yaml"
    scenes = [{"description": BRIEF["story"], "provider": "runway"}]
    brief.write_text(json.dumps({**BRIEF, "scenes": scenes}))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["make", str(brief), "--takes", "1", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert "fell back from runway" in result.stderr
    project_id = json.loads(result.stdout)["project_id"]
    store = ProjectStore(sandbox_settings.db_path)
    revision = store.latest(project_id)
    assert revision is not None
    (shot,) = revision.production.shots()
    assert shot.provider != "runway" and shot.provider_reason.startswith("fell back from runway")
    picked = store.take(revision.production.picks[shot.id])
    assert picked.provider == shot.provider and picked.status is TakeStatus.SUCCEEDED
    assert _submissions(sandbox, "runway") == 0 and _submissions(sandbox, shot.provider) == 1
    assert all(p.exists() for p in revision.production.exports)
    store.close()


def _wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)
