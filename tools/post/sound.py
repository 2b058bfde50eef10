"""Pure ffmpeg argument builders for the soundtrack: native clip audio, the mix with music
ducked under the voice-over, and offline voice-over with espeak-ng when it is installed.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.post.builders import SAMPLE_RATE, WAV, ClipSpec, _num, _wav_tail, frame_count, media_arg

STEREO = f"aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo"


@dataclass(frozen=True)
class Ducking:
    """sidechaincompress settings that pulled music 11-13 dB under speech and let it recover."""

    threshold: float = 0.03
    ratio: float = 10.0
    attack_ms: float = 15.0
    release_ms: float = 350.0

    def filter(self) -> str:
        return (
            f"sidechaincompress=threshold={_num(self.threshold)}:ratio={_num(self.ratio)}"
            f":attack={_num(self.attack_ms)}:release={_num(self.release_ms)}"
        )


def native_audio(
    clips: Sequence[ClipSpec], has_audio: Sequence[bool], out_wav: Path, *, fps: int = 24
) -> list[str]:
    """The takes' own audio on the master's timeline: each clip's sound cut or padded to the
    clip's frame-grid length, silence for clips without audio, concatenated into one WAV."""
    if len(clips) != len(has_audio) or not clips:
        raise ValueError("native_audio needs one has_audio flag per clip")
    args: list[str] = []
    graph: list[str] = []
    inputs = 0
    for i, (clip, present) in enumerate(zip(clips, has_audio, strict=True)):
        seconds = _num(frame_count(clip.duration_s, fps) / fps)
        if present:
            args += ["-i", media_arg(clip.path)]
            graph.append(
                f"[{inputs}:a:0]asetpts=PTS-STARTPTS,aresample={SAMPLE_RATE},{STEREO},"
                f"apad,atrim=end={seconds},asetpts=N/SR/TB[n{i}]"
            )
            inputs += 1
        else:
            graph.append(f"anullsrc=r={SAMPLE_RATE}:cl=stereo,atrim=end={seconds},{STEREO}[n{i}]")
    if not inputs:
        raise ValueError("no clip has audio")
    total = sum(frame_count(c.duration_s, fps) for c in clips) / fps
    joined = "".join(f"[n{i}]" for i in range(len(clips)))
    graph.append(f"{joined}concat=n={len(clips)}:v=0:a=1,{_wav_tail(total)}[nat]")
    return [*args, "-filter_complex", ";".join(graph), "-map", "[nat]", *WAV, media_arg(out_wav)]


