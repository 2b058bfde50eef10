"""The offline animatic provider: the adapter (jobs, files) and its previz renderer (pure
ffmpeg argv builders). The renderer lives here, not in `tools.post`, so post stays pure media and
never imports providers; it borrows post's fonts."""

from tools.providers.animatic.adapter import AnimaticProvider, create

__all__ = ["AnimaticProvider", "create"]
