"""Pure ffmpeg argument builders for post-production: master, audio bed, loudness, exports.

Every function returns the argv that follows the ffmpeg binary; `tools.post.runner` adds the
global flags and runs it. Paths are passed as single `file:` arguments and never enter a filter
graph, so spaces, quotes, colons and leading dashes in names cannot break a command.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from memory.models import EXPORT_SIZES, Grade, Transition
from tools.post.luts import lut_path

ReframeMode = Literal["crop", "pad"]

SAMPLE_RATE = 48000
TARGET_I = -14.0
TARGET_TP = -1.5
TARGET_LRA = 11.0
LIMIT_DBFS = -3.0
"""Ceiling of the pre-limiter, below TARGET_TP so a linear gain after it rarely needs more room."""

BT709 = "colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"
MASTER_VIDEO = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p"]
DELIVERY_AUDIO = "-c:a aac -profile:a aac_low -b:a 192k -ar 48000 -ac 2".split()
WAV = ["-c:a", "pcm_s16le", "-ar", str(SAMPLE_RATE), "-ac", "2"]
TRANSITION_S = 0.5
"""Length of a dissolve or fade, centred on its cut; shorter next to a short clip."""
XFADE_OF: dict[str, str | None] = {"cut": None, "dissolve": "fade", "fade": "fadeblack"}
"""Our transition names -> ffmpeg `xfade` transitions (None: a hard cut, no xfade)."""


@dataclass(frozen=True)
class ClipSpec:
    """A picked take and how many seconds of it, from its start, go into the master.

    `transition` is how the master goes into this clip from the one before (ignored on the
    first clip): a hard cut, a dissolve, or a fade through black (see `assemble_master`)."""

    path: Path
    duration_s: float
    transition: Transition = "cut"

    def __post_init__(self) -> None:
        if not self.duration_s > 0:
            raise ValueError(f"clip duration must be positive, got {self.duration_s}")
        if self.transition not in XFADE_OF:
            raise ValueError(
                f"transition must be one of {', '.join(XFADE_OF)}, got {self.transition!r}"
            )


@dataclass(frozen=True)
class SegmentSpec:
    """A span of the master (one shot) and how to reframe it for other aspects."""

    start_s: float
    end_s: float
    mode: ReframeMode = "crop"
    subject_x: float = 0.5

    def __post_init__(self) -> None:
        if self.start_s < 0 or self.end_s <= self.start_s:
            raise ValueError(f"bad segment span {self.start_s}..{self.end_s}")
        if self.mode not in ("crop", "pad"):
            raise ValueError(f"reframe mode must be crop or pad, got {self.mode!r}")
        if not 0.0 <= self.subject_x <= 1.0:
            raise ValueError(f"subject_x must be within 0..1, got {self.subject_x}")


@dataclass(frozen=True)
class Delivery:
    """How one delivery file is encoded for where it is going (see `tools.post.platforms`)."""

    name: str = "generic"
    maxrate: str = "12M"
    audio_bitrate: str = "192k"
    gop_s: float = 2.0
    """Seconds between keyframes (closed GOP)."""
    edit_lists: bool = True
    """False: no MP4 edit list (YouTube asks for none); video starts at 0 through negative
    composition offsets and the audio keeps its 1024-sample AAC priming (about 21 ms)."""

    def __post_init__(self) -> None:
        for value in (self.maxrate, self.audio_bitrate):
            if not re.fullmatch(r"[1-9][0-9]*[kM]", value):
                raise ValueError(f"bitrate must look like 192k or 12M, got {value!r}")
        if not 0.1 <= self.gop_s <= 10:
            raise ValueError(f"keyframe interval must be 0.1..10 s, got {self.gop_s}")


@dataclass(frozen=True)
class ExportSpec:
    """One delivery file: an aspect from EXPORT_SIZES, where to write it and how to encode it."""

    aspect: str
    path: Path
    delivery: Delivery = Delivery()

    def __post_init__(self) -> None:
        if self.aspect not in EXPORT_SIZES:
            raise ValueError(
                f"unknown aspect {self.aspect!r}; use one of {', '.join(EXPORT_SIZES)}"
            )


def media_arg(path: Path | str) -> str:
    """`path` as one ffmpeg input/output argument, immune to `-` prefixes and `proto:` names."""
    return f"file:{path}"


def frame_count(duration_s: float, fps: int) -> int:
    """Whole frames in `duration_s` at `fps` (rounded); at least one."""
    return max(1, round(duration_s * fps))


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def filter_value(value: str | Path) -> str:
    """`value` escaped to sit inside a filter graph as one option value.

    Two levels, as ffmpeg parses them: the option parser (`\\ ' :`) and the graph parser
    (`\\ ' [ ] , ;`). Used for our LUT, font and sidecar paths, and for on-screen text.
    """
    text = re.sub(r"([\\':])", r"\\\1", str(value))
    return re.sub(r"([\\'\[\],;])", r"\\\1", text)


def _ratio(aspect: str) -> float:
    w, h = EXPORT_SIZES[aspect]
    return w / h


# --------------------------------------------------------------------------- master


def grade_filters(grade: Grade) -> list[str]:
    """The filters for `grade`, omitting any that would do nothing."""
    filters: list[str] = []
    eq = {
        "brightness": (grade.brightness, 0.0),
        "contrast": (grade.contrast, 1.0),
        "saturation": (grade.saturation, 1.0),
    }
    changed = [f"{name}={_num(v)}" for name, (v, neutral) in eq.items() if v != neutral]
    if changed:
        filters.append("eq=" + ":".join(changed))
    if grade.temperature:
        kelvin = 6500 - 3000 * grade.temperature
        filters.append(f"colortemperature=temperature={_num(kelvin)}:pl=0.5")
    if grade.lut:
        filters.append(f"lut3d=file={filter_value(lut_path(grade.lut))}:interp=tetrahedral")
    return filters


def transition_halves(clips: Sequence[ClipSpec], fps: int = 24) -> list[int]:
    """Per clip, the frames each side of the cut into it that its transition spans (0: a cut).

    A transition lasts TRANSITION_S, or less so that it never spans more than half of either
    neighbour, and is an even number of frames so it centres exactly on the cut. The first
    clip has nothing to come from; a clip under 4 frames gets a hard cut.
    """
    frames = [frame_count(c.duration_s, fps) for c in clips]
    halves = [0] * len(clips)
    for i in range(1, len(clips)):
        if XFADE_OF[clips[i].transition] is not None:
            halves[i] = min(int(TRANSITION_S * fps / 2), frames[i - 1] // 4, frames[i] // 4)
    return halves


def assemble_master(
    clips: Sequence[ClipSpec],
    out: Path,
    *,
    width: int,
    height: int,
    fps: int = 24,
) -> list[str]:
    """Join the clips into one ungraded, video-only master of exactly sum(frames) frames.

    Each clip is retimed to `fps`, padded by cloning its last frame if it runs short, cut to
    its frame count, fitted into width x height (letterboxed if its aspect differs) and tagged
    BT.709. Clips are hard-cut (concat) unless their `transition` asks for a dissolve (`xfade`
    fade) or a fade through black (`xfade` fadeblack): that overlap (`transition_halves`) is
    centred on the cut, so every cut stays on its frame and the length does not change. The
    outgoing clip runs on past its duration into its take (its last frame cloned if the take
    is no longer) and the incoming one starts on clones of its first frame (a take has nothing
    before its start); the held frames are half-hidden by the blend. The grade is applied at
    export (`export_formats`), so a regrade reuses the master and anything made from it
    (interpolation).
    """
    if not clips:
        raise ValueError("assemble_master needs at least one clip")
    if width % 2 or height % 2:
        raise ValueError(f"master size must be even, got {width}x{height}")
    args: list[str] = []
    for clip in clips:
        args += ["-i", media_arg(clip.path)]
    halves = [*transition_halves(clips, fps), 0]
    graph: list[str] = []
    for i, clip in enumerate(clips):
        head, tail_frames = halves[i], halves[i + 1]
        start = f"start={head}:start_mode=clone:" if head else ""
        graph.append(
            f"[{i}:v:0]setpts=PTS-STARTPTS,fps={fps},tpad={start}stop=-1:stop_mode=clone,"
            f"trim=end_frame={head + frame_count(clip.duration_s, fps) + tail_frames},"
            f"scale={width}:{height}:force_original_aspect_ratio=decrease"
            ":force_divisible_by=2:flags=lanczos,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,"
            f"setparams={BT709}[c{i}]"
        )
    finish = ["format=yuv420p", f"setparams={BT709}"]
    # runs of hard-cut clips are concatenated; the runs are joined by xfade
    starts = [i for i in range(len(clips)) if i == 0 or halves[i]]
    ends = [*starts[1:], len(clips)]
    if len(starts) == 1:
        joined = "".join(f"[c{i}]" for i in range(len(clips)))
        tail = [f"concat=n={len(clips)}:v=1:a=0"] if len(clips) > 1 else ["null"]
        graph.append(joined + ",".join(tail + finish) + "[master]")
    else:
        stream = ""
        cut = 0  # the master's frame where the current run starts
        for r, (first, stop) in enumerate(zip(starts, ends, strict=True)):
            run = "".join(f"[c{i}]" for i in range(first, stop))
            if stop - first > 1:
                # concat's output runs on microseconds; xfade needs both time bases the same
                graph.append(f"{run}concat=n={stop - first}:v=1:a=0,settb=1/{fps}[r{r}]")
                run = f"[r{r}]"
            if r:
                half = halves[first]
                last = stop == len(clips)
                out_label = "," + ",".join(finish) + "[master]" if last else f"[x{r}]"
                graph.append(
                    f"{stream}{run}xfade=transition={XFADE_OF[clips[first].transition]}"
                    f":duration={_num(2 * half / fps)}:offset={_num((cut - half) / fps)}"
                    + out_label
                )
                run = f"[x{r}]"
            stream = run
            cut += sum(frame_count(c.duration_s, fps) for c in clips[first:stop])
    return [
        *args,
        "-filter_complex",
        ";".join(graph),
        "-map",
        "[master]",
        "-an",
        *MASTER_VIDEO,
        "-r",
        str(fps),
        media_arg(out),
    ]


# --------------------------------------------------------------------------- audio beds

_CHORDS: tuple[tuple[frozenset[str], tuple[float, ...]], ...] = (
    (
        frozenset(
            "dark tense sad melancholy melancholic moody somber sombre ominous mysterious eerie"
            " noir lonely gloomy haunting suspenseful grim".split()
        ),
        (110.00, 130.81, 164.81),  # A minor
    ),
    (
        frozenset(
            "happy upbeat bright joyful playful fun cheerful energetic uplifting hopeful"
            " optimistic sunny festive".split()
        ),
        (130.81, 164.81, 196.00),  # C major
    ),
    (
        frozenset(
            "calm peaceful serene dreamy gentle soft relaxed tranquil nostalgic warm tender"
            " romantic cozy".split()
        ),
        (87.31, 130.81, 164.81, 220.00),  # F major 7
    ),
    (
        frozenset(
            "epic heroic cinematic dramatic grand powerful intense bold triumphant majestic".split()
        ),
        (73.42, 110.00, 146.83),  # D power chord
    ),
)
_DEFAULT_CHORD = (98.00, 146.83, 220.00)  # G open fifths


def mood_chord(mood: str) -> tuple[float, ...]:
    """Pad frequencies (Hz) for a free-text mood: the chord whose keywords it mentions most."""
    words = set(re.findall(r"[a-z]+", mood.lower()))
    best: tuple[float, ...] = _DEFAULT_CHORD
    best_hits = 0
    for keywords, chord in _CHORDS:
        hits = len(words & keywords)
        if hits > best_hits:
            best, best_hits = chord, hits
    return best


def _fades(duration_s: float, fade_in_s: float, fade_out_s: float) -> str:
    fi = min(fade_in_s, duration_s / 4)
    fo = min(fade_out_s, duration_s / 4)
    return f"afade=t=in:d={_num(fi)},afade=t=out:st={_num(duration_s - fo)}:d={_num(fo)}"


def _wav_tail(duration_s: float) -> str:
    samples = round(duration_s * SAMPLE_RATE)
    return (
        f"atrim=end_sample={samples},"
        f"aformat=sample_fmts=s16:sample_rates={SAMPLE_RATE}:channel_layouts=stereo"
    )


def audio_bed_synth(out_wav: Path, *, duration_s: float, mood: str, seed: int) -> list[str]:
    """A synthesized ambience: seeded stereo brown noise under a slow pad chord picked by mood."""
    if not duration_s > 0:
        raise ValueError(f"duration must be positive, got {duration_s}")
    src_d = _num(duration_s + 0.5)
    noise_seed = seed % 0xFFFFFFFF
    chord = mood_chord(mood)
    gain = 0.12 / len(chord)
    lfo = "(0.7+0.3*sin(2*PI*0.07*t))"
    left = "+".join(f"sin(2*PI*{_num(f)}*t)" for f in chord)
    right = "+".join(f"sin(2*PI*{_num(f * 1.003)}*t)" for f in chord)
    pad = f"{_num(gain)}*({left})*{lfo}|{_num(gain)}*({right})*{lfo}"
    graph = ";".join(
        [
            f"anoisesrc=color=brown:amplitude=0.5:sample_rate={SAMPLE_RATE}:duration={src_d}"
            f":seed={noise_seed}[nl]",
            f"anoisesrc=color=brown:amplitude=0.5:sample_rate={SAMPLE_RATE}:duration={src_d}"
            f":seed={(noise_seed + 1) % 0xFFFFFFFF}[nr]",
            "[nl][nr]join=inputs=2:channel_layout=stereo,highpass=f=40,lowpass=f=1200,"
            "volume=0.6[noise]",
            f"aevalsrc=exprs={pad}:sample_rate={SAMPLE_RATE}:duration={src_d}"
            ":channel_layout=stereo,lowpass=f=2000[pad]",
            f"[noise][pad]amix=inputs=2:normalize=0:duration=shortest,"
            f"{_fades(duration_s, 1.5, 2.0)},{_wav_tail(duration_s)}[bed]",
        ]
    )
    return ["-filter_complex", graph, "-map", "[bed]", *WAV, media_arg(out_wav)]


def audio_bed_music(music: Path, out_wav: Path, *, duration_s: float) -> list[str]:
    """The brief's music, looped if short, cut to `duration_s` and faded out, as a stereo WAV."""
    if not duration_s > 0:
        raise ValueError(f"duration must be positive, got {duration_s}")
    chain = (
        f"[0:a:0]aresample={SAMPLE_RATE},asetpts=N/SR/TB,"
        f"aformat=sample_rates={SAMPLE_RATE}:channel_layouts=stereo,"
        f"{_wav_tail(duration_s)},{_fades(duration_s, 0.05, 2.0)}[bed]"
    )
    return [
        "-stream_loop",
        "-1",
        "-i",
        media_arg(music),
        "-filter_complex",
        chain,
        "-map",
        "[bed]",
        *WAV,
        media_arg(out_wav),
    ]


