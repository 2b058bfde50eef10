"""Brief fields out of whatever a person says: the offline director's interview.

A message is split into sentences and clauses; every clause is classified as a duration, formats,
platform, title, mood, style, audience or story statement (keywords first, then the local MiniLM
embeddings for clauses the keywords cannot place). The answer to the question just asked is
taken only when it fits that field. Go-ahead, filler and "you choose" phrases never become a
field, and a clause nothing recognises changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.conversation import semantic

FIELDS = ("story", "mood", "style", "duration", "formats", "audience")
ALL_FORMATS = ["9:16", "16:9", "1:1"]

Kind = Literal["fields", "default", "go", "filler", "question", "unknown"]

NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "twenty-five": 25,
    "twenty five": 25,
    "thirty": 30,
    "forty": 40,
    "forty-five": 45,
    "forty five": 45,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
}
_NUM = r"\d{1,3}(?:\.\d+)?|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
DURATION = re.compile(
    rf"(?<![\w:])(?:about |around |roughly |approx(?:imately|\.)? |~ ?|under |max(?:imum)? |"
    rf"like |maybe |just |only )?({_NUM})[\s-]*(?:ish[\s-]*)?"
    r"(s|sec|secs|second|seconds|seconde?s?|sceonds|secodns|min|mins|minute|minutes|minuet|m)\b"
    r"(?:\s+(?:and a half))?(?:\s+long|\s+max|\s+tops|\s+or so)?",
    re.IGNORECASE,
)
HALF_MINUTE = re.compile(r"\bhalf (?:a|one) min(?:ute)?\b", re.IGNORECASE)
MINUTE_AND_HALF = re.compile(r"\b(?:a|one) minute and a half\b", re.IGNORECASE)
BARE_NUMBER = re.compile(
    rf"^\s*(?:about |around |roughly |maybe |like )?({_NUM})\s*(?:ish)?\s*$", re.I
)

ASPECT = re.compile(r"\b(9\s*[:x/]\s*16|16\s*[:x/]\s*9|1\s*[:x/]\s*1)\b", re.IGNORECASE)
ALL_FORMATS_RE = re.compile(
    r"\ball (?:three|3|the|of them|formats|sizes|aspect ratios|ratios)\b|\bevery (?:format|size)\b|"
    r"\ball three\b|\beach format\b",
    re.IGNORECASE,
)
FORMAT_WORD = re.compile(
    r"(?<!\btown )(?<!\bcity )(?<!\bmarket )(?<!\bvillage )(?<!\bmain )(?<!\bpublic )"
    r"(?<!\ba )(?<!\bthe )(?<!\bhis )(?<!\bher )(?<!\bmy )(?<!\btheir )"
    r"\b(vertical|vertically|portrait|horizontal|horizontally|landscape|widescreen|wide screen|"
    r"square|sqaure|verticle|horizantal)\b(?!\s+(?:of|painting|photo|meal|dance|mile|metre|meter))",
    re.IGNORECASE,
)
FORMAT_OF = {
    "vertical": "9:16",
    "vertically": "9:16",
    "verticle": "9:16",
    "portrait": "9:16",
    "horizontal": "16:9",
    "horizontally": "16:9",
    "horizantal": "16:9",
    "landscape": "16:9",
    "widescreen": "16:9",
    "wide screen": "16:9",
    "square": "1:1",
    "sqaure": "1:1",
}
NEGATED_FORMAT = re.compile(
    r"\b(?:not|no|without|skip(?: the)?|drop(?: the)?)\s+(?:the\s+|a\s+)?"
    r"(vertical|portrait|horizontal|landscape|widescreen|square)\b",
    re.IGNORECASE,
)
PLATFORMS = (
    ("instagram reels", r"\b(?:instagram|insta|ig) reels?\b|\breels?\b"),
    ("instagram stories", r"\b(?:instagram|insta|ig) stor(?:y|ies)\b"),
    ("tiktok", r"\btik ?toks?\b|\btiktoc\b"),
    ("youtube shorts", r"\byoutube shorts?\b|\byt shorts\b|\bshorts\b"),
    ("youtube", r"\byou ?tube\b|\byt\b"),
    ("instagram", r"\binstagram\b|\binsta\b|\binstgram\b|\binstagramm\b|\big\b"),
    ("linkedin", r"\blinked ?in\b"),
    ("facebook", r"\bfacebook\b|\bfb\b"),
    ("twitter", r"\btwitter\b"),
    ("snapchat", r"\bsnap ?chat\b"),
    ("vimeo", r"\bvimeo\b"),
)
PLATFORM_PHRASE = re.compile(
    r"\b(?:for|on|to|in|via)\s+(?:my\s+|our\s+|the\s+)?(?:"
    + "|".join(p for _, p in PLATFORMS).replace(r"\b", "")
    + r")(?:\s+(?:feed|account|channel|page|post|story|stories|reels?|video))?\b",
    re.IGNORECASE,
)

MOOD_WORDS = set(
    """hopeful wistful moody dark dreamy melancholic melancholy joyful happy tense epic calm serene
    romantic nostalgic mysterious energetic playful uplifting sad gritty whimsical eerie cosy cozy
    cheerful dramatic peaceful triumphant bittersweet ominous warm intimate quiet tender
    heartwarming heartfelt emotional inspiring inspirational motivational upbeat fun funny humorous
    lighthearted light-hearted relaxed relaxing chill chilled soothing gentle somber sombre gloomy
    haunting suspenseful thrilling exciting intense fierce bold confident powerful elegant
    luxurious fresh bright sunny vibrant lively festive magical mystical spooky creepy scary lonely
    reflective contemplative meditative thoughtful wholesome sweet cute quirky silly sentimental
    poignant moving optimistic urgent anxious angry raw honest hypnotic ethereal dreamlike
    feel-good mellow hype hyped exhilarating adventurous cheeky sassy solemn grim bleak hopeless
    eerie uneasy unsettling cosy comforting comfy nostalgia wonder awe awestruck majestic grand
    heroic sleepy lazy slow quiet still hushed sad-but-hopeful bouncy punchy cheery jolly euphoric
    ecstatic blissful zen tranquil soft wistfull nostalgik nostalgc melancolic upbeat-ish""".split()
)
MOOD_NOUNS = {"joy", "hope", "nostalgia", "wonder", "awe", "tension", "suspense", "calm", "warmth"}
STYLE_TERMS = re.compile(
    r"\b(?:cinematic|cinematc|cinema|anime|manga|cartoon|cartoony|cartoonish|animated|animation|"
    r"documentary|doc-style|noir|film noir|vintage|retro|watercolou?r|3d|3-d|2d|pixar|disney|"
    r"claymation|clay|realistic|realism|ultra[- ]?realistic|photo[- ]?realistic|hyper[- ]?realistic|"
    r"hyperreal|real life|live[- ]action|stop[- ]motion|minimalist|minimal|surreal|surrealist|"
    r"painterly|35 ?mm|16 ?mm|super ?8|8 ?mm|vhs|black[- ]and[- ]white|b&w|monochrome|"
    r"hand[- ]drawn|comic(?: book)?|ghibli|studio ghibli|wes anderson|lo-?fi|glossy|commercial|"
    r"music video|vlog|found footage|grainy|analog(?:ue)?|polaroid|pastel|neon|cyberpunk|steampunk|"
    r"oil painting|sketch|low[- ]poly|pixel art|pixel|illustrated|illustration|storybook|"
    r"motion graphics|collage|naturalistic|natural|film|filmic|film grain|grain|old film|"
    r"photographic|photography|cgi|cel[- ]shaded|paper ?cut|origami|fantasy|sci-fi|"
    r"handheld|hand-held|shaky cam|drone|aerial|slow[- ]motion|slo-?mo|timelapse|time-lapse|"
    r"arthouse|art house|indie|editorial|fashion|high[- ]end|luxury|clean|modern|sleek|"
    r"warm tones?|cool tones?|muted colou?rs|muted|saturated|desaturated|colou?rful|bright colou?rs|"
    r"golden hour|soft light|natural light|moody lighting|dark lighting|high contrast|"
    r"kodak|portra|criterion|a24|nolan|tarantino|spielberg|miyazaki|studio|animation style|"
    r"(?:\w+ )?colou?rs?|palette|tones?|grading|lighting|"
    r"live action|realistc|relistic|cinamatic|cinemtic|documentry|animaton|cartton)\b",
    re.IGNORECASE,
)
STYLE_ONLY_WHEN_ASKED = re.compile(
    r"\b(?:handheld|hand-held|shaky cam|drone|aerial|slow[- ]motion|slo-?mo|timelapse|time-lapse)\b",
    re.IGNORECASE,
)
PEOPLE = (
    r"people|persons|folks|kids|children|parents|mums?|moms?|mothers?|dads?|fathers?|families|"
    r"family|teens?|teenagers?|students?|fans?|lovers?|customers?|clients?|followers?|viewers?|"
    r"audiences?|adults?|women|men|girls?|boys?|millennials|gen ?z|gen-z|boomers|professionals?|"
    r"developers?|devs|gamers?|travell?ers?|runners?|cyclists?|foodies|readers?|subscribers?|"
    r"friends?|coworkers?|colleagues?|investors?|buyers?|shoppers?|homeowners?|owners?|"
    r"entrepreneurs?|founders?|creators?|artists?|musicians?|nurses?|doctors?|teachers?|retirees?|"
    r"seniors?|grandparents?|couples?|newlyweds|beginners?|enthusiasts?|hikers?|surfers?|skaters?|"
    r"anyone|everyone|everybody|users?|patients?|employees?|staff|team|members?|locals?|tourists?|"
    r"guests?|bakers?|cooks?|chefs?|climbers?|walkers?|gardeners?|drivers?|riders?|players?|"
    r"regulars|patrons|visitors|neighbou?rs|residents|commuters|workers|parishioners|"
    r"nerds?|geeks?|kids|toddlers?|babies|youth|youngsters?|grown-ups|community|crowd|buffs?|"
    r"addicts?|junkies|aficionados?|nuts|heads|twenty-somethings|thirty-somethings|"
    r"\w+-?somethings|audience|demographic|market"
)
AUDIENCE_LEAD = re.compile(
    r"\b(?:(?:the |my |our )?(?:target )?audience\s*(?:is|are|:|would be|should be|will be|-)?|"
    r"aimed at|targett?ing|targeted at|made for|meant for|intended for|geared (?:towards?|at)|"
    r"directed at|for an audience of|(?:it'?s|it is|this is|its|that'?s|video is|it'?ll be)\s+"
    r"(?:mostly |mainly |mostly just |just |really |all |basically )?for|"
    r"watched by|viewers? (?:are|will be)|for)\s+(.+)$",
    re.IGNORECASE,
)
PEOPLE_RE = re.compile(rf"\b(?:{PEOPLE})\b", re.IGNORECASE)
TITLE = re.compile(
    r"(?:\b(?:video|film|clip|reel|short|it|project|movie|piece|one|ad)\s+(?:should be\s+)?"
    r"(?:called|named|titled)|\b(?:call|name|title|rename|retitle)\s+it(?:\s+to)?|"
    r"\brename (?:the )?(?:video|project|film)(?:\s+to)?|"
    r"\b(?:the\s+)?(?:working\s+)?title\s*(?:is|:|should be|will be|would be|-|=)|"
    r"\bchange the (?:title|name) to|^\s*(?:called|named|titled))\s+(.+)$",
    re.IGNORECASE,
)
EXPLICIT = {
    "mood": re.compile(
        r"^(?:(?:the |a |and )?(?:mood|tone|vibe|feel|feeling|atmosphere)s?\s*"
        r"(?:is|are|:|should be|would be|will be|-|=|of|to be|to|like)?|"
        r"(?:change|set|switch|make) the (?:mood|tone|vibe|feel)(?: to| into| more)?|"
        r"(?:it )?should feel|(?:it )?feels?|feeling|make it feel|"
        r"(?:i'?d like|i want|we want|we'?d like|i need|we need) it to feel|"
        r"(?:it )?(?:needs|has|ought) to feel|(?:the )?feeling (?:is|should be|of))\s+(.+)$",
        re.IGNORECASE,
    ),
    "style": re.compile(
        r"^(?:(?:the |a |and )?(?:style|look|aesthetic|visual style|visuals|art style|look and feel)\s*"
        r"(?:is|are|:|should be|would be|will be|-|=|of|to be|to|like)?|"
        r"(?:change|set|switch|make) the (?:style|look|aesthetic|visuals?)(?: to| into| more)?|"
        r"(?:shot|filmed|done|made|rendered|drawn) (?:in|on|as|like)|in the style of|"
        r"(?:it )?should look(?: like)?|looking like|make it look(?: like)?|(?:a |an )?look of|"
        r"(?:i'?d like|i want|we want|we'?d like) it to look(?: like)?|(?:it )?looks like)\s+(.+)$",
        re.IGNORECASE,
    ),
    "story": re.compile(
        r"^(?:(?:the )?(?:story|plot|idea|concept|premise)\s*(?:is|:|would be|should be|-|=)|"
        r"(?:change|set|switch) the (?:story|plot|idea) to|new story\s*:?|"
        r"(?:it'?s|it is|the video is|video is|its) (?:all )?about|about|it shows|showing|"
        r"(?:it|the video|this|the clip|the ad) (?:should|would|will|could|must|needs to) show|"
        r"(?:we|you) (?:see|watch|follow)|"
        r"the video shows|imagine|picture this:?|basically|"
        r"(?:maybe |probably |just )?(?:something|anything|one|a thing) (?:about|with|where|showing))"
        r"\s+(.+)$",
        re.IGNORECASE,
    ),
}
SUFFIX = {
    "mood": re.compile(
        r"^(.+?)\s+(?:mood|vibes?|tone|feel|feeling|energy|atmosphere|mood overall)$", re.I
    ),
    "style": re.compile(
        r"^(?:in\s+)?(?:an?\s+|the\s+)?(.+?)[\s-]+(?:style|look|aesthetic|visuals?|vibe look|"
        r"animation style|art style|feel to it)$",
        re.IGNORECASE,
    ),
}
LEAD_IN = re.compile(
    r"^(?:(?:hi|hey|hello|hiya|ok|okay|so|um+|uh+|well)[,!.]*\s+)*(?:(?:so\s+)?"
    r"(?:i(?:'d| would)?\s*(?:really\s+)?(?:like|love|want|wanna|need)|need|want|wanna|i'?m (?:thinking|looking for|after)|"
    r"let'?s (?:make|do|create)|(?:please )?(?:make|create|produce|do)(?: me| us)?|"
    r"(?:can|could) you (?:make|create|do|produce)(?: me| us)?|we need|we want|i have an idea for|"
    r"i'?ve got an idea for|idea for|how about|thinking of)\s+)"
    r"(?:to (?:make|do|create|produce)\s+)?(?:(?:an?|the|some|one)\s+)?"
    r"(?P<pre>(?:[\w'&:-]+[\s,]+){0,5}?)"
    r"(?P<noun>videos?|films?|clips?|reels?|ads?|adverts?|commercials?|shorts?|pieces?|"
    r"animations?|teasers?|trailers?|promos?|tiktoks?|spots?|movies?|montages?|stor(?:y|ies)|"
    r"something|one)\b"
    r"(?P<post>[^.!?,:]*?)"
    r"(?:(?:\s*(?:[,:]|\s-\s)\s*(?:(?:about|of|where|showing|that shows|in which|featuring|"
    r"on how|with|following|starring|telling|that tells)\b)?|\s+(?:about|of|where|showing|"
    r"that shows|in which|featuring|on how|with|following|starring|telling|that tells)\b)"
    r"\s*(?P<story>.*))?$",
    re.IGNORECASE | re.DOTALL,
)
LEAD_BARE = re.compile(
    r"^(?:(?:an?|the|my|our|this|one)\s+)(?P<pre>(?:[\w'&:-]+[\s,]+){0,4}?)"
    r"(?P<noun>video|film|clip|reel|ad|short|animation|tiktok|story|piece|spot|promo)\b"
    r"(?P<post>[^.!?]*?)\s*[,:-]?\s*\b(?:about|of|where|showing|that shows|in which|featuring|"
    r"on how|following|starring)\b\s*(?P<story>.+)$",
    re.IGNORECASE | re.DOTALL,
)
STRONG_GO = re.compile(
    r"\b(?:go|go ahead|make it|make the video|render|do it|proceed|start|ship it|let'?s go|"
    r"create it|build it|produce it|just make|generate)\b",
    re.IGNORECASE,
)
LOOK_MOODS = set(
    "dreamy dark bright warm gritty soft ethereal moody vibrant muted whimsical elegant sleek raw "
    "clean surreal grim bleak fresh sunny magical mystical luxurious glossy".split()
)
MORE_THAN = re.compile(
    r"^(?:more|rather|a bit more|much more)?\s*(.+?)\s+(?:than|rather than|instead of|not)\s+\w+$",
    re.I,
)
STORY_CONTINUE = re.compile(
    r"^(?:and\s+)?(?:then|after that|afterwards|at the end|in the end|finally|next|later|"
    r"it ends with|it ends when|ending with|end with)\b",
    re.IGNORECASE,
)

GO = re.compile(
    r"^(?:(?:just|please|ok|okay|yes|yeah|sure|now|alright|great|cool|perfect)\s+)*(?:yes|yep|yeah|yup|ya|sure|ok|okay|k|go|go ahead|go for it|do it|render(?: it)?|"
    r"make it|make it so|let'?s go|let'?s do it|sounds good|sounds great|looks good|looks great|"
    r"approved?|proceed|start|perfect|great|cool|nice|awesome|fine|all good|that'?s it|"
    r"that'?s all|that'?s everything|done|ship it|lgtm|good|alright|all right|correct|right|"
    r"exactly|go on|carry on|continue|please|thanks|thank you|ta|cheers|"
    r"(?:go ahead and |please |just )?(?:make|render|create|build|produce|generate|start)"
    r"(?: it| the video| this| that)?(?: now| please)?)$",
    re.IGNORECASE,
)
DEFAULT = re.compile(
    r"^(?:you (?:choose|pick|decide|tell me)|up to you|your (?:call|choice|pick)|dealer'?s choice|"
    r"whatever(?: you (?:think|want|like))?|anything(?: works| is fine)?|any(?: is fine)?|default|"
    r"the default|use the default|surprise me|dunno|idk|i don'?t know|don'?t know|no idea|"
    r"not sure|i'?m not sure|no preference|doesn'?t matter|does not matter|don'?t mind|"
    r"i don'?t mind|i don'?t care|don'?t care|whatever works|whatever is best|"
    r"what(?:ever)? do you (?:think|suggest|recommend)|you'?re the director|your call|"
    r"something good|pick (?:one|something)(?: for me)?|choose (?:one|something|for me)(?: for me)?|"
    r"go with (?:the )?(?:default|whatever)|no clue|unsure|not really sure|hard to say|"
    r"can'?t decide|could go either way|either|either way|both fine|no strong (?:feelings|opinion)|"
    r"(?:i'?m |i am )?(?:not (?:really |too |so )?sure|unsure|undecided|not certain) (?:about|on|of|"
    r"what|which|how|yet)\b.*|(?:i )?(?:really )?(?:don'?t|do not|dont) know (?:about|what|which|how|"
    r"yet)\b.*|no idea (?:about|what|which|for|how)\b.*|haven'?t (?:decided|thought about)\b.*|"
    r"no (?:preference|opinion) (?:on|about|for)\b.*|(?:you|u) (?:choose|pick|decide) (?:the|a|for)\b.*|"
    r"(?:i'?ll )?leave (?:it|that|the \w+) (?:up )?to you|dunno(?: really)?)$",
    re.IGNORECASE,
)
FILLER = re.compile(
    r"^(?:h+m+|hm+|um+|uh+|er+m*|ah+|oh+|ok(?:ay)?|k|hmm+ ?ok|well|so|right|yes|no|nah|nope|"
    r"let me think|let me see|one sec|wait|hold on|good question|interesting|hey|hi|hello|"
    r"thanks|thank you|cool|nice|great|lol|haha|yeah|yep|sure|maybe|ok so|alright|gotcha|i see|"
    r"got it|understood|sounds good|looks good|fine|good|perfect)$",
    re.IGNORECASE,
)
HEDGE = re.compile(
    r"^(?:(?:h+m+|um+|uh+|er+m*|well|so|ok(?:ay)?|oh|ah|actually|no|nah|wait|sorry|oops|"
    r"i mean|rather|correction|change of plan|on second thought|scratch that|hmm ok|yes|yeah|"
    r"also|and|plus|oh and|btw|by the way|p\.?s\.?|maybe|perhaps|probably|i think|i guess|"
    r"i'?d say|let'?s say|let'?s go with|let'?s do|go with|go for|make it|make that|"
    r"let'?s make it|can we (?:do|make it|go with|have)|could we (?:do|make it|go with|have)|"
    r"can you make it|could you make it|please make it|i'?d like it|i want it|i want|"
    r"i'?d like|i'?d prefer|i prefer|prefer|it should be|should be|it'?ll be|it will be|"
    r"i'?m thinking|thinking|like|definitely|just|kinda|sorta|kind of|sort of|something|"
    r"somewhat|honestly|really|mostly|mainly|more|please|ideally|hopefully|i suppose|"
    r"it needs to be|needs to be|has to be|must be|keep it|let'?s keep it|how about|what about|"
    r"change it to|switch to|switch it to|change to|instead|use|do|we want|we need|"
    r"it'?s going to be|it'?s gonna be|gonna be|going to be|it'?s|it is|its|i'?m after|"
    r"we'?re after|after|aim for|target|around|about|roughly|approximately|approx|"
    r"(?:the )?(?:answer|mood|style|look|length|duration|format|audience) (?:is|would be|:)|"
    r"for the (?:mood|style|look|length|duration|format|formats|audience)|"
    r"(?:mood|style|look|length|duration|format|formats|audience)\s*[:=-])"
    r"[\s,:!.-]+)+",
    re.IGNORECASE,
)
TRAIL = re.compile(
    r"(?:[\s,]+(?:please|pls|plz|thanks|thank you|i think|i guess|maybe|probably|i suppose|"
    r"if possible|if you can|ideally|for now|instead|rather|then|too|as well|overall|"
    r"i'?d say|ish|lol|haha|thx|ty|no more|tops|max))+$",
    re.IGNORECASE,
)
INNER_FILLER = re.compile(
    r"^(?:you know|i mean|like|idk|i dunno|or so|or something|i think|i guess|i suppose|maybe|"
    r"probably|perhaps|kinda|sorta|ish)$",
    re.I,
)
QUESTION = re.compile(
    r"\?\s*$|^(?:what|which|how|why|can you|could you|do you|does it|is it|are there|what'?s|"
    r"whats|wdym|huh|pardon|sorry\?|meaning|explain)\b",
    re.IGNORECASE,
)
CLAUSE_SPLIT = re.compile(r"\s*(?:[,;]|\s[-–—]\s|\band also\b|\bplus\b|\balso\b)\s*", re.I)
SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+|(?<=[a-z0-9\"'”])\.(?=[A-Z])")
QUOTES = '"“”‘’`'
STORY_VERB = re.compile(
    r"\b(?:is|are|was|were|be|has|have|had|gets?|goes|go|comes?|runs?|walks?|finds?|meets?|"
    r"makes?|takes?|looks?|sees?|opens?|closes?|leaves?|returns?|waits?|sits?|stands?|"
    r"\w+(?:s|ed|ing))\b",
    re.IGNORECASE,
)
CONTEXT = re.compile(
    r"^(?:(?:hi|hey|hello|hi there)[!,. ]*)?(?:i(?:'m an?| am an?| run| own| have| work| manage| make|"
    r" sell| do| teach| coach)|"
    r"we (?:run|own|have|are|sell|make|'re)|my (?:name|company|business|shop|brand|store|"
    r"channel|account) (?:is|sells|makes)|our (?:company|business|shop|brand|store) (?:is|sells|"
    r"makes))\b",
    re.IGNORECASE,
)
SENTENCE_FIELD = re.compile(
    r"^(?:(?:the |a |and )?(?:mood|tone|vibe|feel|feeling|style|look|aesthetic)\s*"
    r"(?:is|are|:|should be|would be|will be|-|=|to be)|(?:it )?should (?:feel|look)|"
    r"(?:i'?d like|i want|we want) it to (?:feel|look))\b",
    re.IGNORECASE,
)
CANNOT = re.compile(
    r"\b(?:upload|attach|send (?:you|me)|spotify|my voice|voice ?clone|clone|lip ?sync|"
    r"post it|publish|schedule|translate|dub|subtitles? in|live ?stream|download from|"
    r"from (?:this|the) (?:link|url)|https?://)\b",
    re.IGNORECASE,
)


@dataclass
class Reading:
    """What one message said: the brief fields found, and what kind of message it was."""

    fields: dict[str, Any] = field(default_factory=dict)
    kind: Kind = "unknown"
    ignored: list[str] = field(default_factory=list)
    cannot: bool = False


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'")
    return " ".join(text.split())


def _bare(text: str) -> str:
    return re.sub(r"[\s.!,;:)(]+$", "", re.sub(r"^[\s.!,;:(]+", "", text.lower())).strip()


def is_strong_go(text: str) -> bool:
    return is_go(text) and bool(STRONG_GO.search(text))


def is_go(text: str) -> bool:
    parts = [p for p in re.split(r"[,.!;]+|\s+(?:and|so|then|now)\s+", _bare(text)) if p.strip()]
    return bool(parts) and all(GO.match(p.strip()) or FILLER.match(p.strip()) for p in parts)


def wants_default(text: str) -> bool:
    bare = _bare(text)
    parts = [p.strip() for p in re.split(r"[,.!;]+|\s+(?:and|so|but)\s+", bare) if p.strip()]
    if not parts:
        return False
    return any(DEFAULT.match(p) for p in parts) and all(
        DEFAULT.match(p) or FILLER.match(p) or GO.match(p) for p in parts
    )


def is_filler(text: str) -> bool:
    parts = [p.strip() for p in re.split(r"[,.!;?]+|\s+", _bare(text)) if p.strip()]
    return not parts or all(FILLER.match(p) for p in parts) or bool(FILLER.match(_bare(text)))


FREE_COLON = re.compile(
    r"(?<!\bmood)(?<!\bstyle)(?<!\blook)(?<!\btitle)(?<!\bstory)(?<!\baudience)(?<!\bformat)"
    r"(?<!\bformats)(?<!\blength)(?<!\bduration)(?<!\btone)(?<!\bvibe)(?<!\bplatform)(?<!\bidea)"
    r"(?<!\bplot)(?<!\bconcept)(?<!\bthis)(?<!\bscene \d)(?<!\d):(?!\d)",
    re.IGNORECASE,
)
COMMAND_LEFT = re.compile(
    r"(?:(?:actually|no|ok|okay|so|well|um|uh|just|maybe|oh|wait|sorry|export|make|give|do|want|need|render|deliver|output|send|post|create|produce|"
    r"i|we|it|me|us|please|can|you|could|would|like|in|as|and|also|both|them|then|"
    r"sizes?|versions?|formats?|ratios?|total|overall|long|length|runtime|mins?|secs?|video|"
    r"videos|clip|reel|film|one|a|an|the|for|on|of|my|our|is|fine|good|ok|okay|works|perfect|"
    r"sounds|great|right|then|please|thanks)\s*)*",
    re.IGNORECASE,
)
SCENE_WORDS = re.compile(r"\b(?:scene|shot|take)s?\b", re.IGNORECASE)


PROPER = re.compile(
    r"^(?:i|i'\w+|pixar|disney|ghibli|studio|wes|gen|instagram|tiktok|youtube|facebook|linkedin|"
    r"twitter|snapchat|kodak|nolan|a24|vhs|miyazaki|spielberg|tarantino|christmas|easter|"
    r"halloween|london|paris|new|tokyo|berlin|europe|american|british|french|english|japanese)\b",
    re.IGNORECASE,
)


def _lower_first(value: str) -> str:
    if PROPER.match(value):
        return value
    if len(value) > 1 and value[0].isupper() and not value[1].isupper():
        return value[0].lower() + value[1:]
    return value


def _clean(value: str, keep_case: bool = False) -> str:
    """The value without hedges, fillers and trailing politeness; the first letter lowered
    unless it is a name (a capital after a lead-in like 'in the style of' is kept)."""
    if keep_case:
        for _ in range(3):
            value = TRAIL.sub("", value.strip()).strip(" ,.;:!-").strip(QUOTES).strip()
        return value
    value = _lower_first(value.strip().strip(QUOTES))
    for _ in range(3):
        value = HEDGE.sub("", value).strip()
        value = TRAIL.sub("", value).strip()
        value = value.strip(" ,.;:!-").strip(QUOTES).strip()
    return _lower_first(value)


def _duration(text: str) -> tuple[float, tuple[int, int]] | None:
    if m := MINUTE_AND_HALF.search(text):
        return 90.0, m.span()
    if m := HALF_MINUTE.search(text):
        return 30.0, m.span()
    m = next((d for d in DURATION.finditer(text) if not _decade(text, d)), None)
    if not m:
        return None
    raw = m.group(1).lower()
    unit = m.group(2).lower()
    if raw in ("a", "an") and not unit.startswith("m"):
        return None
    if unit == "m" and not re.search(r"\d", raw):
        return None
    value = float(NUMBER_WORDS.get(raw, 0) or raw)
    if unit.startswith("m"):
        value *= 60
        if "and a half" in m.group(0).lower():
            value += 30
    if not 0 < value <= 600:
        return None
    return value, m.span()


DECADE_AFTER = re.compile(
    r"\s*(?:movies?|films?|style|look|music|vibes?|aesthetic|era|tv|shows?|vhs|sitcoms?|"
    r"cartoons?|anime|fashion|kids|feel|nostalgia|synth|pop|rock|disco|vintage|home video)\b",
    re.IGNORECASE,
)


def _decade(text: str, m: re.Match[str]) -> bool:
    """'an 80s movie', 'the 90s': a decade, not a length."""
    raw = m.group(1)
    if m.group(2).lower() != "s" or not raw.isdigit() or not raw.endswith("0"):
        return False
    before = text[: m.start()].lower()
    return bool(DECADE_AFTER.match(text[m.end() :])) or bool(
        re.search(r"(?:\bthe|\bin the|')\s*$", before)
    )


def _formats(text: str) -> tuple[list[str], list[tuple[int, int]]] | None:
    spans: list[tuple[int, int]] = []
    if m := ALL_FORMATS_RE.search(text):
        return list(ALL_FORMATS), [m.span()]
    negated = {FORMAT_OF[m.group(1).lower()] for m in NEGATED_FORMAT.finditer(text)}
    found: list[tuple[int, str]] = []
    for m in ASPECT.finditer(text):
        digits = re.sub(r"\s*[:x/]\s*", ":", m.group(1).lower())
        found.append((m.start(), digits))
        spans.append(m.span())
    for m in FORMAT_WORD.finditer(text):
        fmt = FORMAT_OF[m.group(1).lower()]
        if fmt not in negated:
            found.append((m.start(), fmt))
        spans.append(m.span())
    if not found:
        return None
    return list(dict.fromkeys(f for _, f in sorted(found))), spans


def _platform(text: str) -> str | None:
    for name, pattern in PLATFORMS:
        if re.search(pattern, text, re.IGNORECASE):
            if name == "instagram" and re.search(r"\bstor(?:y|ies)\b", text, re.I):
                return "instagram stories"
            return name
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9'&-]*", text.lower())


CONNECTORS = {
    "and",
    "but",
    "yet",
    "with",
    "a",
    "an",
    "the",
    "very",
    "really",
    "quite",
    "bit",
    "little",
    "slightly",
    "super",
    "more",
    "kind",
    "sort",
    "of",
    "kinda",
    "sorta",
    "touch",
    "hint",
    "mostly",
    "somewhat",
    "pretty",
    "fairly",
    "too",
    "not",
    "overall",
    "also",
    "lots",
    "lot",
    "bunch",
    "or",
    "&",
    "ish",
    "extra",
    "feel",
    "feeling",
    "vibe",
    "vibes",
    "mood",
    "tone",
    "energy",
    "still",
    "a-bit",
    "in",
    "way",
    "all",
    "some",
    "maybe",
}


def _is_mood(text: str) -> bool:
    words = [w for w in _words(text) if w not in CONNECTORS]
    words = [w[:-4] if w.endswith("-ish") else w for w in words]
    return bool(words) and all(w in MOOD_WORDS or w in MOOD_NOUNS for w in words)


def _is_style(text: str, asked: bool = False) -> bool:
    low = text.lower()
    if not STYLE_TERMS.search(low):
        return False
    if not asked and STYLE_ONLY_WHEN_ASKED.search(low) and not re.search(r"\b(style|look)\b", low):
        rest = STYLE_ONLY_WHEN_ASKED.sub(" ", low)
        if not STYLE_TERMS.search(rest):
            return False
    rest = STYLE_TERMS.sub(" ", low)
    extra = [
        w
        for w in _words(rest)
        if w not in CONNECTORS
        and w not in ("style", "look", "looking", "aesthetic", "like", "shot", "on", "vibe", "ish")
        and w not in ("looks", "feel", "visuals", "visual", "colours", "colors", "tones", "light")
        and w not in ("lighting", "camera", "quality", "grade", "grading", "movie", "footage")
        and w not in ("kind", "type", "version", "format", "as", "film", "films", "movies", "shots")
        and w not in MOOD_WORDS
    ]
    return len(extra) <= 1


PEOPLE_HEAD = re.compile(
    rf"^(?:(?:the|my|our|your|all|young|older|old|busy|new|local|\w+-?\w*)[\s-]+){{0,3}}(?:{PEOPLE})\b",
    re.IGNORECASE,
)
FOR_STRONG = re.compile(
    r"(?:^|\b(?:it'?s|it is|its|this is|that'?s|meant|made|intended|aimed|geared|mostly|mainly|"
    r"just|really|all|basically|video is|audience)\s+)for$",
    re.IGNORECASE,
)


def _audience(clause: str, asked: bool) -> str | None:
    m = AUDIENCE_LEAD.search(clause)
    if m:
        value = m.group(1)
        lead = clause[: m.start(1)].strip().lower()
        if _platform(value) and not PEOPLE_RE.search(value):
            return None
        if _duration(value) or (_formats(value) and len(_words(value)) <= 3):
            return None
        if lead.endswith("for") and not FOR_STRONG.search(lead):
            if not PEOPLE_HEAD.match(value):
                return None
        elif (
            lead == "for"
            and not PEOPLE_RE.search(" ".join(value.split()[:5]))
            and not re.match(r"(?:my|our|your|their)\s+\w+s\b", value, re.IGNORECASE)
        ):
            return None
        return _clean(value) or None
    if asked:
        return _clean(clause) or None
    return None


def _title(clause: str) -> str | None:
    m = TITLE.search(clause)
    if not m:
        return None
    value = m.group(1).strip()
    q = re.match(r"^[\"“'‘](.+?)[\"”'’](?:\s|$|[.,!])", value + " ")
    if q:
        return q.group(1).strip()
    value = TRAIL.sub("", value.rstrip(".!")).strip(" ,.;:!-").strip(QUOTES).strip()
    return value or None


def _story_text(text: str) -> str:
    text = text.strip().strip(QUOTES).strip()
    text = re.sub(
        r"^(?:(?:and|so|but|ok|okay|well|basically|um+|uh+|i think|maybe|probably|like|i guess)"
        r"[,\s]+)+",
        "",
        text,
        flags=re.I,
    )
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    if text[-1] not in ".!?\"”'":
        text += "."
    return text


@dataclass
class _Acc:
    fields: dict[str, Any] = field(default_factory=dict)
    story: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _set(acc: _Acc, name: str, value: Any) -> None:
    if name in ("mood", "style", "audience") and name in acc.fields and value:
        if str(value).lower() not in str(acc.fields[name]).lower():
            acc.fields[name] = f"{acc.fields[name]}, {value}"
        return
    acc.fields[name] = value


def _take_spans(text: str, acc: _Acc) -> str:
    """Durations, formats and platforms out of a clause; returns what is left."""
    cut: list[tuple[int, int]] = []
    if d := _duration(text):
        acc.fields["duration"] = d[0]
        cut.append(d[1])
    if f := _formats(text):
        before = acc.fields.get("formats", [])
        acc.fields["formats"] = list(dict.fromkeys([*before, *f[0]]))
        cut += f[1]
    if p := _platform(text):
        acc.fields["platform"] = p
        cut += [m.span() for m in PLATFORM_PHRASE.finditer(text)]
        cut += [
            m.span() for _, pattern in PLATFORMS for m in re.finditer(pattern, text, re.IGNORECASE)
        ]
    if not cut:
        return text
    keep = list(text)
    for a, b in cut:
        for i in range(a, b):
            keep[i] = " "
    rest = "".join(keep)
    rest = re.sub(
        r"\b(?:format|formats|ratio|aspect ratio|aspect|version|versions|video|long|length|"
        r"duration|in|for|on|and|please|at|as|both|only|just|max|tops|or so|the|a|an|make it|"
        r"it'?s|it is|should be|needs to be|of|with|to|no|not)\b",
        lambda m: m.group(0) if len(_words(rest)) > 6 else " ",
        rest,
        flags=re.IGNORECASE,
    )
    return " ".join(rest.split()).strip(" ,.;:-!")


def _classify(clause: str, acc: _Acc, asked: str | None) -> None:
    """Put one clause (durations, formats and platforms already taken) where it fits."""
    text = clause.strip(" ,.;:!-")
    if not text:
        return
    bare = _bare(text)
    if (
        FILLER.match(bare)
        or GO.match(bare)
        or DEFAULT.match(bare)
        or wants_default(bare)
        or is_go(bare)
    ):
        return
    if title := _title(text):
        acc.fields["title"] = title
        return
    for name in ("story", "mood", "style"):
        if m := EXPLICIT[name].match(_clean_lead(text)):
            value = m.group(1)
            if name == "story":
                if len(_words(value)) >= 2:
                    acc.story.append(value)
                    return
                continue
            if value and not FILLER.match(_bare(value)) and not DEFAULT.match(_bare(value)):
                _set(acc, name, _clean(value, keep_case=True))
            return
    cleaned = _clean(text)
    if not cleaned:
        return
    for name in ("mood", "style"):
        if m := SUFFIX[name].match(cleaned):
            inner = _clean(m.group(1))
            if inner and len(_words(inner)) <= 6:
                _set(acc, name, inner)
                return
    if audience := _audience(text, asked == "audience" and len(_words(text)) <= 12):
        if asked == "audience" or AUDIENCE_LEAD.search(text):
            if not (asked == "audience" and _is_mood(cleaned)):
                _set(acc, "audience", audience)
                return
    if m := MORE_THAN.match(cleaned):
        if _is_mood(m.group(1)) or _is_style(m.group(1)):
            cleaned = _clean(m.group(1))
    if asked == "style" and all(w in LOOK_MOODS or w in CONNECTORS for w in _words(cleaned)):
        _set(acc, "style", cleaned)
        return
    if _is_mood(cleaned):
        _set(acc, "mood", cleaned)
        return
    if _is_style(cleaned, asked == "style"):
        _set(acc, "style", cleaned)
        return
    if " and " in cleaned or " but " in cleaned or " with " in cleaned:
        parts = re.split(r"\s+(?:and|but|with)\s+", cleaned)
        kinds = [
            "mood" if _is_mood(p) else "style" if _is_style(p, asked == "style") else None
            for p in parts
        ]
        if all(kinds):
            for p, k in zip(parts, kinds, strict=True):
                _set(acc, str(k), _clean(p))
            return
    if (STORY_CONTINUE.match(text) and len(_words(text)) >= 3) or (
        len(_words(cleaned)) >= 5 and STORY_VERB.search(cleaned) and asked != "audience"
    ):
        acc.story.append(text)
        return
    if asked == "story" and len(_words(cleaned)) <= 5 and PEOPLE_HEAD.match(cleaned):
        if not STORY_VERB.search(cleaned) or re.search(r"\b(?:who|that)\b", cleaned):
            _set(acc, "audience", cleaned)
            return
    if asked in ("mood", "style", "audience") and len(_words(cleaned)) <= 8:
        guess = semantic.classify(cleaned, prefer=asked)
        if guess == asked:
            _set(acc, asked, cleaned)
            return
        if guess in ("mood", "style", "audience"):
            _set(acc, guess, cleaned)
            return
        if guess == "story" and asked != "story":
            acc.story.append(text)
            return
        acc.unknown.append(text)
        return
    if (STORY_CONTINUE.match(text) and len(_words(text)) >= 3) or asked == "story":
        acc.story.append(text)
        return
    if SCENE_WORDS.search(text):
        acc.unknown.append(text)
        return
    if len(_words(cleaned)) >= 4 and (STORY_VERB.search(cleaned) or len(_words(cleaned)) >= 6):
        acc.story.append(text)
        return
    guess = semantic.classify(cleaned) if len(_words(cleaned)) >= 2 else None
    if guess == "story" and len(_words(text)) >= 3:
        acc.story.append(text)
        return
    acc.unknown.append(text)


def _clean_lead(text: str) -> str:
    return re.sub(
        r"^(?:(?:oh|ok|okay|and|also|actually|no|so|um|uh|well|wait|sorry|plus|btw|"
        r"i think|maybe|hmm+)[,\s]+)+",
        "",
        text,
        flags=re.I,
    ).strip()


def _lead_in(sentence: str, acc: _Acc, asked: str | None) -> str | None:
    """'I want a short moody video for TikTok about X' -> fields from the modifiers; returns the
    story part (None when the sentence has no lead-in)."""
    m = LEAD_IN.match(sentence) or LEAD_BARE.match(sentence)
    if not m:
        return None
    head = " ".join(
        f"{m.group('pre') or ''} {m.group('noun') or ''} {m.group('post') or ''}".split()
    )
    for part in (m.group("pre") or "", m.group("post") or ""):
        if title := _title(part):
            acc.fields["title"] = title
            continue
        rest = _take_spans(part, acc)
        rest = _clean(rest)
        if not rest:
            continue
        words = [
            w
            for w in _words(rest)
            if w not in ("short", "quick", "little", "small", "brief", "new", "simple", "cool")
            and w not in ("nice", "good", "great", "video", "to", "make", "post", "share", "my")
        ]
        if not words:
            continue
        rest = " ".join(words)
        if audience := _audience(rest, False):
            _set(acc, "audience", audience)
        elif _is_mood(rest):
            _set(acc, "mood", rest)
        elif _is_style(rest):
            _set(acc, "style", rest)
        elif all(w in MOOD_WORDS or STYLE_TERMS.fullmatch(w) for w in words):
            for w in words:
                _set(acc, "mood" if w in MOOD_WORDS else "style", w)
    if (p := _platform(head)) is not None:
        acc.fields["platform"] = p
    return (m.group("story") or "").strip()


def _split_story(text: str, acc: _Acc, asked: str | None) -> None:
    """A story sentence may carry fields after a comma ('..., 20 seconds, realistic style')."""
    chunks = [c for c in re.split(r"\s*[,;]\s*|\s+[-–—]\s+", text) if c.strip()]
    kept: list[str] = []
    for i, chunk in enumerate(chunks):
        sub = _Acc()
        rest = _take_spans(chunk, sub)
        removed = rest != chunk.strip(" ,.;:!-")
        if i and not rest and sub.fields:
            acc.fields.update(sub.fields)
            continue
        if i:
            sub2 = _Acc()
            _classify_field_only(rest, sub2)
            if sub2.fields and not sub2.story and not sub2.unknown:
                acc.fields.update(sub.fields)
                for k, v in sub2.fields.items():
                    _set(acc, k, v)
                continue
        if removed and sub.fields and (PLATFORM_PHRASE.search(chunk) or _formats(chunk)):
            acc.fields.update(sub.fields)
            kept.append(rest)
            continue
        if sub.fields.get("duration") is not None and i == 0:
            acc.fields["duration"] = sub.fields["duration"]
            kept.append(rest)
            continue
        kept.append(chunk)
    story = ", ".join(k for k in kept if k.strip())
    if story.strip():
        acc.story.append(story)


def _classify_field_only(text: str, acc: _Acc) -> None:
    text = text.strip(" ,.;:!-")
    if not text:
        return
    if title := _title(text):
        acc.fields["title"] = title
        return
    for name in ("mood", "style"):
        if m := EXPLICIT[name].match(_clean_lead(text)):
            acc.fields[name] = _clean(m.group(1))
            return
    cleaned = _clean(text)
    for name in ("mood", "style"):
        if m := SUFFIX[name].match(cleaned):
            inner = _clean(m.group(1))
            if inner and len(_words(inner)) <= 5:
                acc.fields[name] = inner
                return
    if AUDIENCE_LEAD.search(text) and (aud := _audience(text, False)):
        acc.fields["audience"] = aud
        return
    if _is_mood(cleaned):
        acc.fields["mood"] = cleaned
        return
    if _is_style(cleaned):
        acc.fields["style"] = cleaned
        return
    acc.unknown.append(text)


def read(text: str, asked: str | None = None, has_story: bool = False) -> Reading:
    """Every brief field stated in `text`. `asked` is the field the last question was about;
    `has_story` says whether the brief already has a story (a stray sentence never replaces it)."""
    text = _norm(text)
    reading = Reading()
    if not text.strip():
        return reading
    if wants_default(text):
        reading.kind = "default"
        return reading
    if is_go(text):
        reading.kind = "go"
        return reading
    if is_filler(text):
        reading.kind = "filler"
        return reading
    if asked == "audience" and len(_words(text)) <= 12 and PEOPLE_RE.search(text):
        probe = _Acc()
        _take_spans(text, probe)
        if "duration" not in probe.fields and "formats" not in probe.fields:
            value = _audience(text, True)
            if value and not QUESTION.match(text):
                reading.fields = {"audience": value}
                reading.kind = "fields"
                return reading
    acc = _Acc()
    text = FREE_COLON.sub(";", text)
    sentences = [s.strip() for s in SENTENCE.split(text) if s.strip()]
    for sentence in sentences:
        sentence = sentence.strip().rstrip(".!")
        if sentence.endswith("?") and _answers_in_question(sentence):
            sentence = sentence.rstrip("?").strip()
        if QUESTION.search(sentence) and not _answers_in_question(sentence):
            reading.kind = "question"
            continue
        if CANNOT.search(sentence):
            reading.cannot = True
            continue
        if CONTEXT.match(sentence):
            # 'I run a small flower shop and I want a video for Instagram': about the person,
            # not the film; only what it states about the video is kept.
            inner = re.split(r"\s+and\s+(?=(?:i|we)\b)", sentence, maxsplit=1)
            if len(inner) == 1:
                _take_platform_only(sentence, acc)
                continue
            _take_platform_only(inner[0], acc)
            sentence = inner[1]
        if SENTENCE_FIELD.match(_clean_lead(sentence)) and not _has_spans(sentence):
            _classify(_clean_lead(sentence), acc, asked)
            continue
        if asked in ("mood", "style") and len(sentences) == 1 and _whole_answer(sentence, asked):
            # each clause cleaned: a hedge inside ('warm and cozy i guess, handheld') goes too
            parts = [TRAIL.sub("", c).strip(" ,.;:!-") for c in CLAUSE_SPLIT.split(sentence)]
            kept = [p for p in parts if p and not is_filler(p) and not INNER_FILLER.match(p)]
            _set(acc, asked, _clean(", ".join(kept)))
            continue
        story = _lead_in(_clean_lead(sentence), acc, asked)
        if story is not None:
            if story:
                _split_story(story, acc, asked)
            continue
        m = EXPLICIT["story"].match(_clean_lead(sentence))
        if m and len(_words(m.group(1))) >= 3:
            _split_story(m.group(1), acc, asked)
            continue
        clauses = [c for c in CLAUSE_SPLIT.split(sentence) if c and c.strip()]
        if len(clauses) > 1 and _looks_like_story(sentence) and not _all_fields(clauses, asked):
            _split_story(sentence, acc, asked)
            continue
        before = len(acc.story)
        for clause in clauses:
            rest = _take_spans(clause, acc)
            if rest != clause.strip(" ,.;:!-") and COMMAND_LEFT.fullmatch(_bare(rest)):
                continue
            if rest and _bare(rest) not in ("", "format", "formats"):
                _classify(rest, acc, asked)
        if len(acc.story) - before > 1:
            joined = ", ".join(x.strip(" .") for x in acc.story[before:])
            acc.story[before:] = [joined]
    fields = dict(acc.fields)
    if asked == "duration" and "duration" not in fields:
        if m := BARE_NUMBER.match(_clean(text)):
            number = m.group(1).lower()
            seconds = float(NUMBER_WORDS.get(number, 0) or number)
            if 0 < seconds <= 600:
                fields["duration"] = seconds
                acc.unknown = []
    if asked == "formats" and "formats" not in fields:
        if re.search(r"\b(?:all|every|each|everything|all of (?:them|those))\b", text, re.I):
            fields["formats"] = list(ALL_FORMATS)
            acc.unknown = []
    if acc.story:
        story = " ".join(_story_text(s) for s in acc.story if s.strip())
        if story and (not has_story or asked == "story" or _explicit_story(text)):
            fields["story"] = story
        elif story and STORY_CONTINUE.match(acc.story[0].strip()):
            fields["story_more"] = story
        elif story:
            reading.ignored.append(story)
    reading.ignored += [u for u in acc.unknown if _clean(u) and not is_filler(u)]
    fields = {k: v for k, v in fields.items() if v not in (None, "", [])}
    for name in ("mood", "style", "audience", "title", "story"):
        if name in fields and (is_go(str(fields[name])) or wants_default(str(fields[name]))):
            del fields[name]
    reading.fields = fields
    if fields:
        reading.kind = "fields"
    elif reading.kind != "question":
        reading.kind = "unknown"
    return reading


def _has_spans(text: str) -> bool:
    probe = _Acc()
    _take_spans(text, probe)
    return bool(probe.fields)


def _take_platform_only(text: str, acc: _Acc) -> None:
    if (p := _platform(text)) is not None:
        acc.fields["platform"] = p


def _whole_answer(sentence: str, asked: str) -> bool:
    """'summer vibes, carefree' or 'soft and natural, like a lifestyle magazine' answers the
    mood or style question as a whole, unless it carries other fields or a story."""
    if _has_spans(sentence) or len(_words(sentence)) > 12 or QUESTION.match(sentence):
        return False
    clauses = [c for c in CLAUSE_SPLIT.split(sentence) if c.strip()]
    if len(clauses) < 2:
        return False
    other = "style" if asked == "mood" else "mood"
    for clause in clauses:
        cleaned = _clean(clause)
        if not cleaned:
            continue
        if EXPLICIT[other].match(cleaned) or SUFFIX[other].match(cleaned):
            return False
        if AUDIENCE_LEAD.search(clause) and _audience(clause, False):
            return False
        if len(_words(cleaned)) >= 5 and STORY_VERB.search(cleaned):
            return False
    first = _clean(clauses[0])
    if asked == "mood":
        return _is_mood(first) or semantic.classify(first, prefer="mood") == "mood"
    return (
        _is_style(first, True)
        or any(w in LOOK_MOODS for w in _words(first))
        or (semantic.classify(first, prefer="style") == "style")
    )


def _explicit_story(text: str) -> bool:
    return bool(
        re.search(
            r"\b(?:change|set|switch|replace) the (?:story|plot|idea)\b|\bnew story\b|"
            r"\b(?:story|plot)\s*(?:is|:|should be)|\bactually,? (?:it'?s|make it) about\b|"
            r"\binstead,? (?:it'?s|make it) about\b|\bmake it about\b",
            text,
            re.IGNORECASE,
        )
    )


def _answers_in_question(sentence: str) -> bool:
    """'Can you make it 30 seconds?' states a field; 'what formats can you do?' asks;
    'maybe watercolor?' is a hedged answer."""
    if re.match(r"^(?:what|which|how|why|whats|what'?s|wdym|huh|who|where|when)\b", sentence, re.I):
        return False
    if LEAD_IN.match(_clean_lead(sentence.rstrip("?"))):
        return True  # 'can you make me a video of ...?' is a request, not a question
    if not re.match(r"^(?:can|could|do|does|is|are|will|would|should)\b", sentence, re.I):
        return True
    probe = _Acc()
    _take_spans(sentence, probe)
    return bool(probe.fields) or bool(_title(sentence))


def _looks_like_story(sentence: str) -> bool:
    first = CLAUSE_SPLIT.split(sentence)[0]
    n = len(_words(first))
    return n >= 5 and (bool(STORY_VERB.search(first)) or n >= 6)


def _all_fields(clauses: list[str], asked: str | None) -> bool:
    for clause in clauses:
        probe = _Acc()
        rest = _take_spans(clause, probe)
        if not rest:
            continue
        _classify_field_only(rest, probe)
        if probe.unknown:
            return False
    return True


def extract(text: str, asked: str | None = None) -> dict[str, Any]:
    """The brief fields of `text` (compatibility wrapper over `read`)."""
    fields = read(text, asked).fields
    fields.pop("story_more", None)
    return fields


# -- titles -----------------------------------------------------------------------------------

SMALL = {"a", "an", "the", "of", "at", "on", "in", "to", "and", "by", "for", "with", "from", "as"}
BREAK = re.compile(
    r"\b(?:who|that|which|while|when|as|because|after|before|until|and|but|where|"
    r"is|are|was|were|has|have|had|gets|goes|comes|runs|walks|finds|meets|makes|takes|"
    r"looks|sees|opens|closes|leaves|returns|waits|sits|stands|tries|learns|bakes|cooks|"
    r"\w+s\s+(?:a|an|the|her|his|their|its|to|into|through|across|over|up|down|out|in|on|at)\b)",
    re.IGNORECASE,
)


def title_from(story: str) -> str:
    """A working title from the story's subject: 'A lighthouse keeper on his last night before
    the light is automated.' -> 'A Lighthouse Keeper on His Last Night'."""
    first = re.split(r"[.!?;:\n]|,\s", story.strip())[0].strip().strip(QUOTES)
    m = BREAK.search(first)
    head = first[: m.start()].strip() if m and m.start() > 0 else first
    words = head.split()[:8]
    if len(words) < 2:
        words = first.split()[:6]
    while words and words[-1].lower() in SMALL:
        words.pop()
    titled = [
        w if i and w.lower() in SMALL else (w[0].upper() + w[1:] if w else w)
        for i, w in enumerate(words)
    ]
    return " ".join(titled).strip(",;:") or "Untitled"
