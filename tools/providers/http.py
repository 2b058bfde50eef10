"""HTTP plumbing shared by the real adapters: one client per adapter, the error taxonomy,
retries of requests that are safe to repeat, and streamed downloads with a size cap.

Job polling is not here: long jobs are waited on by `tools.providers.polling.wait_for_job`.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.providers.base import (
    CapabilityProfile,
    ErrorKind,
    GenerationRequest,
    JobStatus,
    ProviderError,
)

if TYPE_CHECKING:
    import httpx
    from pydantic import SecretStr

    from tools.settings import Settings

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
# An in-adapter wait longer than this is handed back to the caller (ProviderError.retry_after_s).
MAX_INLINE_WAIT_S = 60.0
SUBMIT_RETRY_STATUSES = frozenset({429, 502, 503})  # the request was turned away unprocessed
IDEMPOTENT_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRYABLE = ("rate_limited", "unavailable", "timeout")
AUTH_HEADERS = ("authorization", "x-goog-api-key", "xi-api-key")


@dataclass(frozen=True)
class Endpoint:
    """Who we are talking to, for messages that name the fix."""

    provider: str
    label: str
    key_env: str
    billing_hint: str = "top up the account"


@dataclass(frozen=True)
class Failure:
    """A provider's error response, reduced to what the taxonomy needs."""

    kind: ErrorKind
    detail: str
    status: int | None = None
    retry_after_s: float | None = None


def error_message(ep: Endpoint, failure: Failure, *, model: str | None = None) -> str:
    """One actionable line per error kind."""
    detail = failure.detail.strip() or (f"HTTP {failure.status}" if failure.status else "")
    where = f" ({detail})" if detail else ""
    kind = failure.kind
    if kind == "auth":
        return f"{ep.label} rejected the API key{where}; check {ep.key_env}"
    if kind == "credits":
        return f"{ep.label} account is out of credits{where}; {ep.billing_hint} or pick another provider"
    if kind == "rate_limited":
        wait = f" in {failure.retry_after_s:g}s" if failure.retry_after_s is not None else " later"
        return f"{ep.label} is rate limiting requests{where}; retry{wait} or lower concurrency"
    if kind == "unavailable":
        return f"{ep.label} is down or overloaded{where}; try again later or pick another provider"
    if kind == "timeout":
        return f"{ep.label} did not answer in time{where}"
    if kind == "moderation":
        return (
            f"{ep.label} refused the request on content grounds{where}; rephrase the shot's "
            "prompt or try another model"
        )
    if kind == "retired":
        named = f" model {model}" if model else " model"
        return f"{ep.label}{named} is retired or unavailable{where}; pick another model or provider"
    if kind == "invalid":
        return f"{ep.label} rejected the request{where}"
    return f"{ep.label} job failed{where}"


def provider_error(ep: Endpoint, failure: Failure, *, model: str | None = None) -> ProviderError:
    retryable = failure.kind in RETRYABLE
    return ProviderError(
        error_message(ep, failure, model=model),
        retryable=retryable,
        kind=failure.kind,
        retry_after_s=failure.retry_after_s,
    )


def missing_key(ep: Endpoint) -> ProviderError:
    return ProviderError(f"{ep.label} needs an API key: set {ep.key_env}", kind="auth")


def kind_for_status(status: int) -> ErrorKind:
    """The default reading of an HTTP status; adapters refine it with the provider's codes."""
    if status in (401, 403):
        return "auth"
    if status == 402:
        return "credits"
    if status == 404 or status == 410:
        return "retired"
    if status == 408:
        return "timeout"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "unavailable"
    return "invalid"


MODERATION_WORDS = (
    "moderation",
    "safety",
    "content policy",
    "policy",
    "nsfw",
    "inappropriate",
    "risk control",
)


def looks_like_moderation(text: str) -> bool:
    low = text.lower()
    return any(word in low for word in MODERATION_WORDS)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        with contextlib.suppress(ValueError):
            return max(0.0, float(ms) / 1000)
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


Classifier = Callable[["httpx.Response", str], Failure]


class ExpiredURL(Exception):
    """A download URL answered 401/403/404/410: re-poll the job for a fresh one."""