def mix(
    out_wav: Path,
    *,
    duration_s: float,
    music: Path | None = None,
    voice: Path | None = None,
    ambience: Path | None = None,
    native: Path | None = None,
    voice_start_s: float = 0.0,
    music_gain_db: float = -4.0,
    ambience_gain_db: float = -14.0,
    ducking: Ducking | None = Ducking(),
) -> list[str]:
    """Mix the soundtrack stems into one stereo WAV of `duration_s`, before loudness.

    Music is ducked under the voice-over (sidechain compression keyed by the voice); the mix is
    summed with `amix normalize=0` so stem levels mean what they say, and loudnorm levels it.
    """
    if not duration_s > 0:
        raise ValueError(f"duration must be positive, got {duration_s}")
    stems = {"music": music, "voice": voice, "ambience": ambience, "native": native}
    present = {name: path for name, path in stems.items() if path is not None}
    if not present:
        raise ValueError("mix needs at least one stem")
    args: list[str] = []
    graph: list[str] = []
    index = {}
    for k, (name, path) in enumerate(present.items()):
        loop = ["-stream_loop", "-1"] if name in ("music", "ambience") else []
        args += [*loop, "-i", media_arg(path)]
        index[name] = k
    length = _num(duration_s)
    labels: list[str] = []
    if voice is not None:
        delay = round(voice_start_s * 1000)
        chain = f"[{index['voice']}:a:0]aresample={SAMPLE_RATE},{STEREO}"
        chain += f",adelay={delay}:all=1" if delay else ""
        split = "asplit=2[voice][key]" if music is not None and ducking else "anull[voice]"
        graph.append(f"{chain},apad,atrim=end={length},{split}")
        labels.append("[voice]")
    if music is not None:
        chain = (
            f"[{index['music']}:a:0]aresample={SAMPLE_RATE},asetpts=N/SR/TB,{STEREO},"
            f"atrim=end={length},volume={_num(music_gain_db)}dB"
        )
        if voice is not None and ducking:
            graph.append(f"{chain}[music_in]")
            graph.append(f"[music_in][key]{ducking.filter()}[music]")
        else:
            graph.append(f"{chain}[music]")
        labels.append("[music]")
    if ambience is not None:
        graph.append(
            f"[{index['ambience']}:a:0]aresample={SAMPLE_RATE},asetpts=N/SR/TB,{STEREO},"
            f"atrim=end={length},volume={_num(ambience_gain_db)}dB[amb]"
        )
        labels.append("[amb]")
    if native is not None:
        graph.append(
            f"[{index['native']}:a:0]aresample={SAMPLE_RATE},{STEREO},apad,atrim=end={length}[nat]"
        )
        labels.append("[nat]")
    if len(labels) > 1:
        graph.append(
            f"{''.join(labels)}amix=inputs={len(labels)}:normalize=0:duration=longest,"
            f"{_wav_tail(duration_s)}[mix]"
        )
    else:
        graph.append(f"{labels[0]}anull,{_wav_tail(duration_s)}[mix]")
    return [*args, "-filter_complex", ";".join(graph), "-map", "[mix]", *WAV, media_arg(out_wav)]


def voice_track(
    out_wav: Path, lines: Sequence[tuple[Path, float]], *, duration_s: float
) -> list[str]:
    """Spoken lines on the cut's timeline: each (file, start second) delayed to its start, summed
    (`amix normalize=0`, so each line keeps its level) into one stereo WAV of `duration_s`."""
    if not lines:
        raise ValueError("voice_track needs at least one line")
    if not duration_s > 0:
        raise ValueError(f"duration must be positive, got {duration_s}")
    args: list[str] = []
    graph: list[str] = []
    for i, (path, start_s) in enumerate(lines):
        args += ["-i", media_arg(path)]
        delay = max(0, round(start_s * 1000))
        graph.append(
            f"[{i}:a:0]aresample={SAMPLE_RATE},{STEREO},adelay={delay}:all=1,apad,"
            f"atrim=end={_num(duration_s)}[l{i}]"
        )
    joined = "".join(f"[l{i}]" for i in range(len(lines)))
    graph.append(
        f"{joined}amix=inputs={len(lines)}:normalize=0:duration=longest,"
        f"{_wav_tail(duration_s)}[voice]"
    )
    return [*args, "-filter_complex", ";".join(graph), "-map", "[voice]", *WAV, media_arg(out_wav)]


class VoiceOverUnavailable(RuntimeError):
    """No offline voice: espeak-ng is not installed (and no voice-over file was given)."""


def espeak_exe() -> str:
    """espeak-ng (or espeak) on PATH, else VoiceOverUnavailable saying what to do."""
    found = shutil.which("espeak-ng") or shutil.which("espeak")
    if found is None:
        raise VoiceOverUnavailable(
            "no voice-over: espeak-ng is not installed (apt install espeak-ng), and no "
            "voice-over file was given; the cut has music and ambience only"
        )
    return found


def espeak_argv(
    exe: str, out_wav: Path, *, voice: str = "en-us", words_per_minute: int = 160
) -> list[str]:
    """The espeak-ng command (full argv) writing speech to `out_wav`; the text goes on stdin
    (`--stdin`) so nothing in it can be read as an option."""
    if not 80 <= words_per_minute <= 450:
        raise ValueError(f"words per minute must be within 80..450, got {words_per_minute}")
    return [exe, "-v", voice, "-s", str(words_per_minute), "-w", str(out_wav), "--stdin"]
