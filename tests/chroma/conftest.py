"""Chroma server tests: a real `chroma run` per module (see tests/chroma/server.py)."""

from __future__ import annotations

from tests.chroma.server import chroma_url

__all__ = ["chroma_url"]
