"""The test reference library (52 entries) and held-out mentions.

Held-out mentions are phrased the way a person would refer to a reference in a shot, and share no
content word with the reference's name or description ("the android" for a robot, "the kitty" for
a cat): retrieval must work through meaning, not string overlap.
"""

from __future__ import annotations

LIBRARY: list[tuple[str, str, str]] = [
    # (kind, name, description)
    ("character", "Mia", "a young girl with a red scarf and a yellow raincoat"),
    ("character", "Tom", "an elderly fisherman with a grey beard and a wool cap"),
    ("character", "Dr. Okafor", "a surgeon in green scrubs with round glasses"),
    ("character", "Luna", "a black cat with bright green eyes"),
    ("character", "Captain Reyes", "a ship captain in a navy peacoat"),
    ("character", "Kai", "a teenage skateboarder with bleached hair and a hoodie"),
    ("character", "Grandma Rose", "a smiling old woman who bakes bread"),
    ("character", "Officer Blake", "a police officer in a dark uniform"),
    ("character", "Zed", "a silver humanoid robot with glowing blue eyes"),
    ("character", "Ava", "a professional ballerina in a white tutu"),
    ("character", "Max", "a golden retriever puppy"),
    ("character", "Chef Marco", "a cook in a white toque and apron"),
    ("environment", "Rooftop", "a city rooftop with water towers at sunset"),
    ("environment", "Harbour", "a small fishing harbour with wooden boats"),
    ("environment", "Forest trail", "a misty pine forest path"),
    ("environment", "Neon alley", "a narrow alley lit by neon signs in the rain"),
    ("environment", "Desert", "sand dunes under a blazing sun"),
    ("environment", "Kitchen", "a cosy farmhouse kitchen with copper pots"),
    ("environment", "Subway", "an underground metro platform"),
    ("environment", "Beach", "a tropical beach with palm trees and turquoise water"),
    ("environment", "Library hall", "a grand old library with tall wooden bookshelves"),
    ("environment", "Hospital ward", "a bright hospital corridor"),
    ("environment", "Mountain peak", "a snowy summit above the clouds"),
    ("environment", "Space station", "the interior of an orbital space station"),
    ("environment", "Skate park", "a concrete skate park with ramps and graffiti"),
    ("environment", "Theatre stage", "an empty theatre stage with red velvet curtains"),
    ("prop", "Lantern", "an old brass oil lantern"),
    ("prop", "Umbrella", "a transparent bubble umbrella"),
    ("prop", "Bicycle", "a vintage red bicycle with a wicker basket"),
    ("prop", "Pocket watch", "a gold pocket watch on a chain"),
    ("prop", "Guitar", "a worn acoustic guitar"),
    ("prop", "Laptop", "a silver laptop covered in stickers"),
    ("prop", "Teapot", "a blue porcelain teapot"),
    ("prop", "Treasure map", "a folded paper map with an X marked on it"),
    ("prop", "Sports car", "a sleek yellow sports car"),
    ("prop", "Coffee cup", "a takeaway coffee cup with a brand logo"),
    ("wardrobe", "Leather jacket", "a black biker leather jacket"),
    ("wardrobe", "Wedding dress", "a long white lace wedding gown"),
    ("wardrobe", "Space suit", "a bulky white astronaut suit with a helmet"),
    ("wardrobe", "Kimono", "a silk kimono with a cherry blossom print"),
    ("wardrobe", "Cowboy hat", "a brown leather cowboy hat"),
    ("wardrobe", "Sneakers", "a pair of high-top white sneakers"),
    ("wardrobe", "Tuxedo", "a black tuxedo with a bow tie"),
    ("style", "Neon noir", "moody teal and magenta neon noir look, high contrast"),
    ("style", "Pastel dream", "soft pastel colours, dreamy and airy"),
    ("style", "Vintage film", "warm faded 1970s film stock with grain"),
    ("style", "Anime", "hand-drawn anime cel shading"),
    ("style", "Black and white", "monochrome black and white documentary"),
    ("style", "Golden glow", "warm golden sunset glow"),
    ("style", "Cyberpunk", "futuristic cyberpunk city aesthetic with holograms"),
    ("style", "Watercolour", "soft watercolour painting style"),
    ("style", "Bleach bypass", "desaturated gritty war-film look"),
]

# (mention as a shot would say it, the name it must retrieve)
HELD_OUT: list[tuple[str, str]] = [
    ("the little kid in the rain jacket", "Mia"),
    ("the old man who goes out fishing", "Tom"),
    ("the doctor", "Dr. Okafor"),
    ("the kitty", "Luna"),
    ("the android", "Zed"),
    ("the dancer", "Ava"),
    ("the dog", "Max"),
    ("the top of the building", "Rooftop"),
    ("the woods", "Forest trail"),
    ("the lamp", "Lantern"),
]
