"""Typed settings from the environment (prefix REELFORGE_), built once at the edge."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from memory.redact import register_secrets

PRICE_ENV = "REELFORGE_PRICE_{}_USD_PER_S"


def price_override(provider: str, environ: Mapping[str, str] | None = None) -> float | None:
    """`REELFORGE_PRICE_<PROVIDER>_USD_PER_S`: the USD per second to quote for every model of
    `provider` instead of the catalogue's price; None when unset. A value that is not a
    non-negative number is refused (a wrong price would be a wrong approval)."""
    name = PRICE_ENV.format(provider.upper())
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a price in USD per second (e.g. 0.1), not {raw!r}")
    return value


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reelforge"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="REELFORGE_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    ffmpeg: str | None = Field(default=None, description="ffmpeg binary; default: imageio-ffmpeg's")
    takes: int = Field(default=1, ge=1, le=20, description="Takes per shot when not given.")
    budget_usd: float | None = Field(default=None, ge=0, description="Hard spend cap per run.")
    approve_above_usd: float = Field(default=0.0, ge=0)
    render_concurrency: int = Field(default=2, ge=1, le=32, description="Parallel ffmpeg jobs.")
    model: str | None = Field(
        default=None,
        description="Chat model on an OpenAI-compatible endpoint; 'offline' or unset with no "
        "OPENAI_API_KEY: the embedded offline director.",
    )
    history_messages: int = Field(
        default=60, ge=10, le=1000, description="Summarise a thread's history beyond this."
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql:// URL: the project store, spend ledger and chat checkpoints on "
        "Postgres (team scale); default: SQLite files in data_dir.",
    )
    chroma_url: str | None = Field(
        default=None, description="Chroma server for references; default: embedded in data_dir."
    )

    gemini_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("GEMINI_API_KEY", "GOOGLE_API_KEY")
    )
    # Veo on Vertex AI: a service account (GOOGLE_CLOUD_PROJECT + GOOGLE_APPLICATION_CREDENTIALS),
    # or an API key with GOOGLE_GENAI_USE_VERTEXAI=true (the google-genai SDK's variables)
    google_cloud_project: str | None = Field(default=None, validation_alias="GOOGLE_CLOUD_PROJECT")
    google_cloud_location: str = Field(
        default="us-central1", validation_alias="GOOGLE_CLOUD_LOCATION"
    )
    google_application_credentials: Path | None = Field(
        default=None, validation_alias="GOOGLE_APPLICATION_CREDENTIALS"
    )
    google_genai_use_vertexai: bool = Field(
        default=False, validation_alias="GOOGLE_GENAI_USE_VERTEXAI"
    )
    kling_access_key: SecretStr | None = Field(default=None, validation_alias="KLING_ACCESS_KEY")
    kling_secret_key: SecretStr | None = Field(default=None, validation_alias="KLING_SECRET_KEY")
    runwayml_api_secret: SecretStr | None = Field(
        default=None, validation_alias="RUNWAYML_API_SECRET"
    )
    lumaai_api_key: SecretStr | None = Field(default=None, validation_alias="LUMAAI_API_KEY")
    fal_key: SecretStr | None = Field(default=None, validation_alias="FAL_KEY")
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    elevenlabs_api_key: SecretStr | None = Field(
        default=None, validation_alias="ELEVENLABS_API_KEY"
    )

    # Slack bot (`reelforge slack`); allow-lists are comma-separated ids, empty allows any.
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_allow_teams: str = Field(default="", description="Slack team ids allowed; empty: any.")
    slack_allow_channels: str = Field(default="", description="Channel ids allowed; empty: any.")
    slack_allow_users: str = Field(default="", description="User ids allowed; empty: any.")

    # Provider endpoints: point them at `reelforge sandbox` to demo the paid flow for free.
    veo_base_url: str = "https://generativelanguage.googleapis.com"
    veo_vertex_base_url: str | None = Field(
        default=None, description="Vertex AI host; default: {location}-aiplatform.googleapis.com."
    )
    kling_base_url: str = "https://api-singapore.klingai.com"
    runway_base_url: str = "https://api.dev.runwayml.com"
    luma_base_url: str = "https://api.lumalabs.ai/dream-machine/v1"
    fal_base_url: str = Field(default="https://queue.fal.run", description="fal queue host.")
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        validation_alias=AliasChoices("REELFORGE_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
    )
    elevenlabs_base_url: str = "https://api.elevenlabs.io"
    download_max_mb: float = Field(
        default=2048, gt=0, description="Largest provider output reelforge downloads."
    )

    @model_validator(mode="after")
    def _register_secrets(self) -> Settings:
        """Every configured secret becomes known to `memory.redact.redact`."""
        register_secrets(
            value.get_secret_value()
            for value in self.__dict__.values()
            if isinstance(value, SecretStr)
        )
        return self

    def env_present(self, name: str) -> bool:
        field = {
            "GEMINI_API_KEY": "gemini_api_key",
            "GOOGLE_API_KEY": "gemini_api_key",
            "GOOGLE_CLOUD_PROJECT": "google_cloud_project",
            "GOOGLE_APPLICATION_CREDENTIALS": "google_application_credentials",
            "KLING_ACCESS_KEY": "kling_access_key",
            "KLING_SECRET_KEY": "kling_secret_key",
            "RUNWAYML_API_SECRET": "runwayml_api_secret",
            "LUMAAI_API_KEY": "lumaai_api_key",
            "FAL_KEY": "fal_key",
            "OPENAI_API_KEY": "openai_api_key",
            "ELEVENLABS_API_KEY": "elevenlabs_api_key",
        }.get(name)
        return field is not None and getattr(self, field) is not None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "reelforge.db"

    @property
    def store_target(self) -> Path | str:
        """Where the project store lives: the Postgres URL if configured, else the SQLite file."""
        return self.database_url.get_secret_value() if self.database_url else self.db_path

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"
