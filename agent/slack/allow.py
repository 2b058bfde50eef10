"""Who may use the bot: allow-lists of workspaces (teams), channels and users from settings."""

from __future__ import annotations

from dataclasses import dataclass

from tools.settings import Settings

REFUSAL = (
    "Sorry, I'm not set up to make videos here. Ask the person who runs reelforge to add this "
    "workspace, channel or you to its allow-list."
)


def _ids(raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())


@dataclass(frozen=True)
class AllowList:
    """An empty list puts no limit on that dimension; a request must pass all three."""

    teams: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> AllowList:
        return cls(
            _ids(settings.slack_allow_teams),
            _ids(settings.slack_allow_channels),
            _ids(settings.slack_allow_users),
        )

    @property
    def unrestricted(self) -> bool:
        return not (self.teams or self.channels or self.users)

    def allows(self, team: str | None, channel: str | None, user: str | None) -> bool:
        return all(
            not allowed or (value is not None and value in allowed)
            for allowed, value in ((self.teams, team), (self.channels, channel), (self.users, user))
        )
