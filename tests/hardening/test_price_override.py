"""`REELFORGE_PRICE_<PROVIDER>_USD_PER_S` prices every quote of that provider."""

from __future__ import annotations

import pytest

from tools.providers.registry import default_profile, profiles
from tools.settings import price_override


def test_the_override_prices_every_model_of_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    catalogue_price = default_profile("kling").price(5)
    monkeypatch.setenv("REELFORGE_PRICE_KLING_USD_PER_S", "0.5")
    assert default_profile("kling").price(5) == 2.5 != catalogue_price
    assert all(p.price_per_second_usd == 0.5 for p in profiles("kling"))
    assert default_profile("runway").price(5) != 2.5  # other providers keep their price


def test_the_override_reaches_the_take_quote(monkeypatch: pytest.MonkeyPatch) -> None:
    from memory.models import PromptComponents, Shot
    from tools import takes

    shot = Shot(
        id="1.1",
        scene_index=0,
        index=0,
        description="a dog",
        components=PromptComponents(),
        duration=5,
        aspect="16:9",
        preferred_provider="runway",
        preferred_reason="",
        provider="runway",
        provider_reason="",
        prompt="a dog",
    )
    monkeypatch.setenv("REELFORGE_PRICE_RUNWAY_USD_PER_S", "1")
    request = takes.request_for(shot, 1)
    profile = default_profile(shot.provider, request.model)
    assert profile.price(request.duration) == request.duration


@pytest.mark.parametrize("bad", ["abc", "-1", "nan", "inf"])
def test_a_wrong_override_is_refused_not_guessed(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("REELFORGE_PRICE_LUMA_USD_PER_S", bad)
    with pytest.raises(ValueError, match="REELFORGE_PRICE_LUMA_USD_PER_S"):
        default_profile("luma")


def test_unset_is_the_catalogue() -> None:
    assert price_override("kling", {}) is None