class Api:
    """One provider's HTTP client with retries that never resend a request blindly.

    `classify(response, op)` turns an error response into a `Failure`; `op` is "submit",
    "poll" or "download". A submit is retried only when the server turned it away unprocessed
    (429, 502, 503, or no connection); a GET is retried on any transient failure.
    """

    def __init__(
        self,
        ep: Endpoint,
        *,
        base_url: str,
        classify: Classifier,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        import httpx

        self.ep = ep
        self.classify = classify
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.sleep = sleep
        self._owns_client = client is None
        self.client = client or httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=dict(headers or {}),
            transport=transport,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            follow_redirects=True,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        op: str,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        model: str | None = None,
    ) -> httpx.Response:
        """Send, retrying what is safe to retry; raise `ProviderError` on any failure."""
        import httpx

        submit = op == "submit"
        retry_statuses = SUBMIT_RETRY_STATUSES if submit else IDEMPOTENT_RETRY_STATUSES
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.client.request(
                    method, url.lstrip("/"), json=json, params=params, headers=headers
                )
            except httpx.TimeoutException as exc:
                sent = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
                if submit and sent:
                    raise ProviderError(
                        f"{self.ep.label} did not answer the submit in time; the job may or may "
                        "not exist, so reconcile before sending it again",
                        retryable=True,
                        kind="timeout",
                    ) from exc
                failure = Failure("timeout", f"{type(exc).__name__} on {method} {url}")
            except httpx.TransportError as exc:
                sent = not isinstance(exc, httpx.ConnectError)
                if submit and sent:
                    raise ProviderError(
                        f"{self.ep.label} dropped the connection during submit ({exc}); the "
                        "job may or may not exist, so reconcile before sending it again",
                        retryable=True,
                        kind="timeout",
                    ) from exc
                failure = Failure("unavailable", f"cannot reach {self.ep.label}: {exc}")
            else:
                if response.is_success:
                    return response
                failure = self.classify(response, op)
                if response.status_code not in retry_statuses or failure.kind not in RETRYABLE:
                    raise provider_error(self.ep, failure, model=model)
            wait = failure.retry_after_s
            if wait is None:
                wait = self.backoff_s * 2 ** (attempt - 1)
            if attempt > self.max_retries or wait > MAX_INLINE_WAIT_S:
                raise provider_error(self.ep, failure, model=model)
            log.info(
                "%s %s %s: %s; retrying in %.1fs", self.ep.provider, method, url, failure, wait
            )
            await self.sleep(wait)

    async def download(
        self,
        url: str,
        dest: Path,
        *,
        max_bytes: int,
        headers: Mapping[str, str] | None = None,
        send_auth: bool = False,
    ) -> Path:
        """Stream `url` to `dest` (atomically). CDN URLs get no API credentials unless
        `send_auth`. Raises `ExpiredURL` when the URL is no longer valid."""
        import httpx

        hdrs = dict(headers or {})
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.{os.getpid()}.part")
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._stream(url, part, dest, hdrs, max_bytes, send_auth)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                failure = Failure("unavailable", f"download interrupted: {exc}")
            except _RetryableStatus as exc:
                failure = exc.failure
            finally:
                with contextlib.suppress(FileNotFoundError):
                    part.unlink()
            wait = failure.retry_after_s or self.backoff_s * 2 ** (attempt - 1)
            if attempt > self.max_retries or wait > MAX_INLINE_WAIT_S:
                raise provider_error(self.ep, failure)
            await self.sleep(wait)

    async def _stream(
        self,
        url: str,
        part: Path,
        dest: Path,
        headers: dict[str, str],
        max_bytes: int,
        send_auth: bool,
    ) -> Path:
        request = self.client.build_request("GET", url, headers=headers)
        if not send_auth:  # signed CDN URLs must not receive the API key
            for name in AUTH_HEADERS:
                request.headers.pop(name, None)
        response = await self.client.send(request, stream=True)
        try:
            if response.status_code in (401, 403, 404, 410):
                raise ExpiredURL(f"{url} answered {response.status_code}")
            if not response.is_success:
                await response.aread()
                failure = self.classify(response, "download")
                if response.status_code in IDEMPOTENT_RETRY_STATUSES:
                    raise _RetryableStatus(failure)
                raise provider_error(self.ep, failure)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise ProviderError(
                    f"{self.ep.label} output is {int(declared) / 1e6:.0f} MB, over the "
                    f"{max_bytes / 1e6:.0f} MB cap (REELFORGE_DOWNLOAD_MAX_MB)"
                )
            size = 0
            with part.open("wb") as f:
                async for chunk in response.aiter_bytes(1 << 16):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ProviderError(
                            f"{self.ep.label} output exceeds the {max_bytes / 1e6:.0f} MB cap "
                            "(REELFORGE_DOWNLOAD_MAX_MB)"
                        )
                    f.write(chunk)
            if size == 0:
                raise _RetryableStatus(Failure("unavailable", "empty download"))
            if declared and declared.isdigit() and size != int(declared):
                raise _RetryableStatus(
                    Failure("unavailable", f"download truncated at {size} of {declared} bytes")
                )
            os.replace(part, dest)
            return dest
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()


