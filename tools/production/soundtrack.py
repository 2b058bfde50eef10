"""Paid sound (voice-over, music, ambience): its price. The stems are made by the finishing run
(tools.post.finishing) on the takes' ledger; this is the engine's one door to that money."""

from __future__ import annotations

from pathlib import Path

from tools.post.finishing import AudioQuote, quote_audio

__all__ = ["AudioQuote", "MusicError", "check_music_file", "quote_audio"]


class MusicError(ValueError):
    """A music file that is not a readable audio file; the message says which."""


def check_music_file(path: Path) -> Path:
    """`path` resolved, if it is a regular file with an audio stream (probed with PyAV);
    else `MusicError`. Special files (/proc, devices, pipes) are refused without reading."""
    from tools.post.probe import ProbeError, probe

    shown = str(path)
    try:
        resolved = path.expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        raise MusicError(f"music file {shown!r} not found") from None
    if not resolved.is_file() or resolved.parts[1:2] in (("proc",), ("sys",), ("dev",)):
        raise MusicError(f"music {shown!r} is not an audio file")
    try:
        info = probe(resolved)
    except (ProbeError, OSError, ValueError):
        raise MusicError(f"music {shown!r} is not an audio file") from None
    if not info.has_audio:
        raise MusicError(f"music {shown!r} has no sound")
    return resolved
