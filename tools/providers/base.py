"""The provider seam: what every video adapter (animatic and real) implements.

Provider (auth, base URL, client) is kept apart from the capability profile (facts from the
catalogue) so the router can reason about providers that are not configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from memory.models import Aspect, PromptComponents


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


JobState = Literal["queued", "running", "succeeded", "failed"]


class JobStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: str
    state: JobState
    progress: float | None = None
    error: str | None = None
    output_url: str | None = None
    retry_after_s: float | None = None


class ProviderError(RuntimeError):
    """A provider failure a person can act on; `retryable` says whether waiting may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


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
