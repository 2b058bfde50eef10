"""Which chat model drives the conversation: any OpenAI-compatible endpoint, else offline."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from tools.settings import Settings

DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"


def is_offline(model: BaseChatModel) -> bool:
    from agent.director import OfflineDirector

    return isinstance(model, OfflineDirector)


def chat_model(settings: Settings) -> BaseChatModel:
    """`REELFORGE_MODEL` on `OPENAI_BASE_URL` (OpenAI, Ollama, vLLM, llama.cpp server) when a model
    or an `OPENAI_API_KEY` is configured; otherwise the embedded offline director."""
    name = settings.model
    if name == "offline" or (name is None and settings.openai_api_key is None):
        from agent.director import OfflineDirector

        return OfflineDirector()
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    key = settings.openai_api_key or SecretStr("not-needed")
    return ChatOpenAI(
        model=name or DEFAULT_OPENAI_MODEL,
        base_url=settings.openai_base_url,
        api_key=key,
        max_retries=2,
        timeout=120,
    )
