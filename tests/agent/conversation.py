"""The conversation the chat tests pipe in: a brief over a few messages, a go-ahead, a revision."""

BRIEF_AND_GO = [
    "Let's make a video for TikTok. A girl stands on a rooftop at sunset. "
    "Then a drone flies over the city. Then the title appears.",
    "dreamy and hopeful",
    "you choose",
    "3 seconds",
    "young travellers",
    "all three formats",
    "go",
]
REVISION = ["make it moodier", "a"]
CONVERSATION = BRIEF_AND_GO + REVISION
