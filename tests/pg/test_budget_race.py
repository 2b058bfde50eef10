"""Two (here: eight) processes' worth of connections race holds against one budget cap on a real
Postgres: the project row lock (SELECT ... FOR UPDATE) lets exactly as many through as fit."""

from __future__ import annotations

import threading

import pytest

from memory.briefs import parse_brief
from memory.models import Production
from memory.store import OverBudget, ProjectStore

BRIEF = parse_brief(
    {
        "title": "race",
        "story": "s",
        "mood": "m",
        "style": "s",
        "duration": 4,
        "formats": ["16:9"],
        "audience": "a",
    }
)


def test_concurrent_holds_on_separate_connections_never_pass_the_cap(
    pg_database_url: str,
) -> None:
    setup = ProjectStore(pg_database_url)
    project = setup.create_project("race", Production(brief=BRIEF)).id
    workers, tries, amount, cap = 8, 6, 0.25, 3.0  # 48 asks of $0.25 against $3.00: 12 fit
    stores = [ProjectStore(pg_database_url) for _ in range(workers)]  # one connection each
    start = threading.Barrier(workers)
    granted: list[str] = []
    refused = 0
    errors: list[BaseException] = []
    mutex = threading.Lock()

    def work(store: ProjectStore) -> None:
        nonlocal refused
        start.wait()
        for _ in range(tries):
            try:
                hold = store.reserve(project, amount, cap_usd=cap)
            except OverBudget:
                with mutex:
                    refused += 1
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)
            else:
                with mutex:
                    granted.append(hold)

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert len(granted) == int(cap / amount) and refused == workers * tries - len(granted)
        assert setup.reserved(project) == pytest.approx(cap)
    finally:
        for s in [setup, *stores]:
            s.close()
