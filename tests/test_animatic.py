"""The animatic provider: the pure previz builder (argv level) and real renders (ffmpeg)."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from pathlib import Path
from typing import Any

import av
import pytest

from memory.models import PromptComponents
from tools.post.runner import run
from tools.providers.animatic import AnimaticProvider, create
from tools.providers.animatic import renderer as A
from tools.providers.base import GenerationRequest, JobStatus, VideoProvider
from tools.providers.registry import Registry
from tools.settings import Settings

HOSTILE = "a'b:c\\d%{e}"
NASTY = [
    HOSTILE,
    "it's 100% [done], ok; really: yes",
    "\\\\ '' :: ,, ;; [[ ]] %{pts} %{eif:n:d} \\n",
    "' or 1=1 -- ]; drawbox=w=100:h=100 [x]",
    "ünïcödé — “quotes” ‘single’ …",
]


def req(**kw: Any) -> GenerationRequest:
    comps = kw.pop("components", {})
    kw.setdefault("prompt", "A courier crosses a rainy plaza at night, neon signs flicker.")
    kw.setdefault("duration", 1.0)
    kw.setdefault("aspect", "16:9")
    return GenerationRequest(components=PromptComponents(**comps), **kw)


def args_for(request: GenerationRequest, out: Path = Path("/tmp/out.mp4")) -> list[str]:
    w, h = A.previz_size(request.aspect)
    return A.build_render_args(request, out, fontfile=A.FONT, width=w, height=h)


def graph_of(args: list[str]) -> str:
    return args[args.index("-filter_complex") + 1]


def get_token(s: str, i: int, terms: str) -> tuple[str, int]:
    """A model of ffmpeg's av_get_token: backslash escapes, single quotes, stop at `terms`."""
    out: list[str] = []
    while i < len(s) and s[i] in " \n\t\r":
        i += 1
    while i < len(s) and s[i] not in terms:
        if s[i] == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
        elif s[i] == "'":
            i += 1
            while i < len(s) and s[i] != "'":
                out.append(s[i])
                i += 1
            i += 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out), i


def eval_expr(expr: str, **env: float) -> float:
    """Evaluate an ffmpeg expression that uses only arithmetic, clip, sin and PI."""
    assert re.fullmatch(r"[\w\s.+\-*/(),]*", expr), expr
    names = {"clip": lambda v, a, b: min(max(v, a), b), "sin": math.sin, "PI": math.pi}
    return float(eval(expr, {"__builtins__": {}}, {**names, **env}))


# --------------------------------------------------------------------------- pure builder


def test_previz_sizes() -> None:
    assert A.previz_size("16:9") == (1280, 720)
    assert A.previz_size("9:16") == (720, 1280)
    assert A.previz_size("1:1") == (720, 720)
    with pytest.raises(ValueError, match="unknown aspect"):
        A.previz_size("4:3")


@pytest.mark.parametrize(
    ("text", "move"),
    [
        ("slow push in on her face", "push_in"),
        ("dolly in", "push_in"),
        ("zoom out to reveal the city", "pull_out"),
        ("slow pull back", "pull_out"),
        ("pan left across the skyline", "pan_left"),
        ("camera pans right", "pan_right"),
        ("pan from left to right", "pan_right"),
        ("tilt up to the tower", "tilt_up"),
        ("tilt down to the street", "tilt_down"),
        ("drone shot rising over the forest", "drone_rise"),
        ("handheld, documentary feel", "handheld"),
        ("orbit around the dancer", "orbit"),
        ("locked-off tripod shot", "static"),
        ("", "static"),
        ("something unusual", "static"),
        ("wide shot of the sunrise over a company campus", "static"),
        ("tracking shot following the runner", "tracking"),
        ("crane up over the rooftops", "crane_up"),
        ("crane down to the table", "crane_down"),
        ("slow dolly toward the door", "push_in"),
    ],
)
def test_camera_move_keywords(text: str, move: str) -> None:
    assert A.camera_move(text) == move


