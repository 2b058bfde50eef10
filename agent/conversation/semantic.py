"""Which brief field a clause is about, by meaning: the local MiniLM embeddings against labelled
exemplars. Used only for clauses the keyword rules cannot place; the model loads lazily on first
use (about 2 s once per process) and one clause then costs a few milliseconds. Without the
weights (or with REELFORGE_OFFLINE_EMBEDDINGS=0) it answers None and the rules decide alone.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Any

EXEMPLARS: dict[str, tuple[str, ...]] = {
    "story": (
        "a girl stands on a rooftop at sunset",
        "an old fisherman mends his nets at dawn",
        "two friends reunite at a train station after years apart",
        "a dog chases a ball across the park",
        "grandma teaches her granddaughter to bake bread",
        "a barista opens the cafe before the city wakes up",
        "a robot learns to paint",
        "the launch of our new running shoe",
        "a day in the life of a nurse",
        "a lighthouse keeper on his last night",
        "our bakery's sourdough coming out of the oven",
        "a kid builds a cardboard rocket in the backyard",
    ),
    "mood": (
        "hopeful and warm",
        "dark and tense",
        "quiet and nostalgic",
        "something that makes you smile",
        "a sense of wonder",
        "bittersweet, a little sad",
        "calm and peaceful",
        "energetic and fun",
        "makes people feel at home",
        "uplifting, feel-good",
        "eerie and unsettling",
        "like a warm hug",
    ),
    "style": (
        "cinematic film look",
        "anime",
        "documentary, handheld",
        "shot on 35mm film with grain",
        "watercolour illustration",
        "photorealistic",
        "like a Wes Anderson movie",
        "3d animation like Pixar",
        "black and white",
        "glossy commercial look",
        "stop motion",
        "retro VHS home video",
    ),
    "audience": (
        "young travellers",
        "busy parents",
        "people who love coffee",
        "my followers",
        "teenagers on social media",
        "small business owners",
        "dog owners",
        "fans of slow living",
        "new customers of our shop",
        "people in their twenties",
        "anyone who loves the sea",
        "retired folks",
    ),
    "other": (
        "go ahead",
        "looks good",
        "I don't know",
        "you choose",
        "what do you mean",
        "thanks",
        "can you help me",
        "make it now",
        "hmm let me think",
        "sounds great",
    ),
}
MARGIN = 0.04
_lock = threading.Lock()


def enabled() -> bool:
    return os.environ.get("REELFORGE_OFFLINE_EMBEDDINGS", "1").lower() not in ("0", "off", "no")


@lru_cache(maxsize=1)
def _model() -> Any:
    try:
        import numpy as np

        from memory.embeddings import EmbeddingModelMissing, minilm
    except ImportError:  # pragma: no cover - numpy and tokenizers are dependencies
        return None
    try:
        model = minilm()
    except (EmbeddingModelMissing, OSError):
        return None
    labels: list[str] = []
    texts: list[str] = []
    for label, examples in EXEMPLARS.items():
        labels += [label] * len(examples)
        texts += list(examples)
    return model, np.asarray(labels), model.embed(texts)


_warming: list[threading.Thread] = []


def warm() -> None:
    """Load the model and the exemplars in a background thread, once per process, so the first
    turn that needs them does not pay the load."""
    if enabled() and not _warming:
        thread = threading.Thread(target=_loaded, name="minilm-warm", daemon=True)
        _warming.append(thread)
        thread.start()


def _loaded() -> Any:
    with _lock:
        return _model()


@lru_cache(maxsize=512)
def classify(text: str, prefer: str | None = None) -> str | None:
    """'story', 'mood', 'style', 'audience' or 'other' by nearest exemplars; None without a model.
    `prefer` (the field just asked) wins when it is within a small margin of the best."""
    if not enabled() or not text.strip():
        return None
    loaded = _loaded()
    if loaded is None:
        return None
    model, labels, vectors = loaded
    sims = vectors @ model.embed([text])[0]
    best: dict[str, float] = {}
    for label, sim in zip(labels.tolist(), sims.tolist(), strict=True):
        best[label] = max(best.get(label, -1.0), sim)
    top = max(best, key=lambda k: best[k])
    if prefer in best and best[prefer] >= best[top] - MARGIN:
        return prefer
    return top
