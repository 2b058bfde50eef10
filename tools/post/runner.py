"""The one ffmpeg runner: every ffmpeg process reelforge starts goes through here.

Builders (pure functions) produce the argument list; this module finds the binary, runs it with
machine-readable progress, enforces a timeout and keeps stderr on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from functools import cache

log = logging.getLogger(__name__)

ProgressFn = Callable[[float], None]
GLOBAL_FLAGS = ["-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats"]
STDERR_KEEP = 64 * 1024


class FFmpegError(RuntimeError):
    """ffmpeg failed; keeps the command and the end of stderr for the person reading the error."""

    def __init__(self, cmd: Sequence[str], returncode: int | None, stderr: str, reason: str = ""):
        self.cmd = list(cmd)
        self.returncode = returncode
        self.stderr = stderr
        tail = "\n".join(stderr.strip().splitlines()[-8:])
        what = reason or f"ffmpeg exited with {returncode}"
        super().__init__(f"{what}: {tail}" if tail else what)


class FFmpegNotFound(RuntimeError):
    pass


@cache
def _bundled_ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def ffmpeg_exe(override: str | None = None) -> str:
    """REELFORGE_FFMPEG (or `override`), else the binary imageio-ffmpeg ships."""
    wanted = override or os.environ.get("REELFORGE_FFMPEG")
    if wanted:
        found = shutil.which(wanted)
        if found is None:
            raise FFmpegNotFound(f"REELFORGE_FFMPEG={wanted!r} is not an executable ffmpeg")
        return found
    try:
        return _bundled_ffmpeg()
    except Exception as exc:  # imageio-ffmpeg raises RuntimeError with its own text
        raise FFmpegNotFound(
            f"no ffmpeg: the imageio-ffmpeg binary is missing ({exc}); set REELFORGE_FFMPEG"
        ) from exc


def command(args: Sequence[str], ffmpeg: str | None = None) -> list[str]:
    """The full argv the runner executes for builder output `args`."""
    return [ffmpeg_exe(ffmpeg), *GLOBAL_FLAGS, *args]


async def arun(
    args: Sequence[str],
    *,
    ffmpeg: str | None = None,
    duration_s: float | None = None,
    on_progress: ProgressFn | None = None,
    timeout_s: float | None = 1800,
) -> str:
    """Run ffmpeg with builder args; return its stderr. Raises FFmpegError on any failure."""
    cmd = command(args, ffmpeg)
    log.debug("ffmpeg: %s", shlex.join(cmd))
    started = time.time()
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    err_chunks: list[bytes] = []

    async def read_progress() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode(errors="replace").strip()
            if on_progress and duration_s and line.startswith("out_time_us="):
                value = line.partition("=")[2]
                if value.isdigit():
                    on_progress(min(1.0, int(value) / 1e6 / duration_s))

    async def read_stderr() -> None:
        assert proc.stderr is not None
        size = 0
        while chunk := await proc.stderr.read(8192):
            err_chunks.append(chunk)
            size += len(chunk)
            while size > STDERR_KEEP and len(err_chunks) > 1:
                size -= len(err_chunks.pop(0))

    work = asyncio.gather(read_progress(), read_stderr(), proc.wait())
    try:
        await asyncio.wait_for(asyncio.shield(work), timeout=timeout_s)
    except (TimeoutError, asyncio.CancelledError) as exc:
        if proc.returncode is None:
            proc.kill()
        with contextlib.suppress(BaseException):
            await work
        if isinstance(exc, asyncio.CancelledError):
            raise
        stderr = b"".join(err_chunks).decode(errors="replace")
        raise FFmpegError(cmd, None, stderr, f"ffmpeg timed out after {timeout_s:g}s") from None
    stderr = b"".join(err_chunks).decode(errors="replace")
    _log_command(cmd, started)
    if proc.returncode != 0:
        raise FFmpegError(cmd, proc.returncode, stderr)
    if on_progress:
        on_progress(1.0)
    return stderr


def _log_command(cmd: list[str], started: float) -> None:
    """REELFORGE_FFMPEG_LOG: append each command with its timing, for `make bench` replays."""
    path = os.environ.get("REELFORGE_FFMPEG_LOG")
    if path:
        entry = {"argv": cmd, "start": started, "end": time.time()}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


@cache
def _filters_of(exe: str) -> frozenset[str]:
    out = subprocess.run(
        [exe, "-hide_banner", "-nostdin", "-filters"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    # rows look like " TS lut3d  V->V  Adjust colors ...": flags, name, in->out, description
    return frozenset(
        parts[1]
        for parts in (line.split() for line in out.splitlines())
        if len(parts) >= 3 and "->" in parts[2]
    )


def has_filter(name: str, ffmpeg: str | None = None) -> bool:
    """Whether this ffmpeg build has filter `name` (asked once per binary, then cached)."""
    return name in _filters_of(ffmpeg_exe(ffmpeg))


def run(args: Sequence[str], **kwargs: object) -> str:
    """Synchronous `arun` for callers outside an event loop (tests, benchmarks)."""
    return asyncio.run(arun(args, **kwargs))  # type: ignore[arg-type]
