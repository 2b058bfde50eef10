"""Consistency scores on synthetic takes whose drift is known by construction."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image

from memory.models import Reference, Take
from tools.consistency import cut_consistency, rank_takes, score_take


def _frame(rgb: tuple[int, int, int], stripes: bool = True) -> np.ndarray:
    img = np.zeros((48, 64, 3), np.float32) + np.array(rgb, np.float32)
    if stripes:  # structure for the perceptual hash: a bright band on the left third
        img[:, :20] = np.minimum(img[:, :20] + 90, 255)
    return img.astype(np.uint8)


def _clip(path: Path, rgb: tuple[int, int, int], stripes: bool = True) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(8):
            frame = av.VideoFrame.from_ndarray(_frame(rgb, stripes), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _ref(tmp: Path, name: str, kind: str, rgb: tuple[int, int, int]) -> Reference:
    path = tmp / f"{name}.png"
    Image.fromarray(_frame(rgb)).save(path)
    return Reference(id=f"{name.lower()}-00000000", kind=kind, name=name, file=path)  # type: ignore[arg-type]


def _take(tmp: Path, name: str, rgb: tuple[int, int, int], stripes: bool = True) -> Take:
    return Take(
        id=name, project_id="p", shot_id="1.1", provider="animatic", seed=0, input_hash="h",
        file=_clip(tmp / f"{name}.mp4", rgb, stripes),
    )  # fmt: skip


def test_on_model_take_scores_high_and_has_no_drift(tmp_path: Path) -> None:
    mia = _ref(tmp_path, "Mia", "character", (180, 40, 40))
    score = score_take(_take(tmp_path, "t1", (180, 40, 40)).file, [mia])  # type: ignore[arg-type]
    assert score.score > 0.85 and score.drift is None


def test_takes_rank_by_consistency_and_drift_is_named_with_a_fix(tmp_path: Path) -> None:
    mia = _ref(tmp_path, "Mia", "character", (180, 40, 40))
    style = _ref(tmp_path, "Warm film", "style", (200, 120, 60))
    takes = [
        _take(tmp_path, "blue", (40, 60, 170), stripes=False),
        _take(tmp_path, "close", (170, 50, 45)),
        _take(tmp_path, "dark", (90, 20, 20)),
    ]
    ranked = rank_takes(takes, [mia], [style])
    assert [t.id for t, _ in ranked] == ["close", "dark", "blue"]
    blue = ranked[-1][1]
    assert blue.drift is not None
    assert "take blue drifts from" in blue.drift and "cooler" in blue.drift
    assert "temperature +" in blue.drift  # warm it back up
    dark = {t.id: s for t, s in ranked}["dark"]
    assert {r.name for r in dark.per_reference} == {"Mia", "Warm film"}


def test_a_take_without_references_is_not_penalised(tmp_path: Path) -> None:
    score = score_take(_take(tmp_path, "t", (10, 200, 10)).file, [])  # type: ignore[arg-type]
    assert score.score == 1.0 and score.drift is None


def test_cut_consistency_finds_the_shot_that_jumps(tmp_path: Path) -> None:
    clips = [
        ("1.1", _clip(tmp_path / "a.mp4", (180, 120, 70))),
        ("2.1", _clip(tmp_path / "b.mp4", (175, 118, 72))),
        ("3.1", _clip(tmp_path / "c.mp4", (60, 90, 190))),
    ]
    report = cut_consistency(clips)
    assert report.jumps[0][2] < 5 < 15 < report.jumps[1][2]
    assert "between shot 2.1 and shot 3.1" in report.sentence and "cooler" in report.sentence
    steady = cut_consistency(clips[:2])
    assert steady.score > 0.9 and "holds" in steady.sentence
