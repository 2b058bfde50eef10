"""Money in chat is never wrong: an unpriceable call is refused with its reason (never approved
at $0), and an approval edit is re-quoted and asked again, or refused with the real reason."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from agent.runtime import MAX_MESSAGE_CHARS, ChatRuntime
from tests.agent.test_approvals import _runtime_parts, _script
from tests.fakes.scripted import ScriptedChatModel
from tools.providers.registry import default_profile
from tools.studio import Studio, StudioError


def test_an_unpriceable_call_is_refused_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, services, fake = _runtime_parts(tmp_path)

    def broken(self: Studio, takes: int, production: object = None) -> object:
        raise StudioError("the price table of runway is missing")

    monkeypatch.setattr(Studio, "quote_takes", broken)
    model = _script("Could not price it.")

    async def run() -> list[str]:
        async with ChatRuntime.open(settings, model=model, services=services) as rt:
            turn = await rt.send("t", "make me a coffee video")
            assert turn.approval is None
            assert rt.pending("t") is None
            return turn.replies

    replies = asyncio.run(run())
    assert fake.submits == []  # never run at $0
    assert any("cannot be priced" in r and "price table of runway" in r for r in replies)
    result = [m for m in model.calls[-1] if isinstance(m, ToolMessage)][-1]
    assert result.status == "error" and "price table of runway" in str(result.content)


def test_an_approval_edit_is_requoted_and_asked_again(tmp_path: Path) -> None:
    settings, services, fake = _runtime_parts(tmp_path, budget_usd=100.0)
    model = _script("Rejected.")
    one = default_profile("runway").price(4)

    async def run() -> None:
        async with ChatRuntime.open(settings, model=model, services=services) as rt:
            turn = await rt.send("t", "make me a coffee video")
            assert turn.approval is not None and turn.approval.price_usd == pytest.approx(2 * one)
            again = await rt.decide("t", "edit", args={"takes": 3})
            # asked again, with the new price and the cap; nothing ran, nothing recorded
            assert again.approval is not None
            assert again.approval.price_usd == pytest.approx(3 * one)
            assert f"${3 * one:.2f}" in again.replies[0]
            assert "budget $100.00" in again.replies[0]
            assert rt.pending("t") is again.approval
            assert fake.submits == []
            project = rt.studio("t").project()
            assert project is not None
            assert services.store.spend(project.id) == []
            await rt.decide("t", "reject")

    asyncio.run(run())
    assert fake.submits == []
    model.assert_complete()


def test_an_approval_edit_over_the_budget_is_refused_with_the_reason(tmp_path: Path) -> None:
    one = default_profile("runway").price(4)
    settings, services, fake = _runtime_parts(tmp_path, budget_usd=round(2 * one + 0.01, 2))
    model = _script("Too much.")

    async def run() -> list[str]:
        async with ChatRuntime.open(settings, model=model, services=services) as rt:
            turn = await rt.send("t", "make me a coffee video")
            assert turn.approval is not None
            done = await rt.decide("t", "edit", args={"takes": 20})
            assert done.approval is None and rt.pending("t") is None
            project = rt.studio("t").project()
            assert project is not None
            ledger = services.store.spend(project.id)
            assert [e.kind for e in ledger] == ["rejection"]
            return done.replies

    replies = asyncio.run(run())
    assert fake.submits == []
    assert "over the budget" in replies[0]
    assert replies[-1] == "Too much."


def test_a_message_over_the_limit_is_refused_and_never_stored(tmp_path: Path) -> None:
    settings, services, _fake = _runtime_parts(tmp_path)
    model = ScriptedChatModel(script=[])

    async def run() -> None:
        async with ChatRuntime.open(settings, model=model, services=services) as rt:
            turn = await rt.send("t", "x" * (MAX_MESSAGE_CHARS + 1))
            assert len(turn.replies) == 1 and "too long" in turn.replies[0]
            assert await rt.history("t") == []

    asyncio.run(run())
    assert model.calls == []


def test_replies_are_given_once_whatever_the_history_limit(tmp_path: Path) -> None:
    settings, services, _fake = _runtime_parts(tmp_path, history_messages=10)
    model = ScriptedChatModel(script=[AIMessage(f"reply {i}") for i in range(14)])

    async def run() -> list[list[str]]:
        async with ChatRuntime.open(
            settings, model=model, services=services, summarizer=lambda _m: "summary"
        ) as rt:
            return [(await rt.send("t", f"message {i}")).replies for i in range(14)]

    turns = asyncio.run(run())
    assert turns == [[f"reply {i}"] for i in range(14)]
