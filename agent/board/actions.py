"""Everything the board changes goes through here: one small seam to the production engine.

Today it calls the chat `Studio` (the same quote, budget, approval and pick rules as chat);
when the one engine lands, repoint these few functions and the board follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from memory.models import Production, Take, TakeStatus

if TYPE_CHECKING:
    from tools.production import Services
    from tools.studio import Studio


class ActionError(ValueError):
    """Something the person can fix; the message says how."""


@dataclass(frozen=True)
class MoreTakesQuote:
    shot_id: str
    have: int
    adding: int
    cost_usd: float
    seconds: float

    @property
    def total(self) -> int:
        return self.have + self.adding

    def describe(self) -> str:
        money = "free" if self.cost_usd == 0 else f"${self.cost_usd:.2f}"
        return (
            f"{self.adding} more take(s) of shot {self.shot_id}: {money}, about {self.seconds:.0f}s"
        )


def _studio(services: Services, project_id: str) -> Studio:
    from tools.studio import Studio

    studio = Studio(services, f"board:{project_id}")
    studio.attach(project_id)
    return studio


def working(services: Services, project_id: str) -> Production:
    return services.store.working(project_id)


def ranked_takes(services: Services, project_id: str, shot_id: str) -> list[Take]:
    """The shot's pickable takes, best first: take N on the board is take N in chat."""
    return list(_studio(services, project_id).ranked_takes(shot_id))


def pick(services: Services, project_id: str, shot_id: str, number: int) -> str:
    from agent.conversation import words
    from tools.studio import StudioError

    try:
        return words.picked(_studio(services, project_id).pick(shot_id, number))
    except StudioError as exc:
        raise ActionError(str(exc)) from None


def _existing(services: Services, project_id: str, shot_id: str) -> int:
    takes = services.store.takes(project_id, shot_id)
    return len({t.input_hash for t in takes if t.status is TakeStatus.SUCCEEDED})


def quote_more_takes(
    services: Services, project_id: str, shot_id: str, adding: int
) -> MoreTakesQuote:
    """The price of `adding` takes of one shot (reused takes are free); nothing is rendered."""
    if not 1 <= adding <= 10:
        raise ActionError("add between 1 and 10 takes at a time")
    studio = _studio(services, project_id)
    production = working(services, project_id)
    try:
        shot = production.shot(shot_id)
    except KeyError:
        raise ActionError(f"there is no shot {shot_id}") from None
    have = min(20 - adding, len(studio.ranked_takes(shot_id)))
    subset = production.model_copy(
        update={
            "scenes": [
                sc.model_copy(update={"shots": [s for s in sc.shots if s.id == shot.id]})
                for sc in production.scenes
            ]
        }
    )
    quote = studio.quote_takes(have + adding, subset)
    return MoreTakesQuote(shot_id, have, adding, quote.cost_usd, quote.seconds)


async def add_takes(
    services: Services, project_id: str, shot_id: str, adding: int, confirmed_usd: float
) -> str:
    """Render the quoted takes, only if the price is still the one the person confirmed."""
    from agent.conversation import words
    from tools.studio import StudioError

    quote = quote_more_takes(services, project_id, shot_id, adding)
    if abs(quote.cost_usd - confirmed_usd) > 1e-6:
        raise ActionError(
            f"the price changed to ${quote.cost_usd:.2f} (you confirmed ${confirmed_usd:.2f}); "
            "look at the new price and confirm again"
        )
    studio = _studio(services, project_id)
    studio.record_decision(True, quote.cost_usd, f"board: {quote.describe()}")
    try:
        return words.generated(await studio.generate(quote.total, [shot_id]))
    except StudioError as exc:
        raise ActionError(str(exc)) from None


async def export(services: Services, project_id: str) -> str:
    from agent.conversation import words
    from tools.studio import StudioError

    try:
        studio = _studio(services, project_id)
        return words.exported(await studio.export("exported from the review board"))
    except StudioError as exc:
        raise ActionError(str(exc)) from None
