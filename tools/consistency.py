"""Consistency: how close each take stays to its references and the project's look.

A take's sampled frames (PyAV) and each reference image are summarised as a `Look`: mean colour and
a small palette in CIELAB (Pillow's LittleCMS transform), and 64-bit difference hashes. A take
scores high when its palette is close to its references' (CIE76 delta E) and its frames are
perceptually similar (dHash); takes rank by that score, drift is named in plain words with a fix,
and consecutive shots are compared across the cut.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from memory.models import Reference, Take

if TYPE_CHECKING:
    from PIL.Image import Image

SAMPLES = 5
PALETTE = 5
SIZE = 64
DELTA_E_SCALE = 40.0  # a palette this far (CIE76) from the reference scores 0
PALETTE_WEIGHT = 0.7
NOTICEABLE = {"L": 8.0, "a": 6.0, "b": 6.0, "chroma": 8.0}
DRIFT_BELOW = 0.6
CUT_JUMP = 15.0  # mean-colour delta E between neighbouring shots that reads as a jump

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Look:
    """Colour and structure of an image or of a clip's sampled frames."""

    lab_mean: tuple[float, float, float]
    palette: tuple[tuple[tuple[float, float, float], float], ...]  # (Lab colour, weight)
    hashes: tuple[int, ...]

    @property
    def chroma(self) -> float:
        return float(np.hypot(self.lab_mean[1], self.lab_mean[2]))


@dataclass(frozen=True)
class RefScore:
    name: str
    kind: str
    score: float
    delta_e: float
    perceptual: float | None  # None for style references (colour only)


@dataclass(frozen=True)
class ConsistencyScore:
    score: float  # 0..1, 1 = on model
    per_reference: tuple[RefScore, ...]
    drift: str | None  # a sentence naming the worst drift and a fix, or None


@dataclass(frozen=True)
class CutConsistency:
    score: float
    jumps: list[tuple[str, str, float]] = field(default_factory=list)  # (a, b, delta E)
    sentence: str = ""


# --------------------------------------------------------------------------- looks


@functools.cache
def _lab_transform() -> Any:
    from PIL import ImageCms

    return ImageCms.buildTransformFromOpenProfiles(
        ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB"
    )


def _to_lab(rgb: Image) -> Floats:
    """H x W x 3 CIELAB (L 0..100, a/b about -128..127)."""
    from PIL import ImageCms

    lab = ImageCms.applyTransform(rgb.convert("RGB"), _lab_transform())
    assert lab is not None
    raw = np.asarray(lab)  # the buffer holds a and b as signed bytes
    ab = raw[..., 1:].view(np.int8).astype(np.float64)
    return np.concatenate([raw[..., :1] * (100.0 / 255.0), ab], axis=-1)


def dhash(im: Image) -> int:
    """64-bit difference hash (no hashing library is a dependency; it is eight lines)."""
    from PIL import Image as PILImage

    gray = np.asarray(im.convert("L").resize((9, 8), PILImage.Resampling.BILINEAR), dtype=np.int16)
    bits = (gray[:, 1:] > gray[:, :-1]).flatten()
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def _palette(im: Image) -> list[tuple[tuple[float, float, float], float]]:
    from PIL import Image as PILImage

    q = im.convert("RGB").quantize(colors=PALETTE, method=PILImage.Quantize.MEDIANCUT)
    counts = sorted(q.getcolors() or [], reverse=True)
    pal = q.getpalette() or []
    total = sum(c for c, _ in counts) or 1
    out = []
    for count, index in counts:
        i = int(cast(int, index))
        rgb = PILImage.new("RGB", (1, 1), tuple(pal[i * 3 : i * 3 + 3]))
        lab = _to_lab(rgb)[0, 0]
        out.append(((float(lab[0]), float(lab[1]), float(lab[2])), count / total))
    return out


def look_of_images(images: Sequence[Image]) -> Look:
    from PIL import Image as PILImage

    small = [im.convert("RGB").resize((SIZE, SIZE), PILImage.Resampling.BILINEAR) for im in images]
    labs = np.concatenate([_to_lab(im).reshape(-1, 3) for im in small])
    strip = PILImage.new("RGB", (SIZE * len(small), SIZE))
    for i, im in enumerate(small):
        strip.paste(im, (i * SIZE, 0))
    mean = labs.mean(axis=0)
    return Look(
        lab_mean=(float(mean[0]), float(mean[1]), float(mean[2])),
        palette=tuple(_palette(strip)),
        hashes=tuple(dhash(im) for im in small),
    )


