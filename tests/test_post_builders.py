"""Argument-level tests of the post-production builders: no ffmpeg process is started."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from memory.models import Grade
from tools.post import builders as b

MASTER = Path("/work/master.mp4")
AUDIO = Path("/work/audio.wav")
ALL = [
    b.ExportSpec("9:16", Path("/out/v.mp4")),
    b.ExportSpec("16:9", Path("/out/h.mp4")),
    b.ExportSpec("1:1", Path("/out/s.mp4")),
]

LOUDNORM_STDERR = """\
      encoder         : Lavc63.1.102 pcm_s16le
[Parsed_loudnorm_1 @ 0x7f3074001b40]
{
\t"input_i" : "-23.13",
\t"input_tp" : "-12.68",
\t"input_lra" : "3.40",
\t"input_thresh" : "-33.13",
\t"output_i" : "-14.01",
\t"output_tp" : "-3.55",
\t"output_lra" : "3.40",
\t"output_thresh" : "-24.01",
\t"normalization_type" : "linear",
\t"target_offset" : "0.01"
}
[out#0/null @ 0x55b80e5afa00] video:0KiB audio:1688KiB subtitle:0KiB
"""


def graph_of(args: list[str]) -> str:
    return args[args.index("-filter_complex") + 1]


def statements(args: list[str]) -> list[str]:
    return graph_of(args).split(";")


def output_groups(args: list[str]) -> list[list[str]]:
    """Options of each output file, the file argument last."""
    rest = args[args.index("-filter_complex") + 2 :]
    groups: list[list[str]] = [[]]
    for token in rest:
        groups[-1].append(token)
        if token.startswith("file:"):
            groups.append([])
    return [g for g in groups if g]


def option(group: list[str], name: str) -> str:
    return group[group.index(name) + 1]


# --------------------------------------------------------------------------- exports


def test_three_formats_decode_once_and_split_once() -> None:
    args = b.export_formats(MASTER, AUDIO, ALL, segments=[], master_aspect="16:9")
    graph = graph_of(args)
    assert args.count("-i") == 2
    assert graph.count("[0:v:0]") == 1
    assert graph.startswith("[0:v:0]split=3[m0][m1][m2]")
    assert len(re.findall(r"(?<![a-z])split=3", graph)) == 1


def test_every_output_is_a_delivery_file() -> None:
    args = b.export_formats(MASTER, AUDIO, ALL, segments=[], master_aspect="16:9")
    groups = output_groups(args)
    assert [g[-1] for g in groups] == ["file:/out/v.mp4", "file:/out/h.mp4", "file:/out/s.mp4"]
    for k, group in enumerate(groups):
        assert option(group, "-map") == f"[v{k}]"
        assert group[group.index("-map", group.index("-map") + 1) + 1] == "1:a:0"
        assert option(group, "-c:v") == "libx264"
        assert option(group, "-profile:v") == "high"
        assert option(group, "-pix_fmt") == "yuv420p"
        assert option(group, "-preset") == "veryfast"
        assert option(group, "-crf") == "20"
        assert option(group, "-maxrate") == "12M"
        assert option(group, "-bufsize") == "24M"
        assert option(group, "-g") == "48"
        assert option(group, "-bf") == "2"
        assert option(group, "-movflags") == "+faststart"
        assert option(group, "-c:a") == "aac"
        assert option(group, "-profile:a") == "aac_low"
        assert option(group, "-ar") == "48000"
        assert option(group, "-ac") == "2"
        assert option(group, "-colorspace") == "bt709"


def test_each_branch_ends_at_its_platform_size() -> None:
    args = b.export_formats(MASTER, AUDIO, ALL, segments=[], master_aspect="16:9")
    sizes = {"v0": "1080:1920", "v1": "1920:1080", "v2": "1080:1080"}
    for label, size in sizes.items():
        branch = [s for s in statements(args) if s.endswith(f"[{label}]") or f"[{label}r" in s]
        text = ";".join(branch)
        assert f"scale={size}" in text, label
        assert "setsar=1" in text
        assert "setparams=colorspace=bt709" in text
        for other in set(sizes.values()) - {size}:
            assert f"scale={other}" not in text


def test_same_aspect_as_master_is_only_scaled() -> None:
    segs = [b.SegmentSpec(0, 1, "crop", 0.1), b.SegmentSpec(1, 2, "pad")]
    args = b.export_formats(
        MASTER, AUDIO, [b.ExportSpec("16:9", Path("/o.mp4"))], segments=segs, master_aspect="16:9"
    )
    graph = graph_of(args)
    assert graph.startswith("[0:v:0]scale=1920:1080")
    for word in ("split", "trim", "concat", "crop", "overlay"):
        assert word not in graph


def test_one_reframe_for_all_shots_needs_no_trim() -> None:
    segs = [b.SegmentSpec(0, 1, "crop", 0.25), b.SegmentSpec(1, 2.5, "crop", 0.25)]
    args = b.export_formats(
        MASTER, AUDIO, [b.ExportSpec("9:16", Path("/o.mp4"))], segments=segs, master_aspect="16:9"
    )
    graph = graph_of(args)
    assert "trim" not in graph and "concat" not in graph
    assert graph.count("crop=") == 1


def test_different_modes_trim_and_concat_on_frame_boundaries() -> None:
    segs = [
        b.SegmentSpec(0, 1.5, "crop", 0.2),
        b.SegmentSpec(1.5, 2.0, "pad"),
        b.SegmentSpec(2.0, 3.0, "crop", 0.8),
    ]
    args = b.export_formats(
        MASTER, AUDIO, [b.ExportSpec("9:16", Path("/o.mp4"))], segments=segs, master_aspect="16:9"
    )
    graph = graph_of(args)
    assert "trim=start_frame=0:end_frame=36," in graph
    assert "trim=start_frame=36:end_frame=48," in graph
    assert "trim=start_frame=48," in graph
    assert graph.count("setpts=PTS-STARTPTS") == 3
    assert graph.count("concat=n=3:v=1:a=0") == 1
    assert graph.count("overlay=") == 1


def test_adjacent_equal_segments_merge_and_pad_ignores_subject() -> None:
    segs = [
        b.SegmentSpec(0, 1, "pad", 0.1),
        b.SegmentSpec(1, 2, "pad", 0.9),
        b.SegmentSpec(2, 3, "crop", 0.5),
        b.SegmentSpec(3, 4, "crop", 0.5),
    ]
    runs = b.reframe_runs(segs, fps=24, master_aspect="16:9", aspect="9:16")
    assert [(r.start, r.end, r.mode) for r in runs] == [(0, 48, "pad"), (48, None, "crop")]


def test_subject_x_is_irrelevant_when_cropping_to_a_wider_frame() -> None:
    segs = [b.SegmentSpec(0, 1, "crop", 0.1), b.SegmentSpec(1, 2, "crop", 0.9)]
    wide = b.reframe_runs(segs, fps=24, master_aspect="9:16", aspect="16:9")
    narrow = b.reframe_runs(segs, fps=24, master_aspect="16:9", aspect="9:16")
    assert len(wide) == 1
    assert len(narrow) == 2


@pytest.mark.parametrize(("subject_x", "pos"), [(0.0, "0"), (0.5, "0.5"), (1.0, "1")])
def test_crop_window_follows_the_subject(subject_x: float, pos: str) -> None:
    args = b.export_formats(
        MASTER,
        AUDIO,
        [b.ExportSpec("9:16", Path("/o.mp4"))],
        segments=[b.SegmentSpec(0, 2, "crop", subject_x)],
        master_aspect="16:9",
    )
    assert f"x=(iw-ow)*{pos}:" in graph_of(args)


def test_pad_blurs_a_quarter_resolution_background() -> None:
    args = b.export_formats(
        MASTER,
        AUDIO,
        [b.ExportSpec("9:16", Path("/o.mp4"))],
        segments=[b.SegmentSpec(0, 2, "pad")],
        master_aspect="16:9",
    )
    graph = graph_of(args)
    blur = next(s for s in statements(args) if "boxblur" in s)
    assert blur.index("scale=270:480") < blur.index("boxblur") < blur.index("scale=1080:1920")
    assert "overlay=x=(W-w)/2:y=(H-h)/2" in graph


def test_segments_must_tile_the_master() -> None:
    with pytest.raises(ValueError, match="tile"):
        b.reframe_runs(
            [b.SegmentSpec(0, 1), b.SegmentSpec(1.5, 2)],
            fps=24,
            master_aspect="16:9",
            aspect="9:16",
        )
    with pytest.raises(ValueError, match="not at 0"):
        b.reframe_runs([b.SegmentSpec(0.5, 1)], fps=24, master_aspect="16:9", aspect="9:16")
    with pytest.raises(ValueError):
        b.SegmentSpec(0, 1, "crop", 1.5)


def test_export_rejects_unknown_aspects_and_duplicate_paths() -> None:
    with pytest.raises(ValueError):
        b.ExportSpec("4:3", Path("/o.mp4"))
    with pytest.raises(ValueError, match="differ"):
        b.export_formats(
            MASTER,
            AUDIO,
            [b.ExportSpec("9:16", Path("/o.mp4")), b.ExportSpec("1:1", Path("/o.mp4"))],
            segments=[],
            master_aspect="16:9",
        )


def test_export_without_edit_lists_uses_negative_cts() -> None:
    spec = b.ExportSpec("9:16", Path("/out/v.mp4"), b.Delivery("youtube", edit_lists=False))
    args = b.export_formats(MASTER, AUDIO, [spec], segments=[], master_aspect="16:9")
    group = output_groups(args)[0]
    assert option(group, "-use_editlist") == "0"
    assert option(group, "-movflags") == "+faststart+negative_cts_offsets"


def test_grade_runs_once_before_the_split() -> None:
    grade = Grade(name="moodier", brightness=-0.1, lut="moody")
    args = b.export_formats(MASTER, AUDIO, ALL, segments=[], master_aspect="16:9", grade=grade)
    graph = statements(args)
    assert graph[0].startswith("[0:v:0]eq=brightness=-0.1,lut3d=file=")
    assert graph[0].endswith("[graded]")
    assert graph[1] == "[graded]split=3[m0][m1][m2]"
    assert graph_of(args).count("lut3d") == 1


def test_neutral_grade_adds_nothing_to_the_export() -> None:
    plain = b.export_formats(MASTER, AUDIO, ALL, segments=[], master_aspect="16:9")
    neutral = b.export_formats(MASTER, AUDIO, ALL, segments=[], master_aspect="16:9", grade=Grade())
    assert plain == neutral
    assert statements(plain)[0] == "[0:v:0]split=3[m0][m1][m2]"


def test_overlays_go_on_their_own_format_only() -> None:
    args = b.export_formats(
        MASTER,
        AUDIO,
        ALL,
        segments=[],
        master_aspect="16:9",
        overlays={"1:1": "drawtext=text=Hi"},
    )
    graph = statements(args)
    assert "[f2]drawtext=text=Hi[v2]" in graph
    assert graph_of(args).count("drawtext") == 1
    assert [option(g, "-map") for g in output_groups(args)] == ["[v0]", "[v1]", "[v2]"]


def test_delivery_sets_bitrate_gop_and_audio_per_file() -> None:
    youtube = b.Delivery("youtube", maxrate="16M", audio_bitrate="384k", gop_s=0.5)
    specs = [b.ExportSpec("16:9", Path("/out/h.mp4"), youtube), ALL[2]]
    groups = output_groups(
        b.export_formats(MASTER, AUDIO, specs, segments=[], master_aspect="16:9", fps=30)
    )
    assert (option(groups[0], "-maxrate"), option(groups[0], "-bufsize")) == ("16M", "32M")
    assert (option(groups[0], "-g"), option(groups[0], "-b:a")) == ("15", "384k")
    assert (option(groups[1], "-maxrate"), option(groups[1], "-g")) == ("12M", "60")
    assert option(groups[1], "-b:a") == "192k"
    with pytest.raises(ValueError, match="bitrate"):
        b.Delivery(maxrate="fast")


# --------------------------------------------------------------------------- hostile paths

HOSTILE = [
    Path('/tmp/my clips/it\'s "quoted".mp4'),
    Path("-rf.mp4"),
    Path("/tmp/a;b,c[d]:e.mp4"),
]


def test_hostile_paths_are_single_arguments_outside_the_graph() -> None:
    clips = [b.ClipSpec(p, 1.0) for p in HOSTILE]
    master_args = b.assemble_master(clips, HOSTILE[0], width=640, height=360)
    export_args = b.export_formats(
        HOSTILE[1],
        HOSTILE[2],
        [b.ExportSpec("9:16", HOSTILE[0]), b.ExportSpec("1:1", HOSTILE[1])],
        segments=[],
        master_aspect="16:9",
    )
    audio_args = [
        *b.audio_bed_music(HOSTILE[0], HOSTILE[1], duration_s=2),
        *b.audio_bed_synth(HOSTILE[2], duration_s=2, mood="calm", seed=1),
        *b.loudnorm_measure(HOSTILE[0]),
    ]
    for args in (master_args, export_args, audio_args):
        for path in HOSTILE:
            if f"file:{path}" in " ".join(args):
                assert f"file:{path}" in args
        for arg in args:
            if arg.startswith("file:"):
                assert Path(arg.removeprefix("file:")) in HOSTILE
        assert not any(arg.startswith("-rf") for arg in args)
    assert "it's" not in graph_of(master_args)
    assert "file:" not in graph_of(export_args)


# --------------------------------------------------------------------------- master


def test_master_trims_each_clip_to_exact_frames_and_concats() -> None:
    clips = [b.ClipSpec(Path("a.mp4"), 1.0), b.ClipSpec(Path("b.mp4"), 0.5)]
    args = b.assemble_master(clips, Path("m.mp4"), width=1280, height=720)
    graph = graph_of(args)
    assert "trim=end_frame=24," in graph
    assert "trim=end_frame=12," in graph
    assert graph.count("fps=24") == 2
    assert graph.count("scale=1280:720:force_original_aspect_ratio=decrease") == 2
    assert graph.count("pad=1280:720") == 2
    assert graph.count("setsar=1") == 2
    assert "[c0][c1]concat=n=2:v=1:a=0" in graph
    assert "tpad=stop=-1:stop_mode=clone" in graph
    assert "-an" in args and option(args, "-map") == "[master]"
    assert option(args, "-crf") == "16" and option(args, "-pix_fmt") == "yuv420p"


def test_master_is_ungraded_and_one_clip_needs_no_concat() -> None:
    args = b.assemble_master([b.ClipSpec(Path("a.mp4"), 1)], Path("m.mp4"), width=640, height=360)
    graph = graph_of(args)
    assert "eq=" not in graph and "colortemperature" not in graph and "concat" not in graph


def test_grade_maps_to_eq_and_colortemperature() -> None:
    grade = Grade(name="moody", brightness=-0.1, contrast=1.2, saturation=0.8, temperature=-0.5)
    assert b.grade_filters(grade) == [
        "eq=brightness=-0.1:contrast=1.2:saturation=0.8",
        "colortemperature=temperature=8000:pl=0.5",
    ]
    warm = b.grade_filters(Grade(temperature=0.5))
    assert warm == ["colortemperature=temperature=5000:pl=0.5"]
    assert b.grade_filters(Grade(saturation=1.3)) == ["eq=saturation=1.3"]


def test_master_rejects_odd_sizes_and_empty_lists() -> None:
    with pytest.raises(ValueError):
        b.assemble_master([], Path("m.mp4"), width=640, height=360)
    with pytest.raises(ValueError):
        b.assemble_master([b.ClipSpec(Path("a.mp4"), 1)], Path("m.mp4"), width=641, height=360)
    with pytest.raises(ValueError):
        b.ClipSpec(Path("a.mp4"), 0)


# --------------------------------------------------------------------------- audio beds


def test_synth_bed_is_exact_seeded_stereo_48k() -> None:
    args = b.audio_bed_synth(Path("bed.wav"), duration_s=2.5, mood="dark", seed=42)
    graph = graph_of(args)
    assert "atrim=end_sample=120000" in graph
    assert "seed=42" in graph and "seed=43" in graph
    assert "channel_layouts=stereo" in graph
    assert option(args, "-c:a") == "pcm_s16le" and option(args, "-ar") == "48000"
    assert args == b.audio_bed_synth(Path("bed.wav"), duration_s=2.5, mood="dark", seed=42)
    assert args != b.audio_bed_synth(Path("bed.wav"), duration_s=2.5, mood="dark", seed=7)
    assert "afade=t=out:st=1.875:d=0.625" in graph


def test_mood_picks_the_pad_chord() -> None:
    assert b.mood_chord("Dark, tense thriller") == (110.00, 130.81, 164.81)
    assert b.mood_chord("upbeat and playful") == (130.81, 164.81, 196.00)
    assert b.mood_chord("calm") != b.mood_chord("epic")
    assert b.mood_chord("whatever") == b.mood_chord("")
    synth = graph_of(b.audio_bed_synth(Path("x.wav"), duration_s=3, mood="epic", seed=1))
    assert "sin(2*PI*73.42*t)" in synth


def test_music_bed_loops_trims_and_fades() -> None:
    args = b.audio_bed_music(Path("song.mp3"), Path("bed.wav"), duration_s=10)
    assert args[:4] == ["-stream_loop", "-1", "-i", "file:song.mp3"]
    graph = graph_of(args)
    assert graph.startswith("[0:a:0]")
    assert "atrim=end_sample=480000" in graph
    assert "afade=t=out:st=8:d=2" in graph
    assert option(args, "-ac") == "2" and option(args, "-ar") == "48000"


# --------------------------------------------------------------------------- loudness


def test_parse_loudnorm_json_reads_the_block() -> None:
    stats = b.parse_loudnorm_json("noise {not json}\n" + LOUDNORM_STDERR)
    assert stats["input_i"] == "-23.13"
    assert stats["normalization_type"] == "linear"
    with pytest.raises(ValueError):
        b.parse_loudnorm_json("no stats here")


def test_measure_pass_prelimits_and_prints_json() -> None:
    args = b.loudnorm_measure(Path("bed.wav"))
    af = option(args, "-af")
    assert af.index("alimiter") < af.index("loudnorm=I=-14:TP=-1.5:LRA=11")
    assert "print_format=json" in af
    assert args[-3:] == ["-f", "null", "-"]


def test_apply_pass_carries_measured_values() -> None:
    measured = b.parse_loudnorm_json(LOUDNORM_STDERR)
    args = b.loudnorm_apply(Path("bed.wav"), Path("out.wav"), measured)
    af = option(args, "-af")
    for part in (
        "measured_I=-23.13",
        "measured_TP=-12.68",
        "measured_LRA=3.4",
        "measured_thresh=-33.13",
        "linear=true",
        "I=-14",
        "TP=-1.5",
    ):
        assert part in af
    assert option(args, "-ar") == "48000"
    prelimit = b.loudnorm_measure(Path("bed.wav"))
    assert option(prelimit, "-af").split(",loudnorm")[0] == af.split(",loudnorm")[0]


def test_pre_gain_is_identical_in_both_passes() -> None:
    measured = b.parse_loudnorm_json(LOUDNORM_STDERR)
    one = option(b.loudnorm_measure(Path("a.wav"), pre_gain_db=6.5), "-af")
    two = option(b.loudnorm_apply(Path("a.wav"), Path("b.wav"), measured, pre_gain_db=6.5), "-af")
    assert one.startswith("volume=6.5dB,alimiter=")
    assert one.split(",loudnorm")[0] == two.split(",loudnorm")[0]


def test_apply_raises_lra_target_for_dynamic_material() -> None:
    measured = {**b.parse_loudnorm_json(LOUDNORM_STDERR), "input_lra": "14.2"}
    af = option(b.loudnorm_apply(Path("a.wav"), Path("b.wav"), measured), "-af")
    assert "LRA=14.2" in af


def test_silence_cannot_be_normalized() -> None:
    measured = {**b.parse_loudnorm_json(LOUDNORM_STDERR), "input_i": "-inf"}
    assert not b.linear_feasible(measured)
    with pytest.raises(ValueError, match="silence"):
        b.loudnorm_apply(Path("a.wav"), Path("b.wav"), measured)


def test_linear_feasibility_and_fallback_detection() -> None:
    measured = b.parse_loudnorm_json(LOUDNORM_STDERR)
    assert b.linear_feasible(measured)  # -12.68 + 9.13 = -3.55 <= -1.5
    assert not b.linear_feasible({**measured, "input_tp": "-2.0"})
    assert not b.is_dynamic_fallback(measured)
    assert b.is_dynamic_fallback({**measured, "normalization_type": "dynamic"})


def test_parse_ebur128_summary() -> None:
    stderr = """[Parsed_ebur128_0 @ 0x7f] Summary:

  Integrated loudness:
    I:         -14.1 LUFS
    Threshold: -24.2 LUFS

  Loudness range:
    LRA:         2.5 LU
    Threshold:  -34.0 LUFS

  True peak:
    Peak:       -1.9 dBFS
"""
    assert b.parse_ebur128_summary(stderr) == {"I": -14.1, "LRA": 2.5, "true_peak": -1.9}


def test_a_zero_loudness_range_is_not_read_as_unmeasured() -> None:
    steady = {**b.parse_loudnorm_json(LOUDNORM_STDERR), "input_lra": "0.00"}
    graph = b.loudnorm_apply(AUDIO, Path("/w/out.wav"), steady)[4]
    assert "measured_LRA=0.01" in graph and "linear=true" in graph
