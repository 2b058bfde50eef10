"""The conversation: thread state, the sentences the person and the model read, and turns."""