def image_look(path: Path) -> Look:
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        return look_of_images([im.convert("RGB")])


def sample_frames(video: Path, samples: int = SAMPLES) -> list[Image]:
    """`samples` frames spread evenly over the clip (decoded with PyAV)."""
    import av
    from PIL import Image as PILImage

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = [
            PILImage.fromarray(f.to_ndarray(format="rgb24")) for f in container.decode(stream)
        ]
    if not frames:
        raise ValueError(f"{video}: no frames")
    idx = np.linspace(0, len(frames) - 1, min(samples, len(frames))).round().astype(int)
    return [frames[i] for i in dict.fromkeys(idx.tolist())]


def video_look(video: Path, samples: int = SAMPLES) -> Look:
    return look_of_images(sample_frames(video, samples))


# --------------------------------------------------------------------------- distances


def palette_distance(a: Look, b: Look) -> float:
    """Symmetric weighted nearest-colour CIE76 delta E between two palettes."""

    def one_way(x: Look, y: Look) -> float:
        ys = np.array([c for c, _ in y.palette])
        return sum(
            w * float(np.min(np.linalg.norm(ys - np.array(c), axis=1))) for c, w in x.palette
        )

    return (one_way(a, b) + one_way(b, a)) / 2


def perceptual_similarity(a: Look, b: Look) -> float:
    """Best dHash agreement between any frame of `a` and any of `b`, in 0..1."""
    return max(1.0 - bin(x ^ y).count("1") / 64.0 for x in a.hashes for y in b.hashes)


def _describe(take: Look, ref: Look) -> tuple[list[str], dict[str, float]]:
    """Words for how `take` differs from `ref`, and grade changes that would close the gap."""
    dl = take.lab_mean[0] - ref.lab_mean[0]
    da = take.lab_mean[1] - ref.lab_mean[1]
    db = take.lab_mean[2] - ref.lab_mean[2]
    dc = take.chroma - ref.chroma
    words: list[str] = []
    grade: dict[str, float] = {}
    if abs(dl) >= NOTICEABLE["L"]:
        words.append("brighter" if dl > 0 else "darker")
        grade["brightness"] = round(float(np.clip(-dl / 100.0, -1, 1)), 2)
    if abs(db) >= NOTICEABLE["b"]:
        words.append("warmer" if db > 0 else "cooler")
        grade["temperature"] = round(float(np.clip(-db / 40.0, -1, 1)), 2)
    if abs(da) >= NOTICEABLE["a"]:
        words.append("more magenta" if da > 0 else "greener")
    if abs(dc) >= NOTICEABLE["chroma"]:
        words.append("more saturated" if dc > 0 else "more muted")
        grade["saturation"] = round(float(np.clip(ref.chroma / max(take.chroma, 1.0), 0, 3)), 2)
    return words, grade


def _grade_words(grade: dict[str, float]) -> str:
    """Grade changes as `Grade` takes them: brightness/temperature offsets, saturation factor."""
    return ", ".join(
        f"saturation x{v:g}" if k == "saturation" else f"{k} {v:+g}" for k, v in grade.items()
    )


# --------------------------------------------------------------------------- scores


def _ref_score(take: Look, ref: Reference, ref_look: Look, style: bool) -> RefScore:
    de = palette_distance(take, ref_look)
    colour = max(0.0, 1.0 - de / DELTA_E_SCALE)
    if style:
        return RefScore(ref.name, ref.kind, round(colour, 4), round(de, 2), None)
    perceptual = perceptual_similarity(take, ref_look)
    score = PALETTE_WEIGHT * colour + (1 - PALETTE_WEIGHT) * perceptual
    return RefScore(ref.name, ref.kind, round(score, 4), round(de, 2), round(perceptual, 4))


@functools.lru_cache(maxsize=256)
def _cached_image_look(path: Path, mtime: float) -> Look:
    return image_look(path)


def reference_look(ref: Reference) -> Look | None:
    if ref.file is None or not ref.file.exists():
        return None
    return _cached_image_look(ref.file, ref.file.stat().st_mtime)


