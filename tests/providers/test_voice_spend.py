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
from tests.fakes.scripted import ScriptedChatModel, call
from tools.post.finishing import FinishingRun
from tools.production.soundtrack import Soundtrack, StemKind, quote_audio, stem_key, stem_price
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
        stems=Soundtrack(settings, work, store=store, project_id=project_id),
    )


def _export_with(*, then: str, **finishing: str) -> ScriptedChatModel:
    """A chat that plans the brief, renders one free take, sets `finishing` and exports."""
    brief = {k: v for k, v in BRIEF.model_dump(mode="json").items() if v}
    return ScriptedChatModel(
        script=[
            call("update_brief", **brief),
            call("plan_production"),
            call("generate_takes", takes=1),
            call("finish_options", **finishing),
            call("export_video"),
            AIMessage(then),
        ]
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
    quote = quote_audio(
        Finishing(voiceover=TEXT), sandbox_settings, work, duration_s=2, music_file=False
    )
    price = stem_price("voice", "openai", TEXT)
    assert (quote.parts, quote.cost_usd) == ({"voice (openai)": price}, price) and price > 0

    first = _run(sandbox_settings, store, pid, work)
    spoken = asyncio.run(first.voice())
    assert spoken is not None and spoken.stat().st_size > 0 and first.voice_engine == "openai"
    assert first.notes[0].startswith(f"voice-over spoken by openai (${price:.4f})")
    (entry,) = store.spend(pid)
    assert (entry.kind, entry.amount_usd, entry.provider) == ("submit", price, "openai")
    assert entry.job_id == f"voice-{stem_key('voice', 'openai', TEXT)}"
    assert sandbox.state.submissions["openai"] == 1

    again = _run(sandbox_settings, store, pid, work)
    assert asyncio.run(again.voice()) == spoken
    assert "(reused)" in again.notes[0]
    assert len(store.spend(pid)) == 1 and sandbox.state.submissions["openai"] == 1
    again_quote = quote_audio(
        Finishing(voiceover=TEXT), sandbox_settings, work, duration_s=2, music_file=False
    )
    assert again_quote.cost_usd == 0


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
    assert store.total_spend(pid) == pytest.approx(stem_price("voice", "elevenlabs", TEXT))
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
    make = Soundtrack._make

    async def openai_times_out(
        self: Soundtrack, kind: StemKind, engine: str, text: str, seconds: float, dest: Path
    ) -> None:
        if engine == "openai":
            raise ProviderError("ReadTimeout on POST audio/speech", kind="timeout")
        await make(self, kind, engine, text, seconds, dest)

    monkeypatch.setattr(Soundtrack, "_make", openai_times_out)
    first = _run(sandbox_settings, store, pid, work)
    asyncio.run(first.voice())
    # the timed-out request may have been charged: its charge stays, nothing is refunded
    assert [(e.kind, e.provider) for e in store.spend(pid)] == [
        ("submit", "openai"),
        ("submit", "elevenlabs"),
    ]
    monkeypatch.setattr(Soundtrack, "_make", make)
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

    # only the voice is paid: the video stays on the free animatic
    monkeypatch.setenv("OPENAI_API_KEY", "sandbox-key")
    monkeypatch.setenv(
        "REELFORGE_OPENAI_BASE_URL", sandbox.base_urls()["REELFORGE_OPENAI_BASE_URL"]
    )
    settings = Settings(data_dir=tmp_path / "data", model="offline")
    model = _export_with(voiceover=TEXT, then="Fine, no export.")

    async def chat() -> None:
        async with ChatRuntime.open(settings, model=model) as rt:
            turn = await rt.send("t", "make it, with narration")
            assert turn.approval is not None and turn.approval.tool == "export_video"
            assert turn.approval.price_usd == pytest.approx(stem_price("voice", "openai", TEXT))
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


def test_generated_music_and_ambience_are_bought_once(
    sandbox: Sandbox, sandbox_settings: Settings, ledger: tuple[ProjectStore, str], tmp_path: Path
) -> None:
    store, pid = ledger
    look = Finishing(music_prompt="slow hopeful piano", ambience="rain on a tin roof")
    work = tmp_path / "work"

    def finishing() -> FinishingRun:
        return FinishingRun(
            look,
            work,
            sandbox_settings,
            lambda *_: None,
            stems=Soundtrack(sandbox_settings, work, store=store, project_id=pid),
        )

    quote = quote_audio(look, sandbox_settings, work, duration_s=40, music_file=False)
    assert quote.parts == {"music (elevenlabs)": 0.6667, "ambience (elevenlabs)": 0.3}
    first = finishing()
    music = asyncio.run(first.music(40, music_file=False))
    ambience = asyncio.run(first.ambience(40))
    assert music is not None and ambience is not None and music != ambience
    assert music.stat().st_size > 0 and ambience.stat().st_size > 0
    assert [(e.kind, e.amount_usd) for e in store.spend(pid)] == [
        ("submit", 0.6667),
        ("submit", 0.3),  # ambience is made 30 s long and looped under the 40 s cut
    ]
    again = finishing()
    assert asyncio.run(again.music(40, music_file=False)) == music
    assert asyncio.run(again.ambience(40)) == ambience
    assert len(store.spend(pid)) == 2 and sandbox.state.submissions["elevenlabs"] == 2
    assert all("(reused)" in note for note in again.notes)
    # the brief's own music file wins over a prompt, and that is said
    told = finishing()
    assert asyncio.run(told.music(40, music_file=True)) is None
    assert "music file plays" in told.notes[0]


def test_without_a_key_there_is_no_generated_sound_and_it_is_said(tmp_path: Path) -> None:
    look = Finishing(music_prompt="slow hopeful piano", ambience="rain on a tin roof")
    settings = Settings(data_dir=tmp_path)
    run = FinishingRun(
        look,
        tmp_path / "work",
        settings,
        lambda *_: None,
        stems=Soundtrack(settings, tmp_path / "work"),
    )
    assert asyncio.run(run.music(12, music_file=False)) is None
    assert asyncio.run(run.ambience(12)) is None
    assert run.notes == [
        "no generated music: ELEVENLABS_API_KEY is not set; the synthesized bed plays instead "
        "(the words are kept for later)",
        "no generated ambience: ELEVENLABS_API_KEY is not set; the cut has no added ambience "
        "(the words are kept for later)",
    ]
    quote = quote_audio(
        look, Settings(data_dir=tmp_path), tmp_path, duration_s=12, music_file=False
    )
    assert quote.cost_usd == 0


@pytest.mark.ffmpeg
def test_an_approved_export_buys_the_ambience_and_mixes_it(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.runtime import ChatRuntime
    from tools.post.probe import probe

    monkeypatch.setenv("ELEVENLABS_API_KEY", "sandbox-key")
    url = sandbox.base_urls()["REELFORGE_ELEVENLABS_BASE_URL"]
    monkeypatch.setenv("REELFORGE_ELEVENLABS_BASE_URL", url)
    settings = Settings(data_dir=tmp_path / "data", model="offline")
    model = _export_with(ambience="rain on a tin roof", then="Exported with rain.")

    async def chat() -> None:
        async with ChatRuntime.open(settings, model=model) as rt:
            turn = await rt.send("t", "make it, with rain")
            assert turn.approval is not None and turn.approval.tool == "export_video"
            assert turn.approval.price_usd == pytest.approx(0.02)  # 2 s of ambience
            done = await rt.decide("t", "approve")
            assert done.replies == ["Exported with rain."]
            studio = rt.studio("t")
            project = studio.project()
            assert project is not None
            store = studio.services.store
            assert [e.kind for e in store.spend(project.id)] == ["approval", "submit"]
            (revision,) = store.revisions(project.id)
            assert probe(revision.production.exports[0]).has_audio

    asyncio.run(chat())
    assert sandbox.state.submissions["elevenlabs"] == 1


def test_paid_sound_is_held_to_the_runs_cap_not_only_the_setting(
    sandbox: Sandbox, sandbox_settings: Settings, ledger: tuple[ProjectStore, str], tmp_path: Path
) -> None:
    """`make --budget` caps paid voice (and every fallback engine) as it caps takes, even with
    no REELFORGE_BUDGET_USD."""
    store, pid = ledger
    work = tmp_path / "work"
    assert sandbox_settings.budget_usd is None
    run = FinishingRun(
        Finishing(voiceover=TEXT),
        work,
        sandbox_settings,
        lambda *_: None,
        stems=Soundtrack(sandbox_settings, work, store=store, project_id=pid, budget_usd=0.0001),
    )
    asyncio.run(run.voice())
    assert sandbox.state.submissions.get("openai", 0) == 0
    assert sandbox.state.submissions.get("elevenlabs", 0) == 0
    assert store.spend(pid) == []
    assert any("over the budget of $0.00" in note for note in run.notes)


def test_paid_sound_counts_what_another_process_holds_against_the_cap(
    sandbox: Sandbox, sandbox_settings: Settings, ledger: tuple[ProjectStore, str], tmp_path: Path
) -> None:
    """A stem is checked and charged under the project's store lock, against money another
    process holds for a submit in flight (a reservation), so the two never pass the cap."""
    store, pid = ledger
    work = tmp_path / "work"
    other = store.reserve(pid, 1.0, cap_usd=1.0)  # another worker's take, in flight
    run = FinishingRun(
        Finishing(voiceover=TEXT),
        work,
        sandbox_settings,
        lambda *_: None,
        stems=Soundtrack(sandbox_settings, work, store=store, project_id=pid, budget_usd=1.0),
    )
    asyncio.run(run.voice())
    assert sandbox.state.submissions.get("openai", 0) == 0
    assert sandbox.state.submissions.get("elevenlabs", 0) == 0
    assert store.spend(pid) == []
    store.release_reservation(other)
    asyncio.run(run.voice())
    assert sandbox.state.submissions.get("openai", 0) == 1
    assert [e.kind for e in store.spend(pid)] == ["submit"]
