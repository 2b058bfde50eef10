"""Dissolves and fades between scenes: brief -> plan -> ClipSpec -> xfade, frame-exact."""

from __future__ import annotations

import re
from pathlib import Path

import av
import opentimelineio as otio
import pytest

from memory.briefs import BriefError, parse_brief
from memory.models import Transition
from tools.planner import plan_scenes
from tools.post import builders as b
from tools.post import otio_export
from tools.post.runner import run
from tools.production import Services
from tools.providers.registry import Registry
from tools.settings import Settings
from tools.studio import Studio

from .conftest import make_clip

MASTER = Path("m.mp4")


def graph_of(args: list[str]) -> str:
    return args[args.index("-filter_complex") + 1]


def statement(graph: str, label: str) -> str:
    """The filter-graph statement whose output is `[label]`."""
    found = [s for s in graph.split(";") if s.endswith(f"[{label}]")]
    assert len(found) == 1, graph
    return found[0]


def clip(name: str, duration: float, transition: Transition = "cut") -> b.ClipSpec:
    return b.ClipSpec(Path(f"{name}.mp4"), duration, transition)


# --------------------------------------------------------------------------- plan


def brief_with(scenes: list[dict[str, object]], duration: float = 30) -> dict[str, object]:
    return {
        "title": "t",
        "story": "s",
        "mood": "m",
        "style": "cinematic",
        "duration": duration,
        "formats": ["16:9"],
        "audience": "a",
        "scenes": scenes,
    }


def test_scene_transitions_reach_the_first_shot_of_each_scene(settings: Settings) -> None:
    brief = parse_brief(
        brief_with(
            [
                {"description": "a city at dawn", "duration": 4, "transition": "fade"},
                {
                    "description": "a long walk by the river",
                    "duration": 16,
                    "transition": "dissolve",
                },
                {"description": "she looks up", "duration": 4},
                {"description": "night falls", "duration": 6, "transition": "fade"},
            ]
        )
    )
    shots = [shot for scene in plan_scenes(brief, Registry(settings)) for shot in scene.shots]
    assert [(s.id, s.transition) for s in shots] == [
        ("1.1", "cut"),  # nothing comes before the film's first shot
        ("2.1", "dissolve"),
        ("2.2", "cut"),  # within a scene, shots cut
        ("3.1", "cut"),
        ("4.1", "fade"),
    ]


def test_chat_scene_edits_set_transitions(tmp_path: Path) -> None:
    services = Services.open(Settings(data_dir=tmp_path / "data"))
    try:
        studio = Studio(services, "t")
        studio.update_brief(
            story="s", mood="calm", style="cinematic", duration=6, formats=["16:9"], audience="a"
        )
        studio.set_scenes(
            [{"description": "a harbour at dawn"}, {"description": "gulls", "transition": "fade"}]
        )
        studio.edit_scene(1, description="a harbour at first light")  # keeps scene 2's fade
        assert [s.transition for s in studio._require_project()[1].shots()] == ["cut", "fade"]
        studio.edit_scene(2, transition="dissolve")
        assert [s.transition for s in studio._require_project()[1].shots()] == ["cut", "dissolve"]
    finally:
        services.store.close()


def test_an_unknown_transition_is_bad_input() -> None:
    with pytest.raises(BriefError, match="transition"):
        parse_brief(brief_with([{"description": "x", "transition": "wipe"}]))
    with pytest.raises(ValueError, match="transition"):
        b.ClipSpec(Path("a.mp4"), 1.0, "wipe")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- arguments


def test_transitions_last_half_a_second_or_half_the_shorter_neighbour() -> None:
    clips = [
        clip("a", 2.0, "dissolve"),  # the first clip has nothing to come from
        clip("b", 2.0, "dissolve"),
        clip("c", 0.5, "fade"),  # 12 frames: at most 6 of the overlap
        clip("d", 2.0),
        clip("e", 0.125, "dissolve"),  # 3 frames: too short, a hard cut
    ]
    assert b.transition_halves(clips, 24) == [0, 6, 3, 0, 0]
    # 14 frames at 30 fps (never over 0.5 s); e is 4 frames there: 2 frames of overlap
    assert b.transition_halves(clips, 30) == [0, 7, 3, 0, 1]
    assert b.transition_halves([clip("a", 1), clip("b", 1)], 24) == [0, 0]


def test_no_transition_keeps_the_plain_concat() -> None:
    graph = graph_of(b.assemble_master([clip("a", 1), clip("b", 1)], MASTER, width=64, height=36))
    assert "xfade" not in graph and "tpad=start" not in graph and "settb" not in graph
    assert statement(graph, "master").startswith("[c0][c1]concat=n=2:v=1:a=0,format=yuv420p")


