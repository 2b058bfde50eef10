"""`make` and chat are one engine: for the same brief they plan the same shots, quote the same
price (takes and paid sound) and export the same files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from agent.cli.main import app
from agent.conversation import words
from memory.models import Production
from memory.store import ProjectStore
from tools.production import Services
from tools.settings import Settings
from tools.studio import Studio

runner = CliRunner()

FIELDS: dict[str, Any] = {
    "title": "Same Film",
    "story": "A cup of coffee steams on a wooden table. A hand lifts it.",
    "mood": "calm",
    "style": "cinematic",
    "duration": 4,
    "formats": ["16:9", "9:16"],
    "audience": "coffee lovers",
}


def _shots(production: Production) -> list[tuple[str, str, str, float]]:
    return [(s.id, s.provider, s.prompt, s.duration) for s in production.shots()]


def _chat(settings: Settings, out: Path | None = None) -> Studio:
    services = Services.open(settings)
    studio = Studio(services, "t", out_dir=out)
    studio.update_brief(**FIELDS)
    studio.plan()
    return studio


def test_make_and_chat_plan_and_price_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNWAYML_API_SECRET", "k")
    monkeypatch.setenv("LUMAAI_API_KEY", "k")
    brief = tmp_path / "brief.yaml"
    brief.write_text(json.dumps(FIELDS))
    planned = runner.invoke(app, ["plan", str(brief), "--json"])
    assert planned.exit_code == 0, planned.output
    data = json.loads(planned.stdout)
    settings = Settings(data_dir=tmp_path / "data", runwayml_api_secret=SecretStr("k"))
    studio = _chat(settings)
    try:
        _, production = studio._require_project()
        shots = [
            (s["id"], s["provider"], s["prompt"], s["duration"])
            for sc in data["scenes"]
            for s in sc["shots"]
        ]
        assert shots == _shots(production)
        assert any(p != "animatic" for _, p, _, _ in shots)  # a paid shot is priced
        quote = studio.quote_takes(None).plus(studio.quote_export())
        assert quote.cost_usd > 0
        assert data["estimated_cost_usd"] == pytest.approx(quote.cost_usd)
    finally:
        asyncio.run(studio.services.aclose())


@pytest.mark.ffmpeg
def test_make_and_chat_export_the_same_files(tmp_path: Path) -> None:
    brief = tmp_path / "brief.yaml"
    brief.write_text(json.dumps(FIELDS))
    made = runner.invoke(app, ["make", str(brief), "--out", str(tmp_path / "make"), "--json"])
    assert made.exit_code == 0, made.output
    result = json.loads(made.stdout)
    settings = Settings(data_dir=tmp_path / "data")
    studio = _chat(settings, tmp_path / "chat")
    try:
        asyncio.run(studio.generate())
        said = words.exported(asyncio.run(studio.export()))
        _, production = studio._require_project()
    finally:
        asyncio.run(studio.services.aclose())
    store = ProjectStore(settings.db_path)
    try:
        revision = store.latest(result["project_id"])
        assert revision is not None
        assert _shots(revision.production) == _shots(production)
    finally:
        store.close()
    made_files = sorted(Path(p).relative_to(tmp_path / "make") for p in result["exports"])
    chat_files = sorted(Path(p).relative_to(tmp_path / "chat") for p in production.exports)
    assert made_files == chat_files and made_files[0].parts[0] == "rev-1"
    # the one --out rule: every revision kept in OUT/rev-N, the latest also in OUT itself
    for out, files in ((tmp_path / "make", made_files), (tmp_path / "chat", chat_files)):
        for name in files:
            latest = out / name.name
            assert latest.is_file() and latest.samefile(out / name), latest
    assert "Exported revision 1" in said


@pytest.mark.ffmpeg
def test_exports_follow_a_renamed_title(tmp_path: Path) -> None:
    studio = _chat(Settings(data_dir=tmp_path / "data"), tmp_path / "out")
    try:
        asyncio.run(studio.generate())
        studio.update_brief(title="Morning Ritual")
        studio.plan()
        asyncio.run(studio.export())
        _, production = studio._require_project()
        timeline = studio.export_timeline()
    finally:
        asyncio.run(studio.services.aclose())
    assert sorted(p.name for p in production.exports) == [
        "morning-ritual-16x9.mp4",
        "morning-ritual-9x16.mp4",
    ]
    assert timeline.path.name == "morning-ritual.otio"
    assert "morning-ritual.otio" in words.timeline(timeline)


@pytest.mark.ffmpeg
def test_a_revision_is_parsed_once_and_kept_with_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tools.production.revision as revision

    parsed: list[str] = []
    real = revision.parse_change

    def counting(request: str, **kw: Any) -> Any:
        parsed.append(request)
        return real(request, **kw)

    monkeypatch.setattr(revision, "parse_change", counting)
    settings = Settings(data_dir=tmp_path / "data")
    studio = _chat(settings, tmp_path / "out")
    try:
        asyncio.run(studio.generate())
        offered = words.revision_offer(studio.revise("make it warmer"))
        assert "Ask which option to apply." in offered
        # a new facade on the same thread (a restart) reads the kept plan
        again = Studio(studio.services, "t", out_dir=tmp_path / "out")
        assert again.quote_revision("rerender").cost_usd == 0
        said = words.exported(asyncio.run(again.apply_revision("regrade")))
    finally:
        asyncio.run(studio.services.aclose())
    assert parsed == ["make it warmer"]
    assert "warmer" in said and "regrade" in said


@pytest.mark.ffmpeg
def test_chat_takes_follow_a_variation_plan_not_only_seeds(tmp_path: Path) -> None:
    """Asking chat for 3 takes of a shot planned with 1 gives 3 takes with 3 different prompts
    (the plan is drawn again and saved before anything renders, so the record and the requests
    agree)."""
    from tools.planner import take_prompt

    studio = _chat(Settings(data_dir=tmp_path / "data"), tmp_path / "out")
    try:
        _, before = studio._require_project()
        assert all(len(s.variations) == 1 for s in before.shots())
        asyncio.run(studio.generate(3, shots=["1.1"]))
        project, production = studio._require_project()
        shot = production.shot("1.1")
        assert len(shot.variations) == 3
        assert len({take_prompt(shot, i) for i in range(3)}) == 3
        takes = [t for t in studio.services.store.takes(project.id) if t.shot_id == "1.1"]
        assert len(takes) == 3
    finally:
        asyncio.run(studio.services.aclose())
