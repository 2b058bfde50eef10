"""A process in team mode outlives a Chroma server restart: the reference store it opened keeps
its URL and works again as soon as the server is back, with what was stored before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memory.models import Reference
from memory.refstore import RefStore, _clients
from tests.chroma.server import ChromaServer, start_server


@pytest.fixture
def server() -> Iterator[ChromaServer]:
    srv = start_server()  # its own server: this test restarts it
    try:
        yield srv
    finally:
        _clients.pop(srv.url, None)  # the process-wide client of a server that is gone
        srv.stop()


def test_the_reference_store_works_after_the_server_restarts(
    server: ChromaServer, tmp_path: Path
) -> None:
    store = RefStore.open(tmp_path / "data", server.url)
    store.add(Reference(id="mia-00000001", kind="character", name="Mia", description="red scarf"))
    server.restart()
    assert [r.id for r in store.entries()] == ["mia-00000001"]  # persisted, same collection
    store.add(Reference(id="pier-00000002", kind="environment", name="Pier", description="dawn"))
    hits = store.search("a wooden pier at dawn", None, k=1)
    assert hits[0].reference.id == "pier-00000002"
    assert not (tmp_path / "data" / "chroma").exists()
