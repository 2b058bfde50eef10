"""Protocol-faithful fakes of every provider on loopback: `reelforge sandbox`, and the tests."""

from tools.providers.sandbox.server import Sandbox

__all__ = ["Sandbox"]