# --------------------------------------------------------------------------- loudness

_MEASURED_RANGES = {
    "input_i": ("measured_I", -99.0, 0.0),
    "input_tp": ("measured_TP", -99.0, 99.0),
    # loudnorm reads measured_LRA=0 as "not measured" and silently goes dynamic; short or
    # perfectly steady sound measures 0, and the range does not change a linear gain
    "input_lra": ("measured_LRA", 0.01, 99.0),
    "input_thresh": ("measured_thresh", -99.0, 0.0),
}


def prelimit_filters(pre_gain_db: float = 0.0) -> list[str]:
    """Optional gain then a sample-peak limiter at LIMIT_DBFS; identical in both loudnorm passes."""
    limit = 10 ** (LIMIT_DBFS / 20)
    filters = [f"volume={_num(pre_gain_db)}dB"] if pre_gain_db else []
    filters.append(f"alimiter=limit={_num(limit)}:level=false:latency=true")
    return filters


_METER = "measured_I={i}:measured_TP=-99:measured_LRA=1:measured_thresh=-99:linear=true"


def loudnorm_measure(in_wav: Path, *, pre_gain_db: float = 0.0) -> list[str]:
    """Loudnorm pass 1: measure the pre-limited audio; the stats are JSON on stderr.

    Placeholder measurements put loudnorm in linear mode at unity gain, so it only meters: in
    its default dynamic mode ffmpeg's input statistics are skewed by a fade at the end (about
    0.3 LU and 2 LU of LRA on a 15 s bed faded over 2 s).
    """
    meter = _METER.format(i=_num(TARGET_I))
    chain = [
        *prelimit_filters(pre_gain_db),
        f"loudnorm=I={_num(TARGET_I)}:TP={_num(TARGET_TP)}:LRA={_num(TARGET_LRA)}:{meter}"
        ":print_format=json",
    ]
    return ["-i", media_arg(in_wav), "-vn", "-af", ",".join(chain), "-f", "null", "-"]


