"""A running bot outlives a dropped Postgres connection: after every connection to the database is
cut (what a server restart does), the next chat turn works and still sees the conversation, both
for the chat checkpoints (a checked pool) and the project store (reconnect)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
from langchain_core.messages import AIMessage
from pydantic import SecretStr

from agent.runtime import ChatRuntime
from tests.fakes.scripted import ScriptedChatModel
from tools.settings import Settings


def _drop_every_connection(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_a_chat_turn_after_the_connections_dropped_works_and_remembers(
    pg_database_url: str, tmp_path: Path
) -> None:
    model = ScriptedChatModel(script=[AIMessage("Noted: a cat film."), AIMessage("The cat.")])
    settings = Settings(data_dir=tmp_path, database_url=SecretStr(pg_database_url))

    async def run() -> None:
        async with ChatRuntime.open(settings, model=model) as rt:
            await rt.send("slack:C1:2.0", "a film about a cat")
            assert _drop_every_connection(pg_database_url) >= 2  # the saver's and the store's
            await rt.send("slack:C1:2.0", "what was it about?")

    asyncio.run(run())
    model.assert_complete()
    contents = [str(m.content) for m in model.calls[1]]
    assert "a film about a cat" in contents and "Noted: a cat film." in contents
