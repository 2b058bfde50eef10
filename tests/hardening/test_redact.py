"""A provider's key echoed in its error body appears nowhere: not in the exception, the logs,
stderr or the project store."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from memory.redact import redact, register_secrets
from memory.store import ProjectStore
from tests.hardening.conftest import KEYS, adapter_kwargs, project, shot
from tools.providers import kling, runway
from tools.providers.base import ProviderError
from tools.providers.registry import Registry
from tools.settings import Settings
from tools.takes import generate_takes


def _echo(request: httpx.Request) -> httpx.Response:
    """A provider that quotes everything it was sent back in its error."""
    auth = request.headers.get("authorization", "")
    body = {"error": f"invalid key: {auth} ({KEYS['RUNWAYML_API_SECRET']}, {KEYS['FAL_KEY']})"}
    return httpx.Response(401, json=body)


def _leaks(text: str) -> list[str]:
    return [name for name, value in KEYS.items() if value in text] + (
        ["jwt"] if "eyJ" in text else []
    )


def test_the_key_echoed_in_an_error_reaches_no_output(
    keyed_settings: Settings,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = ProjectStore(keyed_settings.db_path)
    pid = project(store)
    registry = Registry(
        keyed_settings,
        {
            "runway": lambda s: runway.RunwayProvider(s, **adapter_kwargs(_echo)),
            "kling": lambda s: kling.KlingProvider(s, **adapter_kwargs(_echo)),
        },
    )

    async def go() -> list[str]:
        errors = []
        for pid_ in ("runway", "kling"):
            with pytest.raises(ProviderError) as error:
                from tools.takes import request_for

                await registry.get(pid_).submit(request_for(shot(pid_), 1))
            errors.append(str(error.value))
        await generate_takes(
            pid,
            [shot("runway"), shot("kling")],
            1,
            store=store,
            registry=registry,
            take_dir=keyed_settings.media_dir / "takes",
            sleep=adapter_kwargs(_echo)["sleep"],
        )
        await registry.aclose()
        return errors

    errors = asyncio.run(go())
    assert all("[redacted]" in e for e in errors)
    takes = store.takes(pid)
    assert takes and all(t.error and "[redacted]" in t.error for t in takes)
    store.close()
    stored = keyed_settings.db_path.read_bytes().decode("utf-8", "replace")
    out = capsys.readouterr()
    for text in [*errors, stored, out.out, out.err, caplog.text]:
        assert _leaks(text) == []


def test_redact_masks_configured_and_token_shaped_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    register_secrets(["only-in-a-dotenv-file-123"])
    monkeypatch.setenv("SLACK_BOT_TOKEN", "custom-slack-token-value")
    text = (
        "a only-in-a-dotenv-file-123 b custom-slack-token-value c xoxb-1234-abcdef "
        "Authorization: Bearer abc.def-123456 jwt eyJhbGciOi.eyJpc3MiOi.sig_-x sk-proj-ABCDEFGHIJKLMNOPQR"
    )
    clean = redact(text)
    for secret in (
        "only-in-a-dotenv",
        "custom-slack",
        "xoxb-",
        "abc.def-123456",
        "eyJ",
        "sk-proj",
    ):
        assert secret not in clean
    assert clean.startswith("a [redacted] b [redacted] c [redacted]")
    assert redact("a plain sentence about keys") == "a plain sentence about keys"