def test_palette_follows_lighting_and_tone() -> None:
    sunset = A.palette(PromptComponents(lighting="golden hour"))
    assert sunset.name == "sunset" and sunset.sky_horizon[0] > sunset.sky_horizon[2] + 80
    night = A.palette(PromptComponents(lighting="neon-lit night street"))
    assert night.name == "night" and sum(night.sky_top) < 80 and night.lights > 0
    rain = A.palette(PromptComponents(lighting="heavy rain"))
    assert rain.name == "rain" and max(rain.sky_top) - min(rain.sky_top) < 40
    assert A.palette(PromptComponents(lighting="dawn")).name == "dawn"
    assert A.palette(PromptComponents(lighting="overcast sky")).name == "overcast"
    assert A.palette(PromptComponents(lighting="studio softbox")).backdrop
    noir = A.palette(PromptComponents(emotional_tone="dark and moody"))
    day = A.palette(PromptComponents())
    assert noir.name == "noir" and day.name == "daylight"
    assert sum(noir.sky_horizon) < sum(day.sky_horizon) / 2
    happy = A.palette(PromptComponents(emotional_tone="happy, upbeat"))
    assert happy.name == "bright" and max(happy.sky_top) - min(happy.sky_top) > 200
    moody_sunset = A.palette(PromptComponents(lighting="sunset", emotional_tone="moody"))
    assert sum(moody_sunset.sky_horizon) < sum(sunset.sky_horizon)


def test_palette_jitter_depends_on_seed() -> None:
    base = A.palette(PromptComponents(lighting="sunset"))
    assert base.jittered(1) == base.jittered(1)
    assert base.jittered(1) != base.jittered(2)


def test_push_in_zoom_increases_and_pan_moves_x() -> None:
    frames, fps = 96, 24
    push = A.zoompan_exprs(A.plan_move("push_in", 3, (0.4, 0.6)), frames, fps)
    zooms = [eval_expr(push["z"], on=k) for k in range(frames)]
    assert all(b >= a for a, b in zip(zooms, zooms[1:], strict=False))
    assert zooms[-1] > zooms[0] + 0.3
    pull = A.zoompan_exprs(A.plan_move("pull_out", 3), frames, fps)
    assert eval_expr(pull["z"], on=frames - 1) < eval_expr(pull["z"], on=0)

    pan = A.zoompan_exprs(A.plan_move("pan_left", 3), frames, fps)
    z = eval_expr(pan["z"], on=0)
    xs = [eval_expr(pan["x"], on=k, iw=2560, zoom=z) for k in range(frames)]
    assert xs[0] > xs[-1] + 400 and all(b <= a for a, b in zip(xs, xs[1:], strict=False))

    tilt = A.zoompan_exprs(A.plan_move("tilt_up", 3), frames, fps)
    ys = [eval_expr(tilt["y"], on=k, ih=1440, zoom=z) for k in (0, frames - 1)]
    assert ys[0] > ys[1] + 200

    shake = A.zoompan_exprs(A.plan_move("handheld", 3), frames, fps)
    hx = {round(eval_expr(shake["x"], on=k, iw=2560, zoom=1.15), 1) for k in range(frames)}
    assert len(hx) > 20


def test_push_in_zoom_is_in_the_graph() -> None:
    r = req(components={"camera_movement": "push in"}, seed=4)
    graph = graph_of(args_for(r))
    match = re.search(r"zoompan=z=((?:\\.|[^:\\])*)", graph)
    assert match is not None
    expr, _ = get_token(get_token(match.group(1), 0, "[],;")[0], 0, ":")
    frames = A.frame_count(r.duration, 24)
    assert eval_expr(expr, on=frames - 1) > eval_expr(expr, on=0) + 0.3


@pytest.mark.parametrize("value", NASTY)
def test_escape_round_trips_through_both_parse_levels(value: str) -> None:
    graph_level, _ = get_token(A.escape_value(value) + ":next", 0, "[],;")
    assert graph_level.endswith(":next")
    option_level, _ = get_token(graph_level, 0, ":")
    assert option_level == value


def test_hostile_text_is_escaped_in_drawtext() -> None:
    graph = graph_of(args_for(req(text_overlay=HOSTILE)))
    assert "text=" + A.escape_value(HOSTILE) + ":" in graph
    assert r"a\\\'b\\:c\\\\d%{e}" in graph
    assert "expansion=none" in graph