def score_look(
    take: Look,
    references: Sequence[Reference],
    style_references: Sequence[Reference] = (),
    label: str = "this take",
) -> ConsistencyScore:
    """Score a take's look against its references (colour + structure) and styles (colour)."""
    parts: list[tuple[RefScore, Look]] = []
    for refs, style in ((references, False), (style_references, True)):
        for ref in refs:
            look = reference_look(ref)
            if look is not None:
                parts.append((_ref_score(take, ref, look, style or ref.kind == "style"), look))
    if not parts:
        return ConsistencyScore(1.0, (), None)
    score = float(np.mean([p.score for p, _ in parts]))
    worst, worst_look = min(parts, key=lambda p: p[0].score)
    drift = None
    if worst.score < DRIFT_BELOW:
        drift = drift_sentence(label, worst, take, worst_look)
    return ConsistencyScore(round(score, 4), tuple(p for p, _ in parts), drift)


def score_take(
    video: Path,
    references: Sequence[Reference],
    style_references: Sequence[Reference] = (),
    label: str = "this take",
) -> ConsistencyScore:
    """A rendered take's consistency score against its references and the project's styles."""
    return score_look(video_look(video), references, style_references, label)


def drift_sentence(label: str, worst: RefScore, take: Look, ref: Look) -> str:
    """One sentence: which reference it drifts from, how, and what would fix it."""
    words, grade = _describe(take, ref)
    how = " and ".join(words) if words else "different in colour and composition"
    what = "the style" if worst.perceptual is None else f"the {worst.kind}"
    fixes: list[str] = []
    if grade:
        fixes.append(f"regrade ({_grade_words(grade)})")
    if worst.perceptual is not None and worst.perceptual < 0.7:
        fixes.append(f"re-render with {worst.name}'s reference image attached")
    elif not grade:
        fixes.append(f"re-render with {worst.name}'s description in the prompt")
    return (
        f"{label} drifts from {what} reference {worst.name!r} (score {worst.score:.2f}, "
        f"delta E {worst.delta_e:.0f}): it is {how}; fix: {' or '.join(fixes)}."
    )


def rank_takes(
    takes: Sequence[Take],
    references: Sequence[Reference],
    style_references: Sequence[Reference] = (),
) -> list[tuple[Take, ConsistencyScore]]:
    """Successful takes with files, most consistent first (ties: the earlier take)."""
    scored = [
        (take, score_take(take.file, references, style_references, f"take {take.id}"))
        for take in takes
        if take.file is not None and take.file.exists()
    ]
    return sorted(scored, key=lambda ts: -ts[1].score)


def cut_consistency(clips: Sequence[tuple[str, Path]]) -> CutConsistency:
    """Colour consistency from shot to shot across the cut: neighbours' mean-colour delta E."""
    looks = [(label, video_look(path, samples=3)) for label, path in clips]
    if len(looks) < 2:
        return CutConsistency(1.0, [], "one shot: nothing to compare")
    jumps: list[tuple[str, str, float]] = []
    for (la, a), (lb, b) in zip(looks, looks[1:], strict=False):
        de = float(np.linalg.norm(np.subtract(a.lab_mean, b.lab_mean)))
        jumps.append((la, lb, round(de, 2)))
    mean_de = float(np.mean([j[2] for j in jumps]))
    score = round(max(0.0, 1.0 - mean_de / DELTA_E_SCALE), 4)
    a_label, b_label, worst = max(jumps, key=lambda j: j[2])
    if worst < CUT_JUMP:
        return CutConsistency(
            score, jumps, f"colour holds across the cut (largest jump {worst:.0f})"
        )
    look_a = dict(looks)[a_label]
    look_b = dict(looks)[b_label]
    words, grade = _describe(look_b, look_a)
    how = " and ".join(words) or "a different palette"
    fix = (
        f"grade shot {b_label} ({_grade_words(grade)})"
        if grade
        else f"attach the same style reference to shots {a_label} and {b_label}"
    )
    return CutConsistency(
        score,
        jumps,
        f"the colour jumps between shot {a_label} and shot {b_label} (delta E {worst:.0f}): "
        f"{b_label} is {how}; fix: {fix}.",
    )
