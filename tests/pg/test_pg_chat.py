"""Team scale: with REELFORGE_DATABASE_URL a chat turn is checkpointed in Postgres (LangGraph's
Postgres saver) and a brand-new runtime, with a fresh data dir, resumes the conversation from it;
the project store lives there too."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
from langchain_core.messages import AIMessage
from pydantic import SecretStr

from agent.runtime import ChatRuntime
from tests.fakes.scripted import ScriptedChatModel
from tools.settings import Settings


def test_a_chat_turn_on_postgres_resumes_in_a_new_runtime(
    pg_database_url: str, tmp_path: Path
) -> None:
    first = ScriptedChatModel(script=[AIMessage("Noted: a cat film.")])
    second = ScriptedChatModel(script=[AIMessage("Still the cat film.")])

    def settings(name: str) -> Settings:  # another machine: nothing shared but the database
        return Settings(data_dir=tmp_path / name, database_url=SecretStr(pg_database_url))

    async def run(model: ScriptedChatModel, name: str, text: str) -> str:
        async with ChatRuntime.open(settings(name), model=model) as rt:
            assert rt.services.store.dialect.name == "postgres"
            await rt.send("slack:C1:1.0", text)
            return rt.studio("slack:C1:1.0").session.thread_id

    asyncio.run(run(first, "one", "a film about a cat"))
    assert not (tmp_path / "one" / "threads.db").exists()  # no SQLite checkpoints were written
    with psycopg.connect(pg_database_url) as conn:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM checkpoints WHERE thread_id = %s", ("slack:C1:1.0",)
        ).fetchone() or (0,)
    assert count > 0
    asyncio.run(run(second, "two", "what was it about?"))
    second.assert_complete()
    contents = [str(m.content) for m in second.calls[0]]
    assert "a film about a cat" in contents and "Noted: a cat film." in contents