def connect(
    ep: Endpoint,
    secret: SecretStr | None,
    *,
    base_url: str,
    classify: Classifier,
    auth: Callable[[str], dict[str, str]] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    client: httpx.AsyncClient | None = None,
    timeout_s: float = 60.0,
    sleep: Sleep | None = None,
) -> Api:
    """An adapter's `Api`: the key checked (missing: the error naming its variable) and turned
    into the provider's auth headers by `auth`."""
    if secret is None:
        raise missing_key(ep)
    return Api(
        ep,
        base_url=base_url,
        classify=classify,
        headers=auth(secret.get_secret_value()) if auth else None,
        transport=transport,
        client=client,
        timeout_s=timeout_s,
        sleep=sleep or asyncio.sleep,
    )


def download_limit(settings: Settings) -> int:
    return int(settings.download_max_mb * 1024 * 1024)


class _RetryableStatus(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


def json_or_text(response: httpx.Response) -> Any:
    """The body as JSON when it is JSON, else its text (error bodies vary)."""
    try:
        return response.json()
    except ValueError:
        return response.text


def data_uri(path: Path, *, max_bytes: int | None = None, label: str = "provider") -> str:
    """A reference image as a `data:` URI, checked against the provider's size limit."""
    import base64
    import mimetypes

    if not path.is_file():
        raise ProviderError(f"reference image {path} does not exist", kind="invalid")
    raw = path.read_bytes()
    if max_bytes is not None and len(raw) > max_bytes:
        raise ProviderError(
            f"reference image {path} is {len(raw) / 1e6:.1f} MB; {label} takes at most "
            f"{max_bytes / 1e6:.0f} MB (resize it)",
            kind="invalid",
        )
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(raw).decode()}"


class HttpVideoProvider:
    """What every HTTP video adapter shares: the profile from the catalogue and a download
    that re-polls the job once when its output URL has expired."""

    id: str = ""
    api: Api
    max_bytes: int = 2048 * 1024 * 1024
    send_auth_on_download = False

    def profile(self, model: str | None = None) -> CapabilityProfile:
        from tools.providers import registry

        return registry.default_profile(self.id, model)

    def model_name(self, request: GenerationRequest) -> str:
        return request.model or self.profile().model

    async def poll(self, job_id: str) -> JobStatus:
        raise NotImplementedError

    async def download(self, status: JobStatus, dest: Path) -> Path:
        if status.state != "succeeded" or not status.output_url:
            raise ProviderError(
                f"{self.api.ep.label} job {status.job_id} is {status.state}, not succeeded"
            )
        try:
            return await self.api.download(
                status.output_url,
                dest,
                max_bytes=self.max_bytes,
                send_auth=self.send_auth_on_download,
            )
        except ExpiredURL:
            log.info("%s output URL of %s expired; polling for a fresh one", self.id, status.job_id)
        fresh = await self.poll(status.job_id)
        if fresh.state != "succeeded" or not fresh.output_url:
            raise ProviderError(
                f"{self.api.ep.label} job {status.job_id} output is no longer available "
                f"({fresh.error or fresh.state}); render the take again"
            )
        try:
            return await self.api.download(
                fresh.output_url,
                dest,
                max_bytes=self.max_bytes,
                send_auth=self.send_auth_on_download,
            )
        except ExpiredURL as exc:
            raise ProviderError(
                f"{self.api.ep.label} job {status.job_id} output URL has expired and the provider "
                f"gave no fresh one ({exc}); render the take again"
            ) from exc

    async def aclose(self) -> None:
        await self.api.aclose()
