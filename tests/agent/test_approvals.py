"""Paid work waits for a person: a rejected spend makes no provider call, an approved one runs,
and every decision lands in the spend ledger. Driven by a scripted model that must run to the end."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from pydantic import SecretStr

from agent.runtime import ChatRuntime
from memory.models import TakeStatus
from memory.store import ProjectStore
from tests.fakes.providers import FakePaidProvider
from tests.fakes.scripted import ScriptedChatModel, call
from tools.production import Services
from tools.providers.registry import Registry, default_profile
from tools.settings import Settings

BRIEF = {
    "story": "A cup of coffee steams on a wooden table.",
    "mood": "calm",
    "style": "cinematic",
    "duration": 4,
    "formats": ["9:16"],
    "audience": "coffee lovers",
}


def _runtime_parts(
    tmp_path: Path, **settings_kw: object
) -> tuple[Settings, Services, FakePaidProvider]:
    settings = Settings(
        data_dir=tmp_path / "data", runwayml_api_secret=SecretStr("key"), **settings_kw
    )
    fake = FakePaidProvider()
    registry = Registry(settings, adapters={"runway": lambda _s: fake})
    services = Services(settings, ProjectStore(settings.db_path), registry)
    return settings, services, fake


def _script(final: str) -> ScriptedChatModel:
    return ScriptedChatModel(
        script=[
            call("update_brief", **BRIEF),
            call("plan_production"),
            call("generate_takes", takes=2),
            AIMessage(final),
        ]
    )


def test_rejected_spend_makes_no_provider_call(tmp_path: Path) -> None:
    settings, services, fake = _runtime_parts(tmp_path)
    model = _script("Understood, nothing was rendered.")

    async def run() -> None:
        async with ChatRuntime.open(settings, model=model, services=services) as rt:
            turn = await rt.send("t", "make me a coffee video")
            assert turn.approval is not None
            assert turn.approval.tool == "generate_takes"
            price = default_profile("runway").price(4) * 2
            assert turn.approval.price_usd == pytest.approx(price)
            assert f"${price:.2f}" in turn.approval.description
            assert fake.submits == []  # nothing before the decision
            # a message while approval is pending does not start another run
            waiting = await rt.send("t", "hello?")
            assert "Waiting for your decision" in waiting.replies[0]
            done = await rt.decide("t", "reject", message="too expensive")
            assert done.replies == ["Understood, nothing was rendered."]
            project = rt.studio("t").project()
            assert project is not None
            ledger = services.store.spend(project.id)
            assert [(e.kind, e.amount_usd) for e in ledger] == [("rejection", pytest.approx(price))]
            assert services.store.takes(project.id) == []

    asyncio.run(run())
    assert fake.submits == []
    model.assert_complete()
    # the model saw the rejection as the tool's result
    tool_results = [m for m in model.calls[-1] if isinstance(m, ToolMessage)]
    assert "too expensive" in str(tool_results[-1].content)


@pytest.mark.ffmpeg
def test_approved_spend_runs_once_and_is_recorded(tmp_path: Path) -> None:
    settings, services, fake = _runtime_parts(tmp_path)
    model = _script("Rendered.")

    async def run() -> None:
        async with ChatRuntime.open(settings, model=model, services=services) as rt:
            turn = await rt.send("t", "make me a coffee video")
            assert turn.approval is not None
            done = await rt.decide("t", "approve")
            assert done.replies == ["Rendered."]
            project = rt.studio("t").project()
            assert project is not None
            kinds = [e.kind for e in services.store.spend(project.id)]
            assert kinds == ["approval", "submit", "submit"]
            takes = services.store.takes(project.id)
            assert [t.status for t in takes] == [TakeStatus.SUCCEEDED] * 2

    asyncio.run(run())
    assert len(fake.submits) == 2
    model.assert_complete()


def test_budget_cap_refuses_before_any_call(tmp_path: Path) -> None:
    settings, services, fake = _runtime_parts(tmp_path, budget_usd=0.5)
    model = _script("Over budget; I'll suggest the animatic.")

    async def run() -> None:
        async with ChatRuntime.open(settings, model=model, services=services) as rt:
            turn = await rt.send("t", "make it")
            assert turn.approval is not None
            done = await rt.decide("t", "approve")
            assert done.replies[-1].startswith("Over budget")

    asyncio.run(run())
    assert fake.submits == []
    result = [m for m in model.calls[-1] if isinstance(m, ToolMessage)][-1]
    assert str(result.content).startswith("error:") and "budget" in str(result.content)


def test_pending_approval_survives_a_restart(tmp_path: Path) -> None:
    settings, services, fake = _runtime_parts(tmp_path)
    first = _script("unused")
    first.script = first.script[:3]

    async def ask() -> None:
        async with ChatRuntime.open(settings, model=first, services=services) as rt:
            assert (await rt.send("t", "go")).approval is not None

    asyncio.run(ask())
    first.assert_complete()
    settings2, services2, fake2 = _runtime_parts(tmp_path)
    second = ScriptedChatModel(script=[AIMessage("Okay, cancelled.")])

    async def resume() -> None:
        async with ChatRuntime.open(settings2, model=second, services=services2) as rt:
            pending = await rt.restore_pending("t")
            assert pending is not None and pending.tool == "generate_takes"
            done = await rt.decide("t", "reject")
            assert done.replies == ["Okay, cancelled."]

    asyncio.run(resume())
    second.assert_complete()
    assert fake2.submits == []