def parse_loudnorm_json(stderr: str) -> dict[str, str]:
    """The last loudnorm JSON block in ffmpeg's stderr."""
    blocks = re.findall(r"\{[^{}]*\"input_i\"[^{}]*\}", stderr)
    if not blocks:
        raise ValueError("no loudnorm JSON in ffmpeg output")
    data = json.loads(blocks[-1])
    return {str(k): str(v) for k, v in data.items()}


def loudness_value(stats: Mapping[str, str], key: str) -> float:
    """A numeric loudnorm stat; `-inf` (silence) comes back as -inf."""
    return float(stats[key])


def linear_feasible(measured: Mapping[str, str]) -> bool:
    """Whether loudnorm can apply one linear gain without breaking TARGET_TP (its own test)."""
    i = loudness_value(measured, "input_i")
    tp = loudness_value(measured, "input_tp")
    if not math.isfinite(i) or i < -99:
        return False
    return tp + (TARGET_I - i) <= TARGET_TP


def is_dynamic_fallback(applied: Mapping[str, str]) -> bool:
    """True when pass 2 fell back from linear to dynamic normalization."""
    return applied.get("normalization_type", "").lower() != "linear"


def on_target(applied: Mapping[str, str], *, tolerance_lu: float = 1.0) -> bool:
    """Pass 2 reached TARGET_I within `tolerance_lu` without exceeding TARGET_TP.

    A short input (under 3 s) can report `linear` yet stop short of the target: ffmpeg then
    caps the gain at the true-peak limit instead of falling back to dynamic mode.
    """
    i = loudness_value(applied, "output_i")
    tp = loudness_value(applied, "output_tp")
    return abs(i - TARGET_I) <= tolerance_lu and tp <= TARGET_TP + 0.05