def test_transitions_overlap_centred_on_each_cut() -> None:
    clips = [
        clip("a", 1.0),
        clip("b", 1.0, "dissolve"),  # cut at frame 24
        clip("c", 0.5),  # cut at 48: hard
        clip("d", 1.0, "fade"),  # cut at 60, 6 frames
        clip("e", 1.0),  # cut at 84: hard
    ]
    args = b.assemble_master(clips, MASTER, width=64, height=36)
    graph = graph_of(args)
    # the outgoing clip runs on by half the overlap, the incoming starts half of it early
    assert "tpad=stop=-1:stop_mode=clone,trim=end_frame=30," in statement(graph, "c0")
    assert "tpad=start=6:start_mode=clone:stop=-1:stop_mode=clone,trim=end_frame=30," in (
        statement(graph, "c1")
    )
    assert "tpad=stop=-1:stop_mode=clone,trim=end_frame=15," in statement(graph, "c2")
    assert "tpad=start=3:start_mode=clone:stop=-1:stop_mode=clone,trim=end_frame=27," in (
        statement(graph, "c3")
    )
    assert "trim=end_frame=24," in statement(graph, "c4")
    # hard-cut runs are concatenated (in xfade's time base), runs are joined by xfade
    assert statement(graph, "r1") == "[c1][c2]concat=n=2:v=1:a=0,settb=1/24[r1]"
    assert statement(graph, "r2") == "[c3][c4]concat=n=2:v=1:a=0,settb=1/24[r2]"
    assert statement(graph, "x1") == "[c0][r1]xfade=transition=fade:duration=0.5:offset=0.75[x1]"
    master = statement(graph, "master")
    assert master.startswith("[x1][r2]xfade=transition=fadeblack:duration=0.25:offset=2.375,")
    assert "format=yuv420p" in master and "setparams=colorspace=bt709" in master
    xfades = re.findall(r"duration=([\d.]+):offset=([\d.]+)", graph)
    for (duration, offset), cut in zip(xfades, (24, 60), strict=True):
        assert (float(offset) + float(duration) / 2) * 24 == pytest.approx(cut)


# --------------------------------------------------------------------------- real render


def luma_per_frame(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(f.to_ndarray(format="gray").mean()) for f in container.decode(video=0)]


@pytest.mark.ffmpeg
def test_dissolve_and_fade_keep_every_frame_and_cut_in_place(tmp_path: Path) -> None:
    white = make_clip(tmp_path / "white.mp4", "color=white:s=96x54:r=24:d={d}", audio=None)
    # a different rate and a take longer than its use: retimed, and run on into for the overlap
    black = make_clip(
        tmp_path / "black.mp4", "color=black:s=96x54:r=30:d={d}", audio=None, duration=1.5
    )
    clips = [
        b.ClipSpec(white, 1.0),
        b.ClipSpec(black, 1.0, "dissolve"),  # cut at frame 24
        b.ClipSpec(white, 0.5),  # cut at 48: hard
        b.ClipSpec(white, 1.0, "fade"),  # cut at 60: white -> black -> white, 6 frames
    ]
    out = tmp_path / "master.mp4"
    run(b.assemble_master(clips, out, width=96, height=54))
    y = luma_per_frame(out)
    assert len(y) == sum(b.frame_count(c.duration_s, 24) for c in clips) == 84
    # dissolve: pure until half the overlap before the cut, a blend at it, pure after
    assert min(y[:18]) > 250 and max(y[30:48]) < 5
    assert 100 < y[24] < 155
    assert all(older > newer for older, newer in zip(y[18:30], y[19:31], strict=True))
    # the hard cut stays a hard cut on its frame
    assert y[47] < 5 and y[48] > 250
    # fade (xfade fadeblack): white again outside the 6 overlap frames; inside, the outgoing
    # clip is gone to black within the first fifth and the incoming one rises from it
    assert min(y[48:57]) > 250 and min(y[63:]) > 250
    assert y[58] < 30 and y[60] < 128
    assert all(older < newer for older, newer in zip(y[58:63], y[59:64], strict=True))


@pytest.mark.ffmpeg
def test_otio_timeline_carries_dissolves_without_moving_cuts(tmp_path: Path) -> None:
    take = make_clip(tmp_path / "take.mp4", "testsrc2=s=96x54:r=24:d={d}", audio=None)
    clips = [
        otio_export.TimelineClip("shot 1", take, 1.0),
        otio_export.TimelineClip("shot 2", take, 1.0, transition="dissolve"),
        otio_export.TimelineClip("shot 3", take, 0.5, transition="fade"),
    ]
    timeline = otio_export.build_timeline("t", clips, fps=24)
    video = timeline.video_tracks()[0]
    (dissolve,) = [item for item in video if isinstance(item, otio.schema.Transition)]
    assert dissolve.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    assert dissolve.in_offset.to_frames() == dissolve.out_offset.to_frames() == 6
    assert timeline.duration().to_frames() == 24 + 24 + 12
    starts = [video.range_of_child(c).start_time.to_frames() for c in video.find_clips()]
    assert starts == [0, 24, 48]
    meta = [c.metadata["reelforge"].get("transition") for c in video.find_clips()]
    assert meta == [None, "dissolve", "fade"]
