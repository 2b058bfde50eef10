"""The numpy MiniLM forward pass against published all-MiniLM-L6-v2 vectors.

Reference vectors (no torch here, so none are computed by us): both are outputs of independent
implementations of sentence-transformers/all-MiniLM-L6-v2, published in public repositories.
- "hello world", first 5 dims: fastembed's canonical test vector (ONNX Runtime, mean pooling,
  normalised), `tests/test_text_onnx_embeddings.py` CANONICAL_VECTOR_VALUES, checked there to 1e-3.
- "Hello world" / "Elixir is great", first 3 dims: the Hugging Face Inference API response for the
  model recorded in Torus' `Torus.Embeddings.HuggingFace` test stub (full float precision).
The tokenizer lower-cases, so "Hello world" and "hello world" embed the same.
"""

from __future__ import annotations

from pathlib import Path

import chromadb
import numpy as np
import pytest

from memory.embeddings import EF_NAME, WEIGHTS_SHA256, MiniLM, _file_sha256, model_dir
from memory.refstore import RefStore, collection_name

FASTEMBED_HELLO = [-0.034478, 0.03102, 0.00673, 0.02611, -0.039362]
HF_API = {
    "Hello world": [-0.03447732701897621, 0.031023245304822922, 0.006734952796250582],
    "Elixir is great": [-0.0538337267935276, -0.08974937349557877, -8.872233447618783e-4],
}


def test_vectors_match_published_reference_vectors(model: MiniLM) -> None:
    vecs = model.embed(["hello world", "Hello world", "Elixir is great"])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(vecs[0, :5], FASTEMBED_HELLO, atol=1e-5)
    np.testing.assert_allclose(vecs[1, :3], HF_API["Hello world"], atol=1e-6)
    np.testing.assert_allclose(vecs[2, :3], HF_API["Elixir is great"], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_batching_and_padding_do_not_change_vectors(model: MiniLM) -> None:
    texts = ["a girl", "a much longer sentence about a rooftop at sunset with water towers", "hi"]
    together = model.embed(texts)
    alone = np.stack([model.embed([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_text(model: MiniLM) -> None:
    a, b, c = model.embed(
        ["a young girl wearing a red scarf", "a little girl in a red neckerchief", "tax forms"]
    )
    assert float(a @ b) > 0.5 and float(a @ b) - float(a @ c) > 0.4


def test_weights_are_the_official_release() -> None:
    assert _file_sha256(model_dir() / "model.safetensors") == WEIGHTS_SHA256


def test_collection_reopens_in_a_client_that_only_knows_the_registered_name(
    model: MiniLM, tmp_path: Path
) -> None:
    """Chroma persists only the EF's name and config; reopening without passing an EF must use
    ours (registered on import), not Chroma's default, which would try to download a model."""
    store = RefStore.open(tmp_path / "data")
    from memory.models import Reference

    store.add(Reference(id="mia-1", kind="character", name="Mia", description="a girl"))
    client = chromadb.PersistentClient(path=str(tmp_path / "data" / "chroma"))
    col = client.get_collection(collection_name(None))
    assert col.configuration_json["embedding_function"]["name"] == EF_NAME
    assert "/" not in str(col.configuration_json["embedding_function"]["config"])
    res = col.query(query_texts=["the child"], n_results=1)
    assert res["ids"] == [["mia-1"]]


def test_empty_input_gives_no_vectors(model: MiniLM) -> None:
    assert model.embed([]).shape == (0, 384)


@pytest.mark.parametrize("text", ["", " ", "x" * 5000])
def test_odd_texts_still_give_unit_vectors(model: MiniLM, text: str) -> None:
    (vec,) = model.embed([text])
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5
