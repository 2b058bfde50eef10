from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from memory.embeddings import MiniLM, minilm
from memory.refstore import RefStore
from tests.refs.library import LIBRARY
from tools.references import add_reference


@pytest.fixture(scope="session")
def model() -> MiniLM:
    """The MiniLM weights, loaded once for the whole session."""
    return minilm()


def make_png(path: Path, seed: str, size: tuple[int, int] = (48, 32)) -> Path:
    """A small distinct picture: a gradient in a colour derived from `seed`, plus stripes."""
    digest = hashlib.sha256(seed.encode()).digest()
    w, h = size
    base = np.array(list(digest[:3]), dtype=np.float32)
    ramp = np.linspace(0.4, 1.0, w, dtype=np.float32)[None, :, None]
    img = np.broadcast_to(base * ramp, (h, w, 3)).copy()
    img[:: 2 + digest[3] % 5, :, :] = 255 - img[:: 2 + digest[3] % 5, :, :]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img.astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def library_store(model: MiniLM, tmp_path_factory: pytest.TempPathFactory) -> RefStore:
    """The 52-entry test library, ingested through the real pipeline into an embedded store."""
    root = tmp_path_factory.mktemp("library")
    store = RefStore.open(root / "data")
    for kind, name, desc in LIBRARY:
        png = make_png(root / "src" / f"{name}.png", name)
        add_reference(png, kind, name, desc, None, store=store, refs_dir=root / "data" / "refs")
    return store