def loudnorm_apply(
    in_wav: Path, out_wav: Path, measured: Mapping[str, str], *, pre_gain_db: float = 0.0
) -> list[str]:
    """Loudnorm pass 2: the same pre-limiter, then a linear gain from the pass-1 measurements.

    The LRA target is raised to the measured LRA: a linear gain keeps LRA as it is, and a
    lower target would make loudnorm refuse linear mode for dynamic material.
    """
    options = [f"I={_num(TARGET_I)}", f"TP={_num(TARGET_TP)}"]
    lra = max(TARGET_LRA, min(20.0, loudness_value(measured, "input_lra")))
    options.append(f"LRA={_num(lra)}")
    for key, (option, low, high) in _MEASURED_RANGES.items():
        value = loudness_value(measured, key)
        if not math.isfinite(value):
            raise ValueError(f"cannot normalize: measured {key} is {measured[key]} (silence?)")
        options.append(f"{option}={_num(min(high, max(low, value)))}")
    options += ["linear=true", "print_format=json"]
    chain = [*prelimit_filters(pre_gain_db), "loudnorm=" + ":".join(options)]
    return [
        "-i",
        media_arg(in_wav),
        "-vn",
        "-af",
        ",".join(chain),
        *WAV,
        media_arg(out_wav),
    ]


