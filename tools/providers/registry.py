"""The one provider registry: capability profiles from the catalogue, adapters by provider id."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from functools import cache
from importlib import resources

import yaml

from tools.providers.base import CapabilityProfile, VideoProvider
from tools.settings import Settings, price_override

AdapterFactory = Callable[[Settings], VideoProvider]

# provider id -> "module:factory". Imported lazily: a provider costs nothing until it is used.
ADAPTERS: dict[str, str] = {
    "animatic": "tools.providers.animatic:create",
    "veo": "tools.providers.veo:create",
    "kling": "tools.providers.kling:create",
    "runway": "tools.providers.runway:create",
    "luma": "tools.providers.luma:create",
    "pika": "tools.providers.pika:create",
}


class UnknownProvider(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@cache
def catalogue() -> dict[str, tuple[CapabilityProfile, ...]]:
    """Every provider's model profiles, in catalogue order."""
    text = resources.files("tools.providers").joinpath("catalogue.yaml").read_text("utf-8")
    data = yaml.safe_load(text)["providers"]
    out: dict[str, tuple[CapabilityProfile, ...]] = {}
    for pid, entry in data.items():
        out[pid] = tuple(
            CapabilityProfile(
                provider=pid, label=entry["label"], key_env=entry.get("key_env", []), **model
            )
            for model in entry["models"]
        )
    return out


def provider_ids() -> list[str]:
    return list(catalogue())


def check_provider_id(pid: str) -> str:
    if pid not in catalogue():
        close = difflib.get_close_matches(pid, provider_ids(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownProvider(f"unknown provider {pid!r}{hint}; known: {', '.join(provider_ids())}")
    return pid


def profiles(pid: str) -> tuple[CapabilityProfile, ...]:
    """`pid`'s model profiles, priced by `REELFORGE_PRICE_<PID>_USD_PER_S` when it is set."""
    options = catalogue()[check_provider_id(pid)]
    price = price_override(pid)
    if price is None:
        return options
    return tuple(p.model_copy(update={"price_per_second_usd": price}) for p in options)


def default_profile(pid: str, model: str | None = None) -> CapabilityProfile:
    """The named model's profile, else the first model that is not retired (else the first)."""
    options = profiles(pid)
    if model is not None:
        for p in options:
            if p.model == model:
                return p
        raise UnknownProvider(
            f"{pid} has no model {model!r}; known: {', '.join(p.model for p in options)}"
        )
    live = [p for p in options if p.retired is None]
    return (live or list(options))[0]


class Registry:
    """Which providers are usable with these settings, and their adapters."""

    def __init__(self, settings: Settings, adapters: dict[str, AdapterFactory] | None = None):
        self.settings = settings
        self._extra = dict(adapters or {})
        self._instances: dict[str, VideoProvider] = {}

    def has_adapter(self, pid: str) -> bool:
        return pid in self._extra or pid in ADAPTERS

    def unavailable_reason(self, pid: str) -> str | None:
        """None when `pid` can be used now; otherwise why not, naming the fix."""
        check_provider_id(pid)
        if not self.has_adapter(pid):
            return f"{pid} has no adapter in this version yet"
        if pid == "veo":  # Vertex AI (service account or API key); the Gemini API is retired
            from tools.providers.veo import unavailable

            return unavailable(self.settings)
        profile = default_profile(pid)
        missing = [env for env in profile.key_env if not self.settings.env_present(env)]
        if missing:
            return f"{pid} is not configured (set {' and '.join(missing)})"
        if profile.retired:
            return f"{pid} {profile.model} is {profile.retired}"
        return None

    def configured(self) -> list[str]:
        return [pid for pid in provider_ids() if self.unavailable_reason(pid) is None]

    def get(self, pid: str) -> VideoProvider:
        reason = self.unavailable_reason(pid)
        if reason is not None:
            raise UnknownProvider(reason)
        if pid not in self._instances:
            factory = self._extra.get(pid)
            if factory is None:
                module_name, attr = ADAPTERS[pid].split(":")
                module = __import__(module_name, fromlist=[attr])
                factory = getattr(module, attr)
            self._instances[pid] = factory(self.settings)
        return self._instances[pid]

    async def aclose(self) -> None:
        for provider in self._instances.values():
            await provider.aclose()
        self._instances.clear()
