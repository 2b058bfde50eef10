"""How the offline director reads a conversation: the interview and scene edits."""
