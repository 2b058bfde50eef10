"""Post-production without ffmpeg: argv builders, escaping, grade words, LUT files, presets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from memory.models import Grade, PromptComponents, Shot
from tools.post import picture as p
from tools.post import qc, sound
from tools.post.builders import ClipSpec, Delivery, SegmentSpec, filter_value, grade_filters
from tools.post.finishing import title_overlays
from tools.post.grades import LOOKS, UnknownGradeWords, grade_for
from tools.post.luts import LOOK_NAMES, UnknownLut, lut_path
from tools.post.luts.make_luts import cube_text
from tools.post.platforms import PLATFORMS, UnknownPlatform, delivery_plan, platform

SRC = Path("/in/take one.mp4")
OUT = Path("/out/result.mp4")


def vf(args: list[str]) -> str:
    return args[args.index("-vf") + 1]


def graph(args: list[str]) -> str:
    return args[args.index("-filter_complex") + 1]


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain text", "plain text"),
        ("a:b", r"a\\:b"),
        ("it's", r"it\\\'s"),
        ("one, two; [x]", r"one\, two\; \[x\]"),
        ("back\\slash", r"back\\\\slash"),
    ],
)
def test_filter_value_escapes_both_levels(raw: str, escaped: str) -> None:
    assert filter_value(raw) == escaped


def test_paths_stay_single_arguments() -> None:
    for args in (
        p.upscale(SRC, OUT),
        p.interpolate(SRC, OUT, fps=60, duration_s=1),
        p.grade(SRC, OUT, Grade(lut="moody")),
        p.deshake(SRC, OUT),
    ):
        assert args[args.index("-i") + 1] == "file:/in/take one.mp4"
        assert args[-1] == "file:/out/result.mp4"


# --------------------------------------------------------------------------- picture


def test_upscale_is_lanczos_to_uhd_and_keeps_audio() -> None:
    args = p.upscale(SRC, OUT)
    chain = vf(args)
    assert chain.startswith("scale=3840:2160:force_original_aspect_ratio=decrease")
    assert "flags=lanczos+accurate_rnd+full_chroma_int" in chain
    assert "pad=3840:2160" in chain
    assert args[args.index("-c:a") + 1] == "copy"
    assert "spline" in vf(p.upscale(SRC, OUT, scaler="spline"))
    with pytest.raises(ValueError):
        p.upscale(SRC, OUT, size=(3841, 2160))


def test_interpolate_fast_blends_best_is_motion_compensated() -> None:
    fast = vf(p.interpolate(SRC, OUT, fps=60, duration_s=2.0))
    best = vf(p.interpolate(SRC, OUT, fps=48, duration_s=2.0, quality="best"))
    assert "framerate=fps=60" in fast and "minterpolate" not in fast
    assert "minterpolate=fps=48:mi_mode=mci" in best
    assert "trim=end_frame=120" in fast
    assert "trim=end_frame=96" in best
    args = p.interpolate(SRC, OUT, fps=60, duration_s=2.0)
    assert args[args.index("-r") + 1] == "60"
    assert args[args.index("-fps_mode") + 1] == "cfr"
    assert args[args.index("-frames:v") + 1] == "120"  # cfr would repeat the last frame
    with pytest.raises(ValueError):
        p.interpolate(SRC, OUT, fps=60, duration_s=1, quality="ultra")  # type: ignore[arg-type]


def test_grade_applies_lut_after_eq() -> None:
    filters = grade_filters(Grade(brightness=-0.1, lut="teal-orange"))
    assert filters[0] == "eq=brightness=-0.1"
    assert filters[1].startswith("lut3d=file=")
    assert filters[1].endswith("teal-orange.cube:interp=tetrahedral")
    assert grade_filters(Grade()) == []
    assert vf(p.grade(SRC, OUT, Grade())).startswith("null,")
    with pytest.raises(UnknownLut):
        grade_filters(Grade(lut="sepia"))


def test_stabilise_passes_share_the_transforms_file() -> None:
    trf = Path("/tmp/w d/t:1.trf")
    detect = p.stabilise_detect(SRC, trf)
    transform = p.stabilise_transform(SRC, trf, OUT, smoothing=20)
    assert vf(detect) == r"vidstabdetect=shakiness=8:accuracy=15:result=/tmp/w d/t\\:1.trf"
    assert detect[-3:] == ["-f", "null", "-"]
    assert vf(transform).startswith(r"vidstabtransform=input=/tmp/w d/t\\:1.trf:smoothing=20")
    assert "deshake" in vf(p.deshake(SRC, OUT))


def test_crossfade_offsets_add_up() -> None:
    clips = [ClipSpec(Path("a.mp4"), 2.0), ClipSpec(Path("b.mp4"), 3.0), ClipSpec(Path("c.mp4"), 1)]
    g = graph(p.crossfade(clips, OUT, overlap_s=0.5, size=(320, 180), audio=True))
    offsets = [
        float(x) for x in re.findall(r"xfade=transition=fade:duration=0.5:offset=([\d.]+)", g)
    ]
    assert offsets == [1.5, 4.0]
    assert g.count("acrossfade=d=0.5") == 2
    assert "[vout]" in g and "[aout]" in g
    with pytest.raises(ValueError):
        p.crossfade(clips, OUT, overlap_s=1.0, size=(320, 180))
    with pytest.raises(ValueError):
        p.crossfade(clips, OUT, transition="spin", size=(320, 180))


def test_drawtext_is_literal_and_inside_the_safe_area() -> None:
    f = p.drawtext("50% off: it's [new]", start_s=1, end_s=2, safe=p.SafeArea(bottom=0.2))
    assert "expansion=none" in f
    assert r"text=50% off\\: it\\\'s \[new\]" in f
    assert "fontfile=" in f and "DejaVuSans.ttf" in f
    assert r"y=h*0.8-text_h" in f
    assert r"enable=between(t\\,1\\,2)" not in f  # commas are escaped for the graph, once
    assert r"enable=between(t\,1\,2)" in f
    with pytest.raises(ValueError):
        p.drawtext("   ")


def test_srt_sidecar() -> None:
    text = p.srt([p.Cue(61.5, 63.25, "second"), p.Cue(0, 1.2, "first\n line")])
    assert text == (
        "1\n00:00:00,000 --> 00:00:01,200\nfirst\nline\n\n"
        "2\n00:01:01,500 --> 00:01:03,250\nsecond\n"
    )
    with pytest.raises(ValueError):
        p.Cue(2, 1, "backwards")


def test_posters_seek_each_input_and_write_one_frame() -> None:
    args = p.poster_frames([(Path("a.mp4"), 1.5, Path("a.jpg")), (Path("b.mp4"), 0, Path("b.jpg"))])
    assert args[:4] == ["-ss", "1.5", "-i", "file:a.mp4"]
    assert args.count("-frames:v") == 2
    assert args[-1] == "file:b.jpg"


# --------------------------------------------------------------------------- sound


def test_mix_ducks_music_under_the_voice() -> None:
    g = graph(
        sound.mix(OUT, duration_s=10, music=Path("m.wav"), voice=Path("v.wav"), voice_start_s=1)
    )
    assert "adelay=1000:all=1" in g
    assert "asplit=2[voice][key]" in g
    assert "[music_in][key]sidechaincompress=threshold=0.03:ratio=10:attack=15:release=350" in g
    assert "amix=inputs=2:normalize=0" in g
    undocked = graph(
        sound.mix(OUT, duration_s=10, music=Path("m.wav"), voice=Path("v.wav"), ducking=None)
    )
    assert "sidechaincompress" not in undocked
    with pytest.raises(ValueError):
        sound.mix(OUT, duration_s=10)


def test_native_audio_pads_silent_clips() -> None:
    clips = [ClipSpec(Path("a.mp4"), 1.0), ClipSpec(Path("b.mp4"), 0.5)]
    args = sound.native_audio(clips, [True, False], OUT, fps=24)
    assert args.count("-i") == 1
    g = graph(args)
    assert "anullsrc" in g and "concat=n=2:v=0:a=1" in g
    with pytest.raises(ValueError):
        sound.native_audio(clips, [False, False], OUT)


def test_espeak_reads_text_from_stdin() -> None:
    argv = sound.espeak_argv("/usr/bin/espeak-ng", Path("/w/vo.wav"))
    assert argv[0] == "/usr/bin/espeak-ng" and argv[-1] == "--stdin"
    assert argv[argv.index("-w") + 1] == "/w/vo.wav"


def test_no_espeak_is_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sound.shutil, "which", lambda name: None)
    with pytest.raises(sound.VoiceOverUnavailable, match="espeak-ng is not installed"):
        sound.espeak_exe()


# --------------------------------------------------------------------------- grades and LUTs


def test_moodier_darkens_desaturates_and_picks_the_moody_lut() -> None:
    g = grade_for("make it moodier")
    assert g.lut == "moody"
    assert g.brightness < 0 and g.saturation < 1 and g.contrast > 1


def test_words_accumulate_on_the_current_grade() -> None:
    moody = grade_for("moodier")
    warmer = grade_for("warmer", moody)
    assert warmer.temperature > moody.temperature
    assert warmer.lut == "moody"  # a temperature tweak does not replace the look
    assert grade_for("a bit warmer").temperature == pytest.approx(
        grade_for("warmer").temperature / 2
    )
    assert grade_for("less moody", moody).lut is None
    assert grade_for("too warm", grade_for("warmer")).temperature == 0
    assert grade_for("more cinematic").lut == "teal-orange"
    assert grade_for("vintage").lut == "vintage"
    assert grade_for("brighter").brightness > 0
    assert grade_for("reset", moody) == Grade(name="neutral")


def test_grades_stay_within_the_model_bounds() -> None:
    g = Grade()
    for _ in range(30):
        g = grade_for("much brighter and way more vivid", g)
    assert g.brightness == 1.0 and g.saturation <= 3.0


def test_unknown_words_say_what_works() -> None:
    with pytest.raises(UnknownGradeWords, match="moodier, warmer"):
        grade_for("more bananas please")


def test_every_look_has_a_lut_and_a_preset() -> None:
    assert set(LOOKS) == set(LOOK_NAMES)
    for name in LOOK_NAMES:
        assert LOOKS[name].lut == name
        assert lut_path(name).is_file()


@pytest.mark.parametrize("name", LOOK_NAMES)
def test_committed_luts_are_what_the_script_writes(name: str) -> None:
    committed = lut_path(name).read_text(encoding="ascii")
    assert committed == cube_text(name)
    lines = committed.splitlines()
    assert "LUT_3D_SIZE 17" in lines
    assert len([x for x in lines if re.fullmatch(r"[\d.]+ [\d.]+ [\d.]+", x)]) == 17**3


# --------------------------------------------------------------------------- platforms and QC


def test_platform_presets() -> None:
    assert platform("Instagram Reels") is PLATFORMS["reels"]
    tiktok = platform("tiktok")
    assert (tiktok.width, tiktok.height, tiktok.aspect) == (1080, 1920, "9:16")
    x, y, w, h = tiktok.safe_box()
    assert y + h <= 1920 * 0.85 and x + w <= 1080 * 0.9
    assert platform("shorts").problems(duration_s=200, aspect="16:9") == [
        "shorts wants 9:16, this cut is 16:9",
        "shorts allows at most 180s",
    ]
    assert platform("youtube").problems(duration_s=30, aspect="16:9", fps=24) == []
    with pytest.raises(UnknownPlatform):
        platform("myspace")


def test_a_platform_sets_the_encode_of_its_formats_and_its_sister_feeds() -> None:
    plan = delivery_plan("YouTube", ["16:9", "9:16", "1:1"])
    youtube, shorts, square = (plan.delivery(a) for a in ("16:9", "9:16", "1:1"))
    assert (youtube.name, youtube.gop_s, youtube.edit_lists) == ("youtube", 0.5, False)
    assert youtube.audio_bitrate == "384k"
    assert shorts.name == "shorts" and not shorts.edit_lists
    assert square == Delivery()  # no YouTube preset for 1:1: generic settings
    assert plan.safe("9:16") == PLATFORMS["shorts"].safe
    reels = delivery_plan("instagram reels", ["9:16", "1:1"])
    assert [reels.delivery(a).name for a in ("9:16", "1:1")] == ["reels", "feed"]
    said = reels.notes(duration_s=12, fps=48)
    assert "9:16 encoded for reels" in said[0]
    assert "reels takes 24, 25, 30, 60 fps, not 48" in said
    assert delivery_plan(None, ["9:16"]).notes(duration_s=12, fps=24) == []
    unknown = delivery_plan("myspace", ["9:16"])
    assert unknown.delivery("9:16") == Delivery()
    assert "unknown platform 'myspace'" in unknown.notes(duration_s=12, fps=24)[0]


def test_qc_spans_open_at_the_end_run_to_the_end() -> None:
    stderr = (
        "lavfi.freezedetect.freeze_start: 0.5\nlavfi.freezedetect.freeze_end: 1.0\n"
        "lavfi.freezedetect.freeze_start: 2.0\n"
        "black_start:0 black_end:0.25 black_duration:0.25\n"
    )
    assert qc.frozen_seconds(stderr, 3.0) == pytest.approx(1.5)
    assert qc.black_seconds(stderr, 3.0) == pytest.approx(0.25)
    assert qc.silent_seconds(stderr, 3.0) == 0


def _title_shot(provider: str, text: str = "Golden Hour") -> Shot:
    return Shot(
        id="s3",
        scene_index=3,
        index=1,
        kind="title",
        description="title text appears",
        components=PromptComponents(),
        duration=4,
        aspect="9:16",
        text_overlay=text,
        preferred_provider="animatic",
        preferred_reason="title card",
        provider=provider,
        provider_reason="override",
    )


def test_titles_are_set_in_post_for_every_title_shot() -> None:
    seg = [SegmentSpec(8.0, 12.0, "pad")]
    plan = delivery_plan("youtube", ["9:16", "16:9"])
    animatic = title_overlays([_title_shot("animatic")], seg, plan.safe, ["9:16"])
    assert animatic["9:16"].count("drawtext=") == 1  # the animatic renders a clean plate too
    overlays = title_overlays([_title_shot("runway")], seg, plan.safe, ["9:16", "16:9"])
    assert set(overlays) == {"9:16", "16:9"}
    vertical = overlays["9:16"]
    assert vertical.count("drawtext=") == 1 and "expansion=none" in vertical
    assert r"between(t\,8\,12)" in vertical and "alpha=" in vertical
    assert "DejaVuSans-Bold" in vertical
    size = int(re.search(r"fontsize=(\d+)", vertical).group(1))  # type: ignore[union-attr]
    assert size * 0.62 * len("Golden Hour") <= 1080 * 0.9  # fits the vertical frame
    long = title_overlays([_title_shot("runway", "A" * 120)], seg, plan.safe, ["9:16"])["9:16"]
    assert int(re.search(r"fontsize=(\d+)", long).group(1)) < size  # type: ignore[union-attr]


def test_a_generated_title_plate_asks_for_no_lettering() -> None:
    from tools.prompting import build_prompt

    components = PromptComponents(style="cinematic", emotional_tone="hopeful")
    plate = build_prompt(components, "runway", title="Golden Hour")
    assert "Golden Hour" not in plate and "no text" in plate
    card = build_prompt(components, "animatic", title="Golden Hour")
    assert 'the words "Golden Hour"' in card


def test_subtitle_size_follows_the_frame_shape() -> None:
    from tools.post.ops import subtitle_font_size

    sizes = [subtitle_font_size(w, h) for w, h in ((1080, 1920), (1080, 1080), (1920, 1080))]
    assert sizes == [11, 14, 18]  # vertical lines must fit 1080 px: the smallest