def ebur128_measure(path: Path) -> list[str]:
    """Measure integrated loudness and true peak of the first audio stream (summary on stderr)."""
    return [
        "-i",
        media_arg(path),
        "-vn",
        "-map",
        "0:a:0",
        "-af",
        "ebur128=peak=true:framelog=quiet",
        "-f",
        "null",
        "-",
    ]


def parse_ebur128_summary(stderr: str) -> dict[str, float]:
    """`{"I": LUFS, "LRA": LU, "true_peak": dBTP}` from an ebur128 summary."""
    summary = stderr[stderr.rfind("Summary:") :]
    found = {}
    for key, pattern in (
        ("I", r"I:\s+(-?[\d.]+|-inf) LUFS"),
        ("LRA", r"LRA:\s+(-?[\d.]+) LU"),
        ("true_peak", r"Peak:\s+(-?[\d.]+|-inf) dBFS"),
    ):
        match = re.search(pattern, summary)
        if match is None:
            raise ValueError(f"no {key} in ebur128 summary")
        found[key] = float(match.group(1))
    return found


# --------------------------------------------------------------------------- exports

_ENCODE = (
    "-c:v libx264 -preset veryfast -crf 20 -profile:v high -pix_fmt yuv420p -bf 2"
    " -color_primaries bt709 -color_trc bt709 -colorspace bt709 -color_range tv"
).split()


