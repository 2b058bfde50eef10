"""A revision request as a typed plan, parsed once when it is offered and kept with the
session: pricing and applying it read the plan, never the person's words again."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from memory.models import Brief, Production
from tools.revisions import Change, parse_change


class RevisionPlanError(ValueError):
    """The revision does not fit the brief; the message says why."""


class RevisionPlan(Change):
    """What a revision request means: the new grade and brief words, length and formats."""

    @classmethod
    def parse(cls, request: str, production: Production) -> RevisionPlan:
        """Parse `request` against the production's grade and brief (raises
        `tools.revisions.RevisionNotUnderstood`)."""
        brief = production.brief
        change = parse_change(
            request,
            grade=production.grade,
            mood=brief.mood,
            style=brief.style,
            duration=brief.duration,
            formats=list(brief.formats),
        )
        return cls.from_change(change)

    @classmethod
    def from_change(cls, change: Change) -> RevisionPlan:
        return cls.model_validate(change.model_dump())

    def session_record(self) -> dict[str, Any]:
        """What the chat session keeps while the person chooses an option."""
        return {"request": self.request, "label": self.label, "plan": self.model_dump(mode="json")}

    @classmethod
    def from_session(cls, pending: dict[str, Any]) -> RevisionPlan | None:
        """The plan a session keeps; None for a session from before plans were kept."""
        data = pending.get("plan")
        return None if data is None else cls.model_validate(data)

    def revised_brief(self, brief: Brief) -> Brief:
        """The brief with the plan's mood, style, length and formats (scene lengths scaled)."""
        data = brief.model_dump()
        data.update(mood=self.mood, style=self.style, duration=self.duration, formats=self.formats)
        if brief.scenes and any(s.duration for s in brief.scenes):
            scale = self.duration / brief.duration
            data["scenes"] = [
                {**s.model_dump(), "duration": round(s.duration * scale, 3) if s.duration else None}
                for s in brief.scenes
            ]
        try:
            return Brief.model_validate(data)
        except ValidationError as exc:
            raise RevisionPlanError(
                f"that change does not fit the brief: {exc.errors()[0]['msg']}"
            ) from None
