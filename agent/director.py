"""The offline director: a rule-based chat model that drives the same agent loop and tools.

It is a real `BaseChatModel`: `create_agent` binds the tools to it, calls it with the thread's
messages, and runs the tool calls it returns, exactly as with an LLM. Words up, logic down: it
parses the person's words, but never the tools' sentences. Where the production stands (the brief,
what is missing, the phase, the scenes) it reads from the thread's typed state, which every tool
returns as its ToolMessage artifact and an offline summary carries as one JSON line
(`agent.conversation.state`); which question it asked it reads from its own last words. So a
checkpointed or summarised thread resumes, and rewording a tool's sentence changes no decision.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agent.conversation import scenes as scene_edits
from agent.conversation import semantic, words
from agent.conversation import state as state_of
from agent.conversation.interview import FIELDS, is_strong_go, read, title_from, wants_default
from agent.conversation.state import ThreadState
from tools.revisions import PHRASES

QUESTIONS = {
    "story": "What happens in the video? A sentence or two is enough.",
    "mood": "What mood should it have? For example hopeful, moody, dreamy or energetic.",
    "style": "What look are you after? For example cinematic film, anime, documentary or "
    "ultra-realistic. (Say 'you choose' for cinematic.)",
    "duration": "How long should it be, in seconds? (15 s suits Reels and TikTok.)",
    "formats": "Which formats: 9:16 vertical, 16:9 horizontal, 1:1 square, or all three?",
    "audience": "Who is it for? (Say 'you choose' for a general social audience.)",
}
DEFAULTS: dict[str, Any] = {
    "story": "A city wakes up at sunrise: empty streets, the first café opening, people "
    "heading out into the light.",
    "mood": "hopeful",
    "style": "cinematic",
    "duration": 15,
    "formats": ["9:16"],
    "audience": "a general social media audience",
}
GO = re.compile(
    r"^\s*(yes|yep|yeah|sure|ok|okay|go|go ahead|do it|render( it)?|make it|let'?s go|"
    r"sounds good|looks good|approved?|proceed|start|perfect|great)\b",
    re.IGNORECASE,
)
NO = re.compile(r"^\s*(no|nope|not yet|wait|stop|cancel)\b", re.IGNORECASE)
EXPORT = re.compile(r"\bexport\b", re.IGNORECASE)
STATUS = re.compile(r"\b(status|where are we|progress|what'?s the state)\b", re.IGNORECASE)
OPTION_A = re.compile(r"^\s*(a|option a|\(a\)|regrade|the free one|free)\b", re.IGNORECASE)
OPTION_B = re.compile(r"^\s*(b|option b|\(b\)|re-?render)\b", re.IGNORECASE)
PICK = re.compile(
    r"\btake (\d+)\b.*\bshot (\d+(?:\.\d+)?)|\bshot (\d+(?:\.\d+)?)\b.*\btake (\d+)\b", re.I
)
PROVIDER = re.compile(
    r"\b(?:use|try|switch to|with)\s+(veo|kling|runway|luma|pika|animatic)\b.*?"
    r"\b(?:for|on)\s+(?:scene|shot)\s+(\d+(?:\.\d+)?)|"
    r"\b(?:scene|shot)\s+(\d+(?:\.\d+)?)\b.*?\b(?:on|with|to|use)\s+(veo|kling|runway|luma|pika|animatic)\b",
    re.IGNORECASE,
)
REVISION = re.compile("|".join(f"(?:{p.pattern})" for p in PHRASES), re.IGNORECASE)
HELP = {
    "formats": "I export 9:16 vertical (Reels, TikTok, Shorts), 16:9 horizontal (YouTube) and "
    "1:1 square (feeds), one or all three.",
    "duration": "Anything from a few seconds to 10 minutes; 15 to 30 s suits social video, and "
    "each shot is at most about 10 s.",
    "style": "A look such as cinematic film, documentary, anime, watercolour, 3D animation, "
    "black and white or ultra-realistic.",
    "mood": "The feeling: hopeful, nostalgic, tense, dreamy, playful, melancholic, epic ...",
    "audience": "Who will watch it, e.g. young travellers, busy parents or your shop's customers.",
    "story": "What we see happen, in a sentence or two, e.g. 'a girl stands on a rooftop at "
    "sunset, then a drone flies over the city'.",
    "platform": "Where it will be posted: TikTok, Instagram Reels, YouTube (Shorts), LinkedIn, "
    "Facebook; the platform picks the format unless you say otherwise.",
    "price": "Planning is free; with no video keys every shot is a free offline animatic, and "
    "paid renders are priced and wait for your approval.",
}
HELP_WORDS = (
    ("formats", r"format|ratio|aspect|vertical|horizontal|square|size"),
    ("duration", r"long|length|duration|seconds|minutes|time"),
    ("style", r"style|look|aesthetic|styles"),
    ("mood", r"mood|feel|tone|vibe"),
    ("audience", r"audience|who is it for|for whom"),
    ("platform", r"platform|tiktok|instagram|youtube|where"),
    ("price", r"cost|price|pay|free|money|expensive"),
)


RENDER_ASK = "Shall I render it?"
OPTION_ASK = "Which one: a or b?"
SUMMARY_HEAD = "Summary of the conversation so far"


def _failed(message: ToolMessage) -> bool:
    """A tool call that did not happen: its state says so, or the approval step refused it."""
    state = message.artifact if isinstance(message.artifact, dict) else {}
    return bool(state.get("error")) or message.status == "error"


def thread_state(messages: list[BaseMessage]) -> ThreadState:
    """The newest state the tools reported (or a summary carried); empty before any tool ran."""
    return state_of.latest(messages, SUMMARY_HEAD) or ThreadState(missing=list(FIELDS))


def conversation_state(messages: list[BaseMessage]) -> tuple[str, str | None]:
    """(phase, asked): the phase from the thread's state, the question from the last thing
    the director said (its own words)."""
    asked = None
    for message in messages:
        text = str(message.content)
        if isinstance(message, ToolMessage):
            if message.name == "apply_revision" and _failed(message):
                asked = "option"
        elif isinstance(message, AIMessage) and text.strip():
            asked = None
            if text.rstrip().endswith(OPTION_ASK):
                asked = "option"
            elif RENDER_ASK in text:
                asked = "go"
            else:
                for field, question in QUESTIONS.items():
                    if question in text:
                        asked = field
    return thread_state(messages).phase, asked


def help_for(text: str, asked: str | None) -> str:
    for topic, pattern in HELP_WORDS:
        if re.search(pattern, text, re.IGNORECASE):
            return HELP[topic]
    return HELP.get(asked or "", "I'm putting together the brief for your video.")


class OfflineDirector(BaseChatModel):
    """Rule-based director; the embedded default when no chat model is configured."""

    tool_names: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "reelforge-offline-director"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Any:
        names = [getattr(t, "name", None) or t.get("name", "") for t in tools]
        semantic.warm()  # the interview's embeddings load while the person types
        return self.model_copy(update={"tool_names": names})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.respond(messages))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Rules are instant: answer on the event loop instead of hopping to a worker thread.
        return ChatResult(generations=[ChatGeneration(message=self.respond(messages))])

    # -- decisions --------------------------------------------------------------------------

    def respond(self, messages: list[BaseMessage]) -> AIMessage:
        phase, asked = conversation_state(messages)
        state: dict[str, Any] = {"phase": phase, "asked": asked}
        last = messages[-1] if messages else HumanMessage("")
        if isinstance(last, ToolMessage):
            return self._after_tool(last, messages)
        state["messages"] = messages
        return self._after_person(str(last.content), state)

    @staticmethod
    def _say(text: str) -> AIMessage:
        return AIMessage(text)

    @staticmethod
    def _call(name: str, args: dict[str, Any]) -> AIMessage:
        return AIMessage(
            "", tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}"}]
        )

    def _after_person(self, text: str, state: dict[str, Any]) -> AIMessage:
        phase, asked = state["phase"], state["asked"]
        if not text.strip():
            return self._say("Tell me about the video you want to make.")
        if STATUS.search(text):
            return self._call("show_status", {})
        if asked == "option":
            if OPTION_A.search(text):
                return self._call("apply_revision", {"option": "regrade"})
            if OPTION_B.search(text):
                return self._call("apply_revision", {"option": "rerender"})
        if m := PROVIDER.search(text):
            provider = (m.group(1) or m.group(4)).lower()
            target = m.group(2) or m.group(3)
            return self._call("set_provider", {"shot": target, "provider": provider})
        if phase in ("rendered", "exported", "revising") and (m := PICK.search(text)):
            take = int(m.group(1) or m.group(4))
            shot = m.group(2) or m.group(3)
            shot = shot if "." in shot else f"{shot}.1"
            return self._call("pick_take", {"shot": shot, "take": take})
        if phase in ("rendered", "exported", "revising") and EXPORT.search(text):
            return self._call("export_video", {})
        if phase in ("exported", "revising") and REVISION.search(text):
            return self._call("revise_video", {"request": text.strip()})
        messages: list[BaseMessage] = state.get("messages", [])
        if phase != "interview" and scene_edits.mentions_scene(text):
            edit = scene_edits.parse(text, thread_state(messages).scenes)
            if edit is not None:
                if edit.tool:
                    return self._call(edit.tool, edit.args)
                follow = f" {RENDER_ASK} Say 'go' when you are ready." if phase == "planned" else ""
                return self._say(edit.say + follow)
        known = thread_state(messages)
        brief, missing = known.brief, known.missing
        field = asked if asked in FIELDS else None
        reading = read(text, field, has_story=bool(brief.get("story")))
        fields = dict(reading.fields)
        if phase == "planned" and asked == "go" and not fields:
            if GO.search(text):
                return self._call("generate_takes", {})
            if NO.search(text):
                return self._say(
                    "No problem, nothing was rendered. Change a scene, a provider or the brief "
                    f"first if you like. {RENDER_ASK} Say 'go' when you are ready."
                )
        if phase == "rendered" and GO.search(text) and not fields:
            return self._call("export_video", {})
        if phase == "interview" and reading.kind == "go" and is_strong_go(text):
            if not brief.get("story"):
                return self._say(f"Happy to, as soon as I know the story. {QUESTIONS['story']}")
            return self._call("update_brief", {f: DEFAULTS[f] for f in missing if f in DEFAULTS})
        more = fields.pop("story_more", None)
        if more and brief.get("story"):
            fields["story"] = f"{brief['story']} {more}"
        if field and field not in fields and _defaults_asked(text, reading.kind):
            fields[field] = DEFAULTS[field]
        if "story" in fields and "title" not in fields:
            old_title, old_story = brief.get("title"), brief.get("story")
            if not old_title or not old_story or old_title == title_from(old_story):
                fields["title"] = title_from(str(fields["story"]))
        if fields:
            return self._call("update_brief", fields)
        if phase in ("planned", "rendered", "exported") and REVISION.search(text):
            return self._call("revise_video", {"request": text.strip()})
        question = QUESTIONS.get(field or "") if phase == "interview" else None
        again = f" {question}" if question else (f" {RENDER_ASK}" if phase == "planned" else "")
        if reading.kind == "question":
            return self._say(f"{help_for(text, field)}{again}")
        if reading.kind in ("filler", "go"):
            return self._say(f"No rush.{again}" if again else "I'm here when you're ready.")
        if reading.cannot:
            return self._say(
                "I can't do that offline (no uploads, links, voice cloning or posting). I can "
                "plan and make the video from a story, mood, style, length, format and audience, "
                f"and edit its scenes.{again}"
            )
        if field and _asked_twice(messages, question or ""):
            # Never loop: a second miss on the same question takes the default and moves on.
            if field in DEFAULTS and field != "story":
                return self._call("update_brief", {field: DEFAULTS[field]})
        kept = " I left the brief as it is." if brief else ""
        if phase == "interview" and not brief.get("story"):
            lead = "Happy to help. " if reading.kind in ("default", "go") else ""
            return self._say(f"{lead}{HELP['story'] if kept else ''} {QUESTIONS['story']}".strip())
        if question:
            return self._say(f"Sorry, I didn't catch that.{kept} {HELP[field or 'story']}{again}")
        return self._say(
            "I can help you plan and make a video. Tell me the story, the mood, the style, the "
            f"length, the format and who it is for.{kept} (What I understand offline is listed in "
            "the README; a real language model understands more.)"
        )

    def _after_tool(self, result: ToolMessage, messages: list[BaseMessage]) -> AIMessage:
        name = result.name or ""
        text = str(result.content)
        failed = _failed(result)
        if name in ("update_brief", "show_brief"):
            if failed:
                return self._say(f"{text}\nCould you say that another way?")
            missing = thread_state(messages).missing
            if missing:
                field = missing[0]
                chosen = _chosen_defaults(messages)
                return self._say(chosen + QUESTIONS.get(field, f"What about the {field}?"))
            return self._call("plan_production", {})
        if name in ("plan_production", "set_scenes", "edit_scene", "set_provider"):
            if failed:
                return self._say(text)
            return self._say(
                f"{text}\n{RENDER_ASK} Say 'go', or change a scene or a provider first."
            )
        if name == "generate_takes":
            if failed:
                return self._say(
                    f"{text}\nNothing more was rendered. {RENDER_ASK} Say 'go' to try again, or "
                    "ask for fewer takes or another provider (the animatic is free)."
                )
            return self._call("export_video", {})
        if name == "export_video":
            if failed:
                return self._say(text)
            return self._say(
                f"{text}\nWant changes? Try 'make it moodier', 'warmer', 'faster' or 'vertical'."
            )
        if name == "revise_video":
            if failed:
                return self._say(text)
            # Cosmetic only: the offer's cue to a language model (one constant in words) is
            # dropped from what the person reads; no decision depends on it.
            return self._say(f"{text.replace(words.REVISION_CUE, '').strip()}\n{OPTION_ASK}")
        if name == "apply_revision":
            if failed:
                return self._say(text)
            return self._say(f"{text}\nAnything else to change?")
        return self._say(text)


def _defaults_asked(text: str, kind: str) -> bool:
    """'you choose', 'not sure', alone or beside other words ('not sure, maybe 20 seconds')."""
    if kind == "default":
        return True
    parts = [p for p in re.split(r"[,.;!?]+|\s+but\s+", text) if p.strip()]
    return any(wants_default(p) for p in parts)


def _asked_twice(messages: list[BaseMessage], question: str) -> bool:
    said = [str(m.content) for m in messages if isinstance(m, AIMessage) and str(m.content)]
    return bool(question) and len(said) >= 1 and "didn't catch" in said[-1] and question in said[-1]


def _chosen_defaults(messages: list[BaseMessage]) -> str:
    """'I went with hopeful for the mood.' when the last brief change was a default."""
    person = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    call = next((m for m in reversed(messages) if isinstance(m, AIMessage) and m.tool_calls), None)
    if person is None or call is None:
        return ""
    text = str(person.content)
    if not (wants_default(text) or read(text).kind == "go" or "didn't catch" in text):
        return ""
    args = call.tool_calls[0]["args"]
    picks = [
        f"{', '.join(v) if isinstance(v, list) else v}{'s' if k == 'duration' else ''} for the {k}"
        for k, v in args.items()
        if k in DEFAULTS and v == DEFAULTS[k]
    ]
    return f"I went with {'; '.join(picks)} (change it any time). " if picks else ""


def summarize(messages: list[BaseMessage]) -> str:
    """An extractive summary for long threads (the offline stand-in for an LLM summary): the
    newest result of each tool, for reading, and the thread's state as one JSON line, which is
    what the director reads back."""
    newest: dict[str, str] = {}
    for message in messages:
        if isinstance(message, ToolMessage) and not _failed(message):
            newest[message.name or "tool"] = str(message.content)
    lines = [f"{SUMMARY_HEAD} (newest result of each step):", thread_state(messages).line()]
    lines += [f"[{name}] {text}" for name, text in newest.items()]
    return "\n".join(lines)
