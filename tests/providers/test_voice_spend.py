"""A paid voice-over is money: priced before, held to the budget, written to the ledger before
the request, refunded when it surely failed, never asked for twice for the same narration, and
approved in chat like any other spend. OpenAI and ElevenLabs are the loopback sandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from memory.briefs import parse_brief
from memory.models import Finishing, Production
from memory.store import ProjectStore
from tools.post.finishing import FinishingRun, quote_voice, voice_key, voice_price
from tools.providers.base import ProviderError
from tools.providers.sandbox import Sandbox
from tools.providers.sandbox.core import Fault
from tools.settings import Settings

TEXT = "The city wakes, and she is already on the roof."
BRIEF = parse_brief(
    {
        "title": "Roof",
        "story": "A girl on a rooftop.",
        "mood": "calm",
        "style": "cinematic",
        "duration": 2,
        "formats": ["9:16"],
        "audience": "everyone",
    }
)


def _run(settings: Settings, store: ProjectStore, project_id: str, work: Path) -> FinishingRun:
    return FinishingRun(
        Finishing(voiceover=TEXT),
        work,
        settings,
        lambda _name, _fraction: None,
        store=store,
        project_id=project_id,
    )


@pytest.fixture
def ledger(sandbox_settings: Settings) -> tuple[ProjectStore, str]:
    store = ProjectStore(sandbox_settings.db_path)
    project = store.create_project("Roof", Production(brief=BRIEF))
    return store, project.id


def test_paid_voice_is_priced_charged_once_and_reused(
    sandbox: Sandbox, sandbox_settings: Settings, ledger: tuple[ProjectStore, str], tmp_path: Path
) -> None:
    store, pid = ledger
    work = tmp_path / "work"
    quote = quote_voice(Finishing(voiceover=TEXT), sandbox_settings, work)
    price = voice_price("openai", TEXT)
    assert (quote.engine, quote.cost_usd) == ("openai", price) and price > 0

    first = _run(sandbox_settings, store, pid, work)
    spoken = asyncio.run(first.voice())
    assert spoken is not None and spoken.stat().st_size > 0 and first.voice_engine == "openai"
    assert f"${price:.4f} for {len(TEXT)} characters" in first.notes[0]
    (entry,) = store.spend(pid)
    assert (entry.kind, entry.amount_usd, entry.provider) == ("submit", price, "openai")
    assert entry.job_id == f"voice-{voice_key('openai', TEXT)}"
    assert sandbox.state.submissions["openai"] == 1

    again = _run(sandbox_settings, store, pid, work)
    assert asyncio.run(again.voice()) == spoken
    assert "(reused)" in again.notes[0]
    assert len(store.spend(pid)) == 1 and sandbox.state.submissions["openai"] == 1
    assert quote_voice(Finishing(voiceover=TEXT), sandbox_settings, work).cost_usd == 0


def test_a_refused_request_is_refunded_and_the_next_voice_is_charged(
    sandbox: Sandbox, sandbox_settings: Settings, ledger: tuple[ProjectStore, str], tmp_path: Path
) -> None:
    store, pid = ledger
    sandbox.state.add_fault(Fault("openai", "out_of_credits"))
    run = _run(sandbox_settings, store, pid, tmp_path / "work")
    assert asyncio.run(run.voice()) is not None
    assert run.voice_engine == "elevenlabs"
    kinds = [(e.kind, e.provider) for e in store.spend(pid)]
    assert kinds == [("submit", "openai"), ("refund", "openai"), ("submit", "elevenlabs")]
    assert store.total_spend(pid) == pytest.approx(voice_price("elevenlabs", TEXT))
    assert any("fell back past openai" in note for note in run.notes)


def test_an_unsettled_request_is_not_sent_again(
    sandbox: Sandbox,
    sandbox_settings: Settings,
    ledger: tuple[ProjectStore, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, pid = ledger
    work = tmp_path / "work"
    speak = FinishingRun._speak

    async def openai_times_out(self: FinishingRun, engine: str, text: str, dest: Path) -> None:
        if engine == "openai":
            raise ProviderError("ReadTimeout on POST audio/speech", kind="timeout")
        await speak(self, engine, text, dest)

    monkeypatch.setattr(FinishingRun, "_speak", openai_times_out)
    first = _run(sandbox_settings, store, pid, work)
    asyncio.run(first.voice())
    # the timed-out request may have been charged: its charge stays, nothing is refunded
    assert [(e.kind, e.provider) for e in store.spend(pid)] == [
        ("submit", "openai"),
        ("submit", "elevenlabs"),
    ]
    monkeypatch.setattr(FinishingRun, "_speak", speak)
    again = _run(sandbox_settings, store, pid, work)
    asyncio.run(again.voice())
    assert sandbox.state.submissions["openai"] == 0  # never sent again
    assert again.voice_engine == "elevenlabs" and "(reused)" in again.notes[0]
    assert any("sent before and its result never came back" in note for note in again.notes)
    assert len(store.spend(pid)) == 2


def test_a_deleted_cache_buys_the_voice_again(
    sandbox: Sandbox, sandbox_settings: Settings, ledger: tuple[ProjectStore, str], tmp_path: Path
) -> None:
    store, pid = ledger
    work = tmp_path / "work"
    asyncio.run(_run(sandbox_settings, store, pid, work).voice())
    for path in work.iterdir():
        path.unlink()
    asyncio.run(_run(sandbox_settings, store, pid, work).voice())
    assert sandbox.state.submissions["openai"] == 2
    assert [e.kind for e in store.spend(pid)] == ["submit", "submit"]


def test_a_voice_over_the_budget_is_not_bought(
    sandbox: Sandbox,
    sandbox_settings: Settings,
    ledger: tuple[ProjectStore, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tools.post.sound as sound

    monkeypatch.setattr(sound.shutil, "which", lambda _name: None)  # and no espeak-ng
    store, pid = ledger
    settings = sandbox_settings.model_copy(update={"budget_usd": 0.0001})
    run = _run(settings, store, pid, tmp_path / "work")
    assert asyncio.run(run.voice()) is None
    assert sandbox.state.submissions["openai"] == sandbox.state.submissions["elevenlabs"] == 0
    assert store.spend(pid) == []
    (note,) = run.notes
    assert note.startswith("no voice-over:") and "over the budget" in note


@pytest.mark.ffmpeg
def test_chat_export_with_a_paid_voice_waits_for_approval(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.runtime import ChatRuntime
    from tests.fakes.scripted import ScriptedChatModel, call

    # only the voice is paid: the video stays on the free animatic
    monkeypatch.setenv("OPENAI_API_KEY", "sandbox-key")
    monkeypatch.setenv(
        "REELFORGE_OPENAI_BASE_URL", sandbox.base_urls()["REELFORGE_OPENAI_BASE_URL"]
    )
    settings = Settings(data_dir=tmp_path / "data", model="offline")
    model = ScriptedChatModel(
        script=[
            call("update_brief", **{k: v for k, v in BRIEF.model_dump(mode="json").items() if v}),
            call("plan_production"),
            call("generate_takes", takes=1),
            call("finish_options", voiceover=TEXT),
            call("export_video"),
            AIMessage("Fine, no export."),
        ]
    )

    async def chat() -> None:
        async with ChatRuntime.open(settings, model=model) as rt:
            turn = await rt.send("t", "make it, with narration")
            assert turn.approval is not None and turn.approval.tool == "export_video"
            assert turn.approval.price_usd == pytest.approx(voice_price("openai", TEXT))
            done = await rt.decide("t", "reject", message="no paid voice")
            assert done.replies == ["Fine, no export."]
            studio = rt.studio("t")
            project = studio.project()
            assert project is not None
            kinds = [e.kind for e in studio.services.store.spend(project.id)]
            assert kinds == ["rejection"]
            assert studio.services.store.revisions(project.id) == []

    asyncio.run(chat())
    assert sandbox.state.submissions["openai"] == 0