def test_caption_uses_the_shipped_font() -> None:
    graph = graph_of(args_for(req(text_overlay="Hello")))
    fontfile = "fontfile=" + A.escape_value(A.FONT.as_posix())
    assert graph.count("drawtext=") == 2
    assert graph.count(fontfile) == 2
    assert "drawbox=" in graph and "black@0.55" in graph
    assert A.FONT.is_file() and A.FONT_BOLD.is_file()


def test_shot_text_choice() -> None:
    assert A.shot_text(req(text_overlay="  Line\none\t ")) == "Line one"
    assert A.shot_text(req(text_overlay="")) == ""
    assert A.shot_text(req(components={"subject": "A red fox"})) == "A red fox"
    assert A.shot_text(req()) == "A courier crosses a rainy plaza at night"
    long = A.shot_text(req(prompt="word " * 80))
    assert len(long) <= 60 and long.endswith("…")
    assert A.caption("", (0, 0, 0), A.FONT, 1280, 720) == []


def test_argv_is_deterministic_and_seeded() -> None:
    r = req(components={"camera_movement": "pan right", "lighting": "sunset"})
    assert args_for(r) == args_for(r)
    assert graph_of(args_for(r)) != graph_of(args_for(r.model_copy(update={"seed": 1})))


def test_argv_output_settings() -> None:
    args = args_for(req(duration=2.5), Path("/x/y z.mp4"))
    joined = " ".join(args)
    assert args[args.index("-frames:v") + 1] == "60"
    assert args[args.index("-c:v") + 1] == "libx264"
    assert args[args.index("-preset") + 1] == "veryfast"
    assert args[args.index("-pix_fmt") + 1] == "yuv420p"
    assert "-fflags +bitexact" in joined and "-flags:v +bitexact" in joined
    assert "-map_metadata -1" in joined and "-an" in args
    assert args[-1] == "file:/x/y z.mp4"
    assert "-i" not in args


def test_reference_image_is_the_plate() -> None:
    args = args_for(req(reference_images=[Path("/refs/a:b%d.png"), Path("/refs/2.png")]))
    assert args[args.index("-i") + 1] == "file:/refs/a:b%d.png"
    assert args.count("-i") == 1
    assert args[args.index("-pattern_type") + 1] == "none"
    graph = graph_of(args)
    assert graph.startswith("[0:v]") and "gradients" not in graph


def test_a_title_shot_is_a_clean_plate() -> None:
    """Its lettering is set at export per aspect (tools.post.finishing.title_overlays)."""
    graph = graph_of(args_for(req(kind="title", title="The End", text_overlay="fin")))
    assert "drawtext" not in graph and "The End" not in graph and "ANIMATIC" not in graph


def test_odd_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="even"):
        A.build_render_args(req(), Path("o.mp4"), fontfile=A.FONT, width=641, height=360)


# --------------------------------------------------------------------------- real renders


def render(tmp_path: Path, request: GenerationRequest, name: str = "clip.mp4") -> Path:
    out = tmp_path / name
    run(args_for(request, out))
    return out


