"""Postgres tests: a real server (see tests/pg/server.py), stopped when the session ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg.server import pg_database_url, postgres_url, stop_server

__all__ = ["pg_database_url", "postgres_url"]


@pytest.fixture(scope="session", autouse=True)
def _stop_postgres_at_the_end() -> Iterator[None]:
    yield
    stop_server()
