"""Brief fields out of a person's words: the offline director's ears.

The reading itself lives in `agent.conversation.interview` (clauses classified by keywords, then
by the local MiniLM embeddings); this module keeps the short names the rest of the code uses.
"""

from __future__ import annotations

from agent.conversation.interview import FIELDS, Reading, extract, read, title_from, wants_default

__all__ = ["FIELDS", "Reading", "extract", "read", "title_from", "wants_default"]