def probe(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return {
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "fps": stream.average_rate,
            "frames": frames,
            "audio": len(container.streams.audio),
        }


def gray_frames(path: Path) -> list[tuple[int, int, bytes]]:
    """Every frame as (width, height, packed 8-bit luma)."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            g = frame.reformat(format="gray")
            plane = g.planes[0]
            raw, ls = bytes(plane), plane.line_size
            out.append(
                (
                    g.width,
                    g.height,
                    b"".join(raw[y * ls : y * ls + g.width] for y in range(g.height)),
                )
            )
    return out


def region(frame: tuple[int, int, bytes], x0: float, y0: float, x1: float, y1: float) -> bytes:
    w, h, data = frame
    cols = slice(int(w * x0), int(w * x1))
    return b"".join(data[y * w : (y + 1) * w][cols] for y in range(int(h * y0), int(h * y1)))


def mean_diff(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.ffmpeg
@pytest.mark.parametrize("aspect", ["16:9", "9:16", "1:1"])
def test_render_size_frames_codec(tmp_path: Path, aspect: str) -> None:
    r = req(aspect=aspect, components={"camera_movement": "orbit", "lighting": "sunset"})
    info = probe(render(tmp_path, r))
    w, h = A.previz_size(aspect)
    assert (info["width"], info["height"]) == (w, h)
    assert info["frames"] == 24 and info["fps"] == 24
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["audio"] == 0


@pytest.mark.ffmpeg
def test_render_frame_count_is_rounded(tmp_path: Path) -> None:
    assert probe(render(tmp_path, req(duration=0.7)))["frames"] == round(0.7 * 24)


@pytest.mark.ffmpeg
def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    r = req(components={"camera_movement": "handheld", "lighting": "night"}, seed=11)
    a = render(tmp_path, r, "a.mp4")
    b = render(tmp_path, r, "b.mp4")
    c = render(tmp_path, r.model_copy(update={"seed": 12}), "c.mp4")
    assert sha(a) == sha(b)
    assert sha(a) != sha(c)
    fa, fc = gray_frames(a)[0], gray_frames(c)[0]
    assert mean_diff(region(fa, 0, 0, 1, 0.7), region(fc, 0, 0, 1, 0.7)) > 3


@pytest.mark.ffmpeg
def test_push_in_moves_static_does_not(tmp_path: Path) -> None:
    push = gray_frames(render(tmp_path, req(components={"camera_movement": "push in"}), "p.mp4"))
    still = gray_frames(render(tmp_path, req(components={"camera_movement": "static"}), "s.mp4"))
    box = (0.3, 0.2, 0.7, 0.6)
    moved = mean_diff(region(push[0], *box), region(push[-1], *box))
    held = mean_diff(region(still[0], *box), region(still[-1], *box))
    assert moved > 8 > 2 > held


@pytest.mark.ffmpeg
def caption_band(aspect: str = "16:9") -> tuple[float, float, float, float]:
    w, h = A.previz_size(aspect)
    x0, y0, x1, _ = A.caption_box(w, h)
    return (x0 / w, y0 / h, x1 / w, (y0 + min(w, h) * 0.06) / h)


def test_caption_draws_text(tmp_path: Path) -> None:
    plain = gray_frames(render(tmp_path, req(text_overlay=""), "plain.mp4"))[0]
    texted = gray_frames(render(tmp_path, req(text_overlay="HELLO WORLD"), "text.mp4"))[0]
    band = caption_band()
    bright = sum(1 for v in region(texted, *band) if v > 200)
    assert bright > 500
    assert sum(1 for v in region(plain, *band) if v > 200) < bright / 10


@pytest.mark.ffmpeg
@pytest.mark.parametrize("text", NASTY)
def test_hostile_text_renders(tmp_path: Path, text: str) -> None:
    out = render(tmp_path, req(text_overlay=text, title=text, kind="live"))
    texted = gray_frames(out)[0]
    assert sum(1 for v in region(texted, *caption_band()) if v > 200) > 200


@pytest.mark.ffmpeg
def test_reference_image_plate(tmp_path: Path) -> None:
    odd = tmp_path / "it's a:ref %d"
    odd.mkdir()
    ref = odd / "red 100%.png"
    run(["-f", "lavfi", "-i", "color=c=red:s=320x200", "-frames:v", "1", f"file:{ref}"])
    out = render(tmp_path, req(reference_images=[ref], text_overlay=""), "ref.mp4")
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0)).to_rgb()
    plane, ls = bytes(frame.planes[0]), frame.planes[0].line_size
    samples = [
        plane[y * ls + x * 3 : y * ls + x * 3 + 3]
        for y in range(40, frame.height - 40, 40)
        for x in range(40, frame.width - 40, 40)
    ]
    red = [p for p in samples if p[0] > 80 and p[0] > 4 * max(p[1], p[2])]
    assert len(red) > 0.95 * len(samples)
    centre = (frame.height // 2) * ls + (frame.width // 2) * 3
    assert plane[centre] > 220 and max(plane[centre + 1 : centre + 3]) < 20


# --------------------------------------------------------------------------- provider


async def wait_done(provider: AnimaticProvider, job_id: str) -> JobStatus:
    for _ in range(600):
        status = await provider.poll(job_id)
        if status.state in ("succeeded", "failed"):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError("render did not finish")


def test_registry_builds_the_provider(tmp_path: Path) -> None:
    provider = Registry(Settings(data_dir=tmp_path)).get("animatic")
    assert isinstance(provider, AnimaticProvider)
    assert isinstance(provider, VideoProvider)
    assert provider.profile().price_per_second_usd == 0
    assert provider.profile().provider == "animatic"


@pytest.mark.ffmpeg
async def test_provider_lifecycle(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    provider = create(settings)
    r = req(components={"camera_movement": "push in", "lighting": "dawn"}, seed=7)
    job_id = await provider.submit(r)
    assert job_id.startswith("anim-") and job_id == provider.job_id(r)
    assert (await provider.poll(job_id)).state in ("queued", "running", "succeeded")
    status = await wait_done(provider, job_id)
    assert status.state == "succeeded", status.error
    assert status.progress == 1.0 and status.output_url
    clip = settings.media_dir / "animatic" / f"{job_id}.mp4"
    assert clip.is_file()
    assert not list(clip.parent.glob("*.part*"))

    dest = await provider.download(status, tmp_path / "takes" / "t1.mp4")
    assert sha(dest) == sha(clip) and probe(dest)["frames"] == 24
    mtime = clip.stat().st_mtime_ns
    assert await provider.submit(r) == job_id
    assert (await provider.poll(job_id)).state == "succeeded"
    assert clip.stat().st_mtime_ns == mtime
    await provider.aclose()

    restarted = create(settings)
    assert (await restarted.poll(job_id)).state == "succeeded"
    assert await restarted.submit(r) == job_id
    assert (await restarted.poll(job_id)).state == "succeeded"
    assert clip.stat().st_mtime_ns == mtime
    await restarted.aclose()


async def test_unknown_jobs_fail_clearly(tmp_path: Path) -> None:
    provider = create(Settings(data_dir=tmp_path))
    status = await provider.poll("anim-0123456789abcdef")
    assert status.state == "failed" and "no rendered file" in (status.error or "")
    bad = await provider.poll("../../etc/passwd")
    assert bad.state == "failed" and "not an animatic job id" in (bad.error or "")
    with pytest.raises(Exception, match="not succeeded"):
        await provider.download(status, tmp_path / "x.mp4")


async def test_submit_refuses_what_it_cannot_render(tmp_path: Path) -> None:
    provider = create(Settings(data_dir=tmp_path))
    with pytest.raises(Exception, match="at most"):
        await provider.submit(req(duration=600))
    with pytest.raises(Exception, match="does not exist"):
        await provider.submit(req(reference_images=[tmp_path / "missing.png"]))


@pytest.mark.ffmpeg
async def test_ffmpeg_failure_is_reported(tmp_path: Path) -> None:
    provider = create(Settings(data_dir=tmp_path))
    fake = tmp_path / "not-an-image.png"
    fake.write_text("hello")
    job_id = await provider.submit(req(reference_images=[fake]))
    status = await wait_done(provider, job_id)
    assert status.state == "failed"
    assert "animatic render failed" in (status.error or "")
    assert not list((tmp_path / "media" / "animatic").glob("*.part*"))


async def test_missing_ffmpeg_fails_the_job(tmp_path: Path) -> None:
    provider = create(Settings(data_dir=tmp_path, ffmpeg="/nonexistent/ffmpeg"))
    job_id = await provider.submit(req())
    status = await wait_done(provider, job_id)
    assert status.state == "failed" and "REELFORGE_FFMPEG" in (status.error or "")


@pytest.mark.ffmpeg
async def test_aclose_cancels_renders(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, render_concurrency=1)
    provider = create(settings)
    first = await provider.submit(req(duration=30))
    second = await provider.submit(req(duration=30, seed=1))
    await asyncio.sleep(0.3)
    assert (await provider.poll(second)).state == "queued"
    await provider.aclose()
    for job_id in (first, second):
        status = await provider.poll(job_id)
        assert status.state == "failed" and status.error == "render cancelled"
    leftovers = (
        list((settings.media_dir / "animatic").glob("*")) if settings.media_dir.exists() else []
    )
    assert leftovers == []
