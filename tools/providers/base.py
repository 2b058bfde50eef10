"""The provider seam: what every video adapter (animatic and real) implements.

Provider (auth, base URL, client) is kept apart from the capability profile (facts from the
catalogue) so the router can reason about providers that are not configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from memory.models import Aspect, PromptComponents
from memory.redact import redact


class CapabilityProfile(BaseModel):
    """What one provider model can do and what it costs. Data from `catalogue.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    model: str
    label: str
    key_env: list[str] = Field(default_factory=list, description="Env vars that configure it.")
    durations: list[float] = Field(
        default_factory=list, description="Fixed durations (s) it renders; a shot is fitted to one."
    )
    max_duration: float | None = Field(
        default=None, description="Any duration up to this (s), when it has no fixed set."
    )
    aspects: list[Aspect]
    resolutions: list[str]
    max_reference_images: int = 0
    reference_modes: list[str] = Field(default_factory=list)
    native_audio: bool = False
    prompt_max_chars: int = 2000
    price_per_second_usd: float = 0.0
    typical_latency_s: float = 60.0
    max_concurrency: int = 4
    retired: str | None = Field(default=None, description="Why and when it was retired.")

    def fit_duration(self, wanted: float) -> float | None:
        """The shortest duration it renders that covers `wanted` (trimmed in the edit)."""
        if not self.durations:
            return wanted if self.max_duration is not None and wanted <= self.max_duration else None
        fits = [d for d in sorted(self.durations) if d >= wanted - 1e-6]
        return fits[0] if fits else None

    def price(self, seconds: float) -> float:
        return round(self.price_per_second_usd * seconds, 4)


class GenerationRequest(BaseModel):
    """One take to render. Real adapters use prompt/duration/aspect/refs; the animatic uses all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str
    negative_prompt: str = ""
    duration: float = Field(gt=0)
    aspect: Aspect
    resolution: str = "720p"
    seed: int = 0
    model: str | None = None
    reference_images: list[Path] = Field(default_factory=list)
    components: PromptComponents = Field(default_factory=PromptComponents)
    text_overlay: str | None = None
    title: str | None = Field(default=None, description="Title card text for title shots.")
    kind: Literal["live", "title"] = "live"
    idempotency_key: str | None = Field(
        default=None,
        description="Caller's unique id for this take; sent where the API supports one (Kling "
        "external_task_id) so an unknown outcome can be reconciled instead of paid twice.",
    )


JobState = Literal["queued", "running", "succeeded", "failed"]
ErrorKind = Literal[
    "auth",  # missing or rejected key: fix the env var
    "credits",  # out of credits or quota: top up or pick another provider
    "rate_limited",  # retry after `retry_after_s`
    "unavailable",  # provider down or overloaded (5xx, network): retry later
    "timeout",  # no answer in time; after a submit the outcome is unknown: reconcile, don't resend
    "moderation",  # refused on content grounds: change the prompt or the model
    "retired",  # model retired or unknown: the router falls back
    "invalid",  # the provider rejected the request's parameters
    "failed",  # the job ran and failed for the provider's stated reason
]


class JobStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: str
    state: JobState
    progress: float | None = None
    error: str | None = None
    output_url: str | None = None
    retry_after_s: float | None = None
    error_kind: ErrorKind | None = Field(default=None, description="Why it failed, when it did.")


class ProviderError(RuntimeError):
    """A provider failure a person can act on; `retryable` says whether waiting may help.

    The message is redacted of every configured secret here, at construction, so no key a
    provider echoes back reaches stderr, a log, the project store or a conversation."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        kind: ErrorKind | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(redact(message))
        self.retryable = retryable
        self.kind = kind
        self.retry_after_s = retry_after_s


@runtime_checkable
class VideoProvider(Protocol):
    """submit -> poll -> download. Submit must be called once per take; poll and download are
    safe to repeat (that is what makes resume after a crash possible)."""

    id: str

    def profile(self, model: str | None = None) -> CapabilityProfile: ...

    async def submit(self, request: GenerationRequest) -> str:
        """Start a job and return the provider's job id."""
        ...

    async def poll(self, job_id: str) -> JobStatus: ...

    async def download(self, status: JobStatus, dest: Path) -> Path:
        """Fetch a succeeded job's video to `dest` and return it."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Reconcilable(Protocol):
    """A provider that can find the job of a submit whose answer was lost (a timeout after
    sending), so the caller adopts that job instead of paying for a second one."""

    async def reconcile(self, request: GenerationRequest) -> str | None:
        """The job id an earlier submit of `request` created, or None if none arrived."""
        ...
