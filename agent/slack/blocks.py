"""Block Kit builders: pure functions from what the runtime knows to Slack blocks.

Button values carry only what the action needs (a shot and take number, an approval's
fingerprint); the thread comes from the message the button sits in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

Block = dict[str, Any]

APPROVE = "rf_approve"
REJECT = "rf_reject"
PICK = "rf_pick_"  # + take number
REGENERATE = "rf_regen_"  # + shot id
EXPORT = "rf_export"
FORMAT = "rf_format_"  # + index
ACTION_PREFIX = "rf_"

# Quick replies to the formats question, sent as the person's words.
FORMAT_CHOICES = (
    ("9:16 vertical", "9:16 vertical"),
    ("16:9 horizontal", "16:9 horizontal"),
    ("1:1 square", "1:1 square"),
    ("All three", "all three formats"),
)
SECTION_LIMIT = 2900  # Slack caps section text at 3000 characters
SHEETS_COMMENT = "Contact sheets: each shot's takes side by side, numbered as the buttons below."


@dataclass(frozen=True)
class TakeChoice:
    number: int  # 1 = best ranked
    score: float | None
    in_cut: bool


@dataclass(frozen=True)
class ShotTakes:
    shot_id: str
    description: str
    takes: list[TakeChoice]
    new_take_usd: float  # the price of one more take of this shot


def _text(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75], "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def money(usd: float) -> str:
    return "free" if usd <= 0 else f"${usd:.2f}"


def approval_blocks(description: str, price_usd: float, fingerprint: str) -> list[Block]:
    """Approve or reject paid work; the price is on the button itself."""
    return [
        {"type": "section", "text": _text(f":moneybag: *Approval needed*\n{description}")},
        {
            "type": "actions",
            "block_id": "rf_approval",
            "elements": [
                _button(f"Approve {money(price_usd)}", APPROVE, fingerprint, "primary"),
                _button("Reject", REJECT, fingerprint, "danger"),
            ],
        },
    ]


def decided_blocks(description: str, approved: bool, user: str) -> list[Block]:
    """The approval message once answered: no buttons left to press twice."""
    verdict = "approved" if approved else "rejected"
    mark = ":white_check_mark:" if approved else ":no_entry_sign:"
    return [{"type": "section", "text": _text(f"{mark} <@{user}> {verdict}: {description}")}]


def take_blocks(shots: list[ShotTakes]) -> list[Block]:
    """Per shot: pick-a-take buttons (best first), one more take at its price; then export."""
    blocks: list[Block] = []
    for shot in shots:
        ranked = ", ".join(
            f"take {t.number}{' (in the cut)' if t.in_cut else ''}"
            + (f" {t.score:.2f}" if t.score is not None else "")
            for t in shot.takes
        )
        blocks.append(
            {
                "type": "section",
                "text": _text(f"*Shot {shot.shot_id}*: {shot.description}\n{ranked}"),
            }
        )
        elements = [
            _button(
                f"Take {t.number}" + (" \u2713" if t.in_cut else ""),
                f"{PICK}{t.number}",
                json.dumps({"shot": shot.shot_id, "take": t.number}),
                "primary" if t.in_cut else None,
            )
            for t in shot.takes[:20]
        ]
        elements.append(
            _button(
                f"New take ({money(shot.new_take_usd)})",
                f"{REGENERATE}{shot.shot_id}",
                json.dumps({"shot": shot.shot_id, "usd": shot.new_take_usd}),
            )
        )
        blocks.append(
            {"type": "actions", "block_id": f"rf_shot_{shot.shot_id}", "elements": elements}
        )
    blocks.append(
        {
            "type": "actions",
            "block_id": "rf_export",
            "elements": [_button("Export this cut", EXPORT, "export", "primary")],
        }
    )
    return blocks


def sheet_names(shot_id: str) -> dict[str, str]:
    """File name and title of a shot's contact sheet in the thread."""
    return {"filename": f"shot-{shot_id}-sheet.png", "title": f"shot {shot_id}: contact sheet"}


def format_blocks(question: str) -> list[Block]:
    """The formats question with quick-reply buttons."""
    return [
        {"type": "section", "text": _text(question)},
        {
            "type": "actions",
            "block_id": "rf_formats",
            "elements": [
                _button(label, f"{FORMAT}{i}", words)
                for i, (label, words) in enumerate(FORMAT_CHOICES)
            ],
        },
    ]


def status_blocks(text: str) -> list[Block]:
    return [{"type": "context", "elements": [_text(text)]}]