def delivery_encode(delivery: Delivery, fps: int) -> list[str]:
    """Video and audio encoder options for one delivery file (after its -map options)."""
    bufsize = f"{int(delivery.maxrate[:-1]) * 2}{delivery.maxrate[-1]}"
    flags = (
        ["-movflags", "+faststart"]
        if delivery.edit_lists
        else ["-movflags", "+faststart+negative_cts_offsets", "-use_editlist", "0"]
    )
    gop = max(1, round(delivery.gop_s * fps))
    return [
        *_ENCODE,
        "-maxrate",
        delivery.maxrate,
        "-bufsize",
        bufsize,
        "-g",
        str(gop),
        "-r",
        str(fps),
        *DELIVERY_AUDIO[:4],
        "-b:a",
        delivery.audio_bitrate,
        *DELIVERY_AUDIO[6:],
        *flags,
    ]


@dataclass(frozen=True)
class _Run:
    """Consecutive master frames [start, end) sharing one reframe; end None = to the end."""

    start: int
    end: int | None
    mode: ReframeMode
    subject_x: float


def _crop_matters(master_aspect: str, aspect: str) -> bool:
    return _ratio(aspect) < _ratio(master_aspect)


def reframe_runs(
    segments: Sequence[SegmentSpec], *, fps: int, master_aspect: str, aspect: str
) -> list[_Run]:
    """Merge segments into runs of frames that reframe identically for `aspect`.

    subject_x only matters when cropping to a narrower aspect; segments must tile the master
    (gaps or overlaps of more than one frame are errors).
    """
    if not segments:
        return [_Run(0, None, "crop", 0.5)]
    ordered = sorted(segments, key=lambda s: s.start_s)
    tolerance = 1.0 / fps + 1e-9
    if ordered[0].start_s > tolerance:
        raise ValueError(f"segments start at {ordered[0].start_s}s, not at 0")
    for prev, nxt in zip(ordered, ordered[1:], strict=False):
        if abs(nxt.start_s - prev.end_s) > tolerance:
            raise ValueError(f"segments do not tile: {prev.end_s}s then {nxt.start_s}s")
    use_x = _crop_matters(master_aspect, aspect)
    starts: list[tuple[int, ReframeMode, float]] = []
    for seg in ordered:
        sx = round(seg.subject_x, 4) if seg.mode == "crop" and use_x else 0.5
        start = round(seg.start_s * fps)
        while starts and starts[-1][0] >= start:
            starts.pop()
        if not starts:
            start = 0
        if not starts or starts[-1][1:] != (seg.mode, sx):
            starts.append((start, seg.mode, sx))
    ends: list[int | None] = [s[0] for s in starts[1:]]
    ends.append(None)
    runs = [_Run(start, end, mode, sx) for (start, mode, sx), end in zip(starts, ends, strict=True)]
    return runs


def _crop_graph(src: str, dst: str, *, master_aspect: str, aspect: str, subject_x: float) -> str:
    w, h = EXPORT_SIZES[aspect]
    target, master = _ratio(aspect), _ratio(master_aspect)
    if target < master:
        share = target / master
        pos = min(1.0, max(0.0, (subject_x - share / 2) / (1 - share)))
        crop = f"crop=w=trunc(ih*{w}/{h}/2)*2:h=ih:x=(iw-ow)*{_num(pos)}:y=0"
    else:
        crop = f"crop=w=iw:h=trunc(iw*{h}/{w}/2)*2:x=0:y=(ih-oh)/2"
    return f"[{src}]{crop},scale={w}:{h}:flags=lanczos,setsar=1[{dst}]"


def _pad_graph(src: str, dst: str, *, aspect: str) -> str:
    w, h = EXPORT_SIZES[aspect]
    bw, bh = w // 4 // 2 * 2, h // 4 // 2 * 2
    return ";".join(
        [
            f"[{src}]split=2[{dst}fg][{dst}bg]",
            f"[{dst}bg]scale={bw}:{bh}:force_original_aspect_ratio=increase:flags=fast_bilinear,"
            f"crop={bw}:{bh},boxblur=luma_radius=12:luma_power=2,eq=brightness=-0.06,"
            f"scale={w}:{h}:flags=bilinear[{dst}bgs]",
            f"[{dst}fg]scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2"
            f":flags=lanczos[{dst}fgs]",
            f"[{dst}bgs][{dst}fgs]overlay=x=(W-w)/2:y=(H-h)/2,setsar=1[{dst}]",
        ]
    )


