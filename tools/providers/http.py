"""HTTP plumbing shared by the real adapters: one client per adapter, the error taxonomy,
retries of requests that are safe to repeat, and streamed downloads with a size cap.

Job polling is not here: long jobs are waited on by `tools.providers.polling.wait_for_job`.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import html
import logging
import os
import re
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


MAX_DETAIL_CHARS = 300
MESSAGE_KEYS = ("message", "error", "detail", "msg", "title", "description", "failure", "reason")
CODE_KEYS = ("code", "status", "type")
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")
# What a crash reading a provider's body looks like; every adapter turns these into a ProviderError.
BODY_ERRORS = (KeyError, TypeError, AttributeError, ValueError, IndexError, RecursionError)


def one_line(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """`text` (HTML tags and control characters dropped) squeezed onto one short line."""
    if "<" in text and ">" in text:
        text = html.unescape(_TAGS.sub(" ", text))
    text = _SPACE.sub(" ", "".join(c if c.isprintable() else " " for c in text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_text(body: Any, *, _depth: int = 0) -> str:
    """The human message in any error body: `{"error": "..."}`, `{"error": {"message": ...}}`,
    `{"detail": [...]}`, a list, a string, HTML, a number or null. Never raises."""
    if _depth > 4 or body is None:
        return ""
    if isinstance(body, str):
        return one_line(body)
    if isinstance(body, bool | int | float):
        return str(body)
    if isinstance(body, dict):
        for key in MESSAGE_KEYS:
            text = error_text(body.get(key), _depth=_depth + 1)
            if text:
                return text
        return ""
    if isinstance(body, list):
        parts = [error_text(item, _depth=_depth + 1) for item in body[:5]]
        return one_line("; ".join(p for p in parts if p))
    return one_line(str(body))


def error_code(body: Any) -> str:
    """A provider's error code or status name, wherever its body keeps it ("" when none)."""
    if not isinstance(body, dict):
        return ""
    for holder in (body, body.get("error"), body.get("detail")):
        if isinstance(holder, dict):
            for key in CODE_KEYS:
                value = holder.get(key)
                if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
                    return str(value)
    return ""


def dig(obj: Any, *path: str | int) -> Any:
    """`obj[path[0]][path[1]]...`, or None where the body is not shaped that way."""
    for step in path:
        if isinstance(step, int) and isinstance(obj, list) and -len(obj) <= step < len(obj):
            obj = obj[step]
        elif isinstance(step, str) and isinstance(obj, dict):
            obj = obj.get(step)
        else:
            return None
    return obj


def error_message(ep: Endpoint, failure: Failure, *, model: str | None = None) -> str:
    """One actionable line per error kind."""
    detail = one_line(str(failure.detail)) or (f"HTTP {failure.status}" if failure.status else "")
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
                failure = self.read_failure(response, op)
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

    def read_failure(self, response: httpx.Response, op: str) -> Failure:
        """The adapter's reading of an error response; any body it cannot read (HTML, null,
        a list, truncated JSON, odd nesting) falls back to the status and the body's text."""
        try:
            failure = self.classify(response, op)
        except BODY_ERRORS as exc:
            log.debug("%s classify failed on %s: %r", self.ep.provider, response.status_code, exc)
            failure = Failure(
                kind_for_status(response.status_code),
                error_text(json_or_text(response)),
                response.status_code,
                retry_after(response.headers),
            )
        if not isinstance(failure.detail, str):
            failure = Failure(failure.kind, error_text(failure.detail), *_tail(failure))
        return failure

    def unreadable(self, op: str, what: str) -> ProviderError:
        """A 2xx answer we cannot read. After a submit the job may exist: an unknown outcome
        (reconcile, never resend); after a poll, asking again may help."""
        label = self.ep.label
        if op == "submit":
            return ProviderError(
                f"{label} accepted the submit but its answer could not be read ({what}); the "
                "job may or may not exist, so reconcile before sending it again",
                retryable=True,
                kind="timeout",
            )
        return ProviderError(
            f"{label} answered the {op} with a body that could not be read ({what}); "
            "try again later",
            retryable=True,
            kind="unavailable",
        )

    def json_object(self, response: httpx.Response, op: str) -> dict[str, Any]:
        """A success body that must be a JSON object."""
        body = json_or_text(response)
        if isinstance(body, dict):
            return body
        shown = error_text(body) or type(body).__name__
        raise self.unreadable(op, f"not a JSON object: {shown[:80]}")

    def field(self, response: httpx.Response, op: str, *path: str | int) -> str:
        """A required string (or number) at `path` of a success body, e.g. the job id."""
        value = dig(self.json_object(response, op), *path)
        if (
            isinstance(value, str)
            and value
            or isinstance(value, int)
            and not isinstance(value, bool)
        ):
            return str(value)
        raise self.unreadable(op, f"no {'.'.join(str(p) for p in path)} in the answer")

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
                failure = self.read_failure(response, "download")
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


def _tail(failure: Failure) -> tuple[int | None, float | None]:
    return failure.status, failure.retry_after_s


def json_or_text(response: httpx.Response) -> Any:
    """The body as JSON when it is JSON, else its text (error bodies vary). Never raises."""
    try:
        return response.json()
    except (ValueError, RecursionError):
        try:
            return response.text
        except (ValueError, LookupError):
            return ""


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


AsyncMethod = Callable[..., Awaitable[Any]]


def _guarded(method: AsyncMethod, op: str) -> AsyncMethod:
    @functools.wraps(method)
    async def guarded(self: HttpVideoProvider, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except ProviderError:
            raise
        except BODY_ERRORS as exc:
            raise self.api.unreadable(op, f"{type(exc).__name__}: {exc}") from exc

    return guarded


class HttpVideoProvider:
    """What every HTTP video adapter shares: the profile from the catalogue and a download
    that re-polls the job once when its output URL has expired.

    Every subclass's `submit`, `poll` and `reconcile` are guarded: a body the adapter cannot
    read ends in a `ProviderError` (after a submit, an unknown outcome), never a crash."""

    id: str = ""
    api: Api
    max_bytes: int = 2048 * 1024 * 1024
    send_auth_on_download = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, op in (("submit", "submit"), ("poll", "poll"), ("reconcile", "poll")):
            method = cls.__dict__.get(name)
            if method is not None:
                setattr(cls, name, _guarded(method, op))

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
