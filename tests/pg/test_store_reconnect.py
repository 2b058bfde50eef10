"""The Postgres store survives a dropped connection (a restart, a failover, pg_terminate_backend):
reads are retried once on a new connection, writes and transactions start on a checked one, and a
write or transaction that was cut mid-way is a clear StoreConnectionLost, never a blind replay."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from memory.briefs import parse_brief
from memory.models import Production, SpendEntry
from memory.store import ProjectStore, StoreConnectionLost

BRIEF = parse_brief(
    {
        "title": "drop",
        "story": "s",
        "mood": "m",
        "style": "s",
        "duration": 4,
        "formats": ["16:9"],
        "audience": "a",
    }
)


@pytest.fixture
def store(pg_database_url: str) -> Iterator[ProjectStore]:
    store = ProjectStore(pg_database_url)
    yield store
    store.close()


def _drop_everyone_else(url: str) -> int:
    """What a server restart does to the store: every other connection to the database is cut."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def _spend(url: str) -> list[float]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT amount_usd FROM spend ORDER BY seq")]


def test_a_read_after_the_connection_dropped_works(
    pg_database_url: str, store: ProjectStore
) -> None:
    project = store.create_project("drop", Production(brief=BRIEF))
    assert _drop_everyone_else(pg_database_url) >= 1
    assert store.get_project(project.id).title == "drop"
    assert [p.id for p, _ in store.list_projects()] == [project.id]


def test_a_write_and_a_transaction_after_the_connection_dropped_work(
    pg_database_url: str, store: ProjectStore
) -> None:
    project = store.create_project("drop", Production(brief=BRIEF))
    _drop_everyone_else(pg_database_url)
    store.record_spend(SpendEntry(project_id=project.id, kind="submit", amount_usd=1.25))
    _drop_everyone_else(pg_database_url)
    store.commit(project.id, Production(brief=BRIEF), "after a restart")  # BEGIN on a new one
    _drop_everyone_else(pg_database_url)
    hold = store.reserve(project.id, 0.5, cap_usd=2.0)
    assert _spend(pg_database_url) == [1.25]  # written exactly once
    assert [r.note for r in store.revisions(project.id)][-1] == "after a restart"
    assert store.reserved(project.id) == 0.5 and hold


def test_a_transaction_that_loses_its_connection_commits_nothing_and_says_so(
    pg_database_url: str, store: ProjectStore
) -> None:
    project = store.create_project("drop", Production(brief=BRIEF))
    with pytest.raises(StoreConnectionLost, match="inside a transaction; none of it"):
        with store.transaction():
            store.record_spend(SpendEntry(project_id=project.id, kind="submit", amount_usd=1.0))
            _drop_everyone_else(pg_database_url)
            store.record_spend(SpendEntry(project_id=project.id, kind="submit", amount_usd=2.0))
    assert _spend(pg_database_url) == []
    # the store is usable again and the next transaction commits
    with store.transaction():
        store.record_spend(SpendEntry(project_id=project.id, kind="submit", amount_usd=3.0))
    assert store.total_spend(project.id) == 3.0


def test_a_write_cut_mid_statement_is_an_error_not_a_replay(
    pg_database_url: str, store: ProjectStore
) -> None:
    project = store.create_project("drop", Production(brief=BRIEF))
    blocker = psycopg.connect(pg_database_url)  # holds the project row, so the UPDATE waits
    blocker.execute("SELECT id FROM projects WHERE id = %s FOR UPDATE", (project.id,))
    changed = Production(brief=parse_brief({**BRIEF.model_dump(), "title": "changed"}))
    errors: list[BaseException] = []

    def save() -> None:
        try:
            store.save_working(project.id, changed)
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=save)
    writer.start()
    with psycopg.connect(pg_database_url, autocommit=True) as admin:
        deadline = time.monotonic() + 10
        while True:  # the store's UPDATE is on the server, waiting for the row lock
            waiting = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE projects%%'"
            ).fetchall()
            if waiting or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert waiting, "the store's write never reached the server"
        admin.execute("SELECT pg_terminate_backend(%s)", (waiting[0][0],))
    writer.join(timeout=10)
    blocker.rollback()
    blocker.close()
    assert len(errors) == 1 and isinstance(errors[0], StoreConnectionLost), errors
    assert "whether it was applied is unknown, so it is not repeated" in str(errors[0])
    assert store.working(project.id).brief.title == "drop"  # not replayed behind our back
    store.save_working(project.id, changed)  # the caller decides to retry: it works
    assert store.working(project.id).brief.title == "changed"


def test_a_database_that_stays_down_is_an_error_until_it_is_back(
    pg_database_url: str, store: ProjectStore
) -> None:
    server, name = pg_database_url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            with pytest.raises(psycopg.OperationalError):
                store.list_projects()
        finally:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    assert store.list_projects() == []  # and it comes back with the database