def _reframe_graph(src: str, dst: str, run: _Run, *, master_aspect: str, aspect: str) -> str:
    if run.mode == "pad":
        return _pad_graph(src, dst, aspect=aspect)
    return _crop_graph(
        src, dst, master_aspect=master_aspect, aspect=aspect, subject_x=run.subject_x
    )


def format_graph(
    src: str,
    dst: str,
    *,
    aspect: str,
    master_aspect: str,
    segments: Sequence[SegmentSpec],
    fps: int,
) -> list[str]:
    """Filter-graph statements taking master pad `src` to delivery pad `dst` for `aspect`."""
    w, h = EXPORT_SIZES[aspect]
    tail = f"format=yuv420p,setparams={BT709}"
    if aspect == master_aspect:
        return [f"[{src}]scale={w}:{h}:flags=lanczos,setsar=1,{tail}[{dst}]"]
    runs = reframe_runs(segments, fps=fps, master_aspect=master_aspect, aspect=aspect)
    if len(runs) == 1:
        body = _reframe_graph(src, f"{dst}r", runs[0], master_aspect=master_aspect, aspect=aspect)
        return [body, f"[{dst}r]{tail}[{dst}]"]
    pieces = "".join(f"[{dst}p{j}]" for j in range(len(runs)))
    statements = [f"[{src}]split={len(runs)}{pieces}"]
    for j, run in enumerate(runs):
        bounds = f"start_frame={run.start}" + (
            f":end_frame={run.end}" if run.end is not None else ""
        )
        statements.append(f"[{dst}p{j}]trim={bounds},setpts=PTS-STARTPTS[{dst}t{j}]")
        statements.append(
            _reframe_graph(
                f"{dst}t{j}", f"{dst}r{j}", run, master_aspect=master_aspect, aspect=aspect
            )
        )
    joined = "".join(f"[{dst}r{j}]" for j in range(len(runs)))
    statements.append(f"{joined}concat=n={len(runs)}:v=1:a=0,{tail}[{dst}]")
    return statements


def export_formats(
    master: Path,
    audio: Path,
    outputs: Sequence[ExportSpec],
    *,
    segments: Sequence[SegmentSpec],
    master_aspect: str,
    fps: int = 24,
    grade: Grade | None = None,
    overlays: Mapping[str, str] | None = None,
) -> list[str]:
    """Every delivery format from one decode of the master, in one ffmpeg run.

    The grade runs once on the master's frames; they are then split once per format, and each
    branch is scaled (same aspect) or reframed per shot (crop around the subject, or the whole
    frame over a blurred background), gets its `overlays[aspect]` filter chain (titles drawn in
    that format's safe area), and is encoded as H.264 High / yuv420p / BT.709 with AAC-LC, moov
    first, with its `ExportSpec.delivery` settings.
    """
    if not outputs:
        raise ValueError("export_formats needs at least one output")
    if master_aspect not in EXPORT_SIZES:
        raise ValueError(f"unknown master aspect {master_aspect!r}")
    if len({spec.path for spec in outputs}) != len(outputs):
        raise ValueError("export paths must differ")
    overlays = overlays or {}
    graph: list[str] = []
    source = "0:v:0"
    looks = grade_filters(grade) if grade is not None else []
    if looks:
        graph.append(f"[{source}]{','.join([*looks, 'format=yuv420p'])}[graded]")
        source = "graded"
    if len(outputs) > 1:
        labels = "".join(f"[m{k}]" for k in range(len(outputs)))
        graph.append(f"[{source}]split={len(outputs)}{labels}")
        sources = [f"m{k}" for k in range(len(outputs))]
    else:
        sources = [source]
    for k, spec in enumerate(outputs):
        overlay = overlays.get(spec.aspect)
        graph += format_graph(
            sources[k],
            f"f{k}" if overlay else f"v{k}",
            aspect=spec.aspect,
            master_aspect=master_aspect,
            segments=segments,
            fps=fps,
        )
        if overlay:
            graph.append(f"[f{k}]{overlay}[v{k}]")
    args = ["-i", media_arg(master), "-i", media_arg(audio), "-filter_complex", ";".join(graph)]
    for k, spec in enumerate(outputs):
        args += [
            "-map",
            f"[v{k}]",
            "-map",
            "1:a:0",
            *delivery_encode(spec.delivery, fps),
            media_arg(spec.path),
        ]
    return args
