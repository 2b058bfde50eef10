"""Every video adapter against the sandbox: generations, references, and each fault."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.providers.conftest import FakeSleep, is_mp4
from tools.providers import kling, luma, pika, runway, veo
from tools.providers.base import GenerationRequest, JobStatus, ProviderError, Reconcilable
from tools.providers.http import HttpVideoProvider
from tools.providers.polling import wait_for_job
from tools.providers.sandbox import Sandbox
from tools.settings import Settings

PROVIDERS = ["runway", "luma", "veo", "kling", "pika"]
CLASSES: dict[str, type[HttpVideoProvider]] = {
    "runway": runway.RunwayProvider,
    "luma": luma.LumaProvider,
    "veo": veo.VeoProvider,
    "kling": kling.KlingProvider,
    "pika": pika.PikaProvider,
}
MODELS = {"veo": "veo-3.1-generate-preview"}  # retired in the catalogue, live in the sandbox
SANDBOX_ID = {"pika": "fal"}
KEY_ENV = {
    "runway": "RUNWAYML_API_SECRET",
    "luma": "LUMAAI_API_KEY",
    "veo": "GEMINI_API_KEY",
    "kling": "KLING_SECRET_KEY",
    "pika": "FAL_KEY",
}


def make(pid: str, settings: Settings, **kwargs: Any) -> Any:
    return CLASSES[pid](settings, **kwargs)


def request(pid: str, **kwargs: Any) -> GenerationRequest:
    base: dict[str, Any] = {
        "prompt": "a lighthouse at dusk, slow push in",
        "duration": 5,
        "aspect": "16:9",
        "model": MODELS.get(pid),
    }
    return GenerationRequest(**{**base, **kwargs})


def sid(pid: str) -> str:
    return SANDBOX_ID.get(pid, pid)


def sandbox_job(sandbox: Sandbox, job_id: str) -> Any:
    return sandbox.state.jobs[job_id.rsplit("/", 1)[-1]]


async def finish(provider: Any, job_id: str) -> JobStatus:
    return await wait_for_job(provider, job_id, interval_s=0.02, backoff=1.0, timeout_s=20)


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_text_to_video_walks_the_lifecycle_and_downloads_a_real_clip(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings, tmp_path: Path
) -> None:
    sandbox.state.latency = 0.15
    provider = make(pid, sandbox_settings)
    seen: list[str] = []
    try:
        job_id = await provider.submit(request(pid))
        status = await wait_for_job(
            provider, job_id, interval_s=0.02, backoff=1.0, on_status=lambda s: seen.append(s.state)
        )
        assert status.state == "succeeded", status
        out = await provider.download(status, tmp_path / "take.mp4")
    finally:
        await provider.aclose()
    assert is_mp4(out)
    assert seen[-1] == "succeeded" and set(seen[:-1]) & {"queued", "running"}
    assert sandbox.stats()["submissions"] == {sid(pid): 1}


@pytest.mark.parametrize("pid", ["runway", "veo", "kling", "pika"])
async def test_image_to_video_sends_the_reference_the_way_the_api_wants(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings, ref_image: Path, tmp_path: Path
) -> None:
    provider = make(pid, sandbox_settings)
    try:
        job_id = await provider.submit(request(pid, reference_images=[ref_image]))
        status = await finish(provider, job_id)
        assert is_mp4(await provider.download(status, tmp_path / "i2v.mp4"))
    finally:
        await provider.aclose()
    sent = sandbox_job(sandbox, job_id).request
    if pid == "runway":
        assert sent["promptImage"].startswith("data:image/png;base64,")
    elif pid == "veo":
        assert sent["instances"][0]["image"]["mimeType"] == "image/png"
    elif pid == "kling":
        assert job_id.startswith("image2video/") and not sent["image"].startswith("data:")
    else:
        assert sent["image_url"].startswith("data:image/png;base64,")


async def test_runway_veo_and_kling_take_a_last_frame(
    sandbox: Sandbox, sandbox_settings: Settings, ref_image: Path, ref_image_2: Path
) -> None:
    refs = [ref_image, ref_image_2]
    rw = make("runway", sandbox_settings)
    kl = make("kling", sandbox_settings)
    try:
        rw_id = await rw.submit(request("runway", model="veo3.1", reference_images=refs))
        kl_id = await kl.submit(request("kling", reference_images=refs))
    finally:
        await rw.aclose()
        await kl.aclose()
    assert [p["position"] for p in sandbox_job(sandbox, rw_id).request["promptImage"]] == [
        "first",
        "last",
    ]
    assert "image_tail" in sandbox_job(sandbox, kl_id).request


async def test_luma_publishes_keyframes_through_the_image_host_it_is_given(
    sandbox: Sandbox, sandbox_settings: Settings, ref_image: Path
) -> None:
    published: list[Path] = []

    async def host(path: Path) -> str:
        published.append(path)
        return f"https://cdn.example.com/{path.name}"

    provider = luma.LumaProvider(sandbox_settings, image_url=host)
    bare = luma.LumaProvider(sandbox_settings)
    try:
        job_id = await provider.submit(request("luma", reference_images=[ref_image]))
        with pytest.raises(ProviderError, match="public URLs") as exc:
            await bare.submit(request("luma", reference_images=[ref_image]))
    finally:
        await provider.aclose()
        await bare.aclose()
    frame0 = sandbox_job(sandbox, job_id).request["keyframes"]["frame0"]
    assert frame0 == {"type": "image", "url": "https://cdn.example.com/ref.png"}
    assert published == [ref_image] and exc.value.kind == "invalid"


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_rate_limit_waits_as_told_then_submits_once(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings, fake_sleep: FakeSleep
) -> None:
    sandbox.fault(sid(pid), "rate_limit", retry_after=7)
    provider = make(pid, sandbox_settings, sleep=fake_sleep)
    try:
        job_id = await provider.submit(request(pid))
    finally:
        await provider.aclose()
    assert fake_sleep.waits == [7.0]
    assert job_id and sandbox.stats()["submissions"] == {sid(pid): 1}


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_a_long_rate_limit_is_handed_back_with_the_wait(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings, fake_sleep: FakeSleep
) -> None:
    sandbox.fault(sid(pid), "rate_limit", retry_after=300)
    provider = make(pid, sandbox_settings, sleep=fake_sleep)
    try:
        with pytest.raises(ProviderError) as exc:
            await provider.submit(request(pid))
    finally:
        await provider.aclose()
    err = exc.value
    assert err.kind == "rate_limited" and err.retryable and err.retry_after_s == 300
    assert "rate limiting" in str(err) and fake_sleep.waits == []


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_overloaded_then_success_and_poll_errors_are_retried(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings, fake_sleep: FakeSleep
) -> None:
    sandbox.fault(sid(pid), "server_error", status=503)
    sandbox.fault(sid(pid), "server_error", status=500, on="poll")
    provider = make(pid, sandbox_settings, sleep=fake_sleep)
    try:
        status = await finish(provider, await provider.submit(request(pid)))
    finally:
        await provider.aclose()
    assert status.state == "succeeded" and len(fake_sleep.waits) == 2
    assert sandbox.stats()["submissions"] == {sid(pid): 1}


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_a_500_on_submit_is_not_resent_blindly_and_says_so(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings, fake_sleep: FakeSleep
) -> None:
    sandbox.fault(sid(pid), "server_error", status=500, times=-1)
    provider = make(pid, sandbox_settings, sleep=fake_sleep)
    try:
        with pytest.raises(ProviderError) as exc:
            await provider.submit(request(pid))
    finally:
        await provider.aclose()
    assert exc.value.kind == "unavailable" and exc.value.retryable
    assert "down or overloaded" in str(exc.value) and "\n" not in str(exc.value)
    assert sandbox.stats()["rejected"] == {sid(pid): 1} and fake_sleep.waits == []


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_failed_job_carries_the_providers_reason(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    sandbox.fault(sid(pid), "fail", reason="GPU node fell over")
    provider = make(pid, sandbox_settings)
    try:
        status = await finish(provider, await provider.submit(request(pid)))
    finally:
        await provider.aclose()
    assert status.state == "failed" and status.error_kind == "failed"
    assert status.error is not None and "GPU node fell over" in status.error


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_moderation_refusal_suggests_a_prompt_change_or_another_model(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    sandbox.fault(sid(pid), "moderation")
    provider = make(pid, sandbox_settings)
    try:
        status = await finish(provider, await provider.submit(request(pid)))
    finally:
        await provider.aclose()
    assert status.state == "failed" and status.error_kind == "moderation"
    assert status.error is not None
    assert "rephrase" in status.error and "another model" in status.error


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_expired_output_url_is_refetched_by_polling_again(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings, tmp_path: Path
) -> None:
    sandbox.fault(sid(pid), "expire_url")
    provider = make(pid, sandbox_settings)
    try:
        job_id = await provider.submit(request(pid))
        status = await finish(provider, job_id)
        out = await provider.download(status, tmp_path / "take.mp4")
    finally:
        await provider.aclose()
    assert is_mp4(out) and sandbox_job(sandbox, job_id).url_gen == 1


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_retired_model_is_named_and_marked_for_fallback(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    sandbox.fault(sid(pid), "retired")
    provider = make(pid, sandbox_settings)
    try:
        with pytest.raises(ProviderError) as exc:
            await provider.submit(request(pid))
    finally:
        await provider.aclose()
    assert exc.value.kind == "retired" and not exc.value.retryable
    assert "pick another model or provider" in str(exc.value)


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_out_of_credits_says_so(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings, fake_sleep: FakeSleep
) -> None:
    sandbox.fault(sid(pid), "out_of_credits")
    provider = make(pid, sandbox_settings, sleep=fake_sleep)
    try:
        with pytest.raises(ProviderError) as exc:
            await provider.submit(request(pid))
    finally:
        await provider.aclose()
    assert exc.value.kind == "credits" and "out of credits" in str(exc.value)
    assert fake_sleep.waits == []


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_a_rejected_key_names_the_env_var(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV[pid], "bad")
    provider = make(pid, Settings(data_dir=sandbox_settings.data_dir))
    try:
        with pytest.raises(ProviderError) as exc:
            await provider.submit(request(pid))
    finally:
        await provider.aclose()
    assert exc.value.kind == "auth" and KEY_ENV[pid] in str(exc.value)


@pytest.mark.parametrize("pid", PROVIDERS)
def test_a_missing_key_names_the_env_var(pid: str, settings: Settings) -> None:
    with pytest.raises(ProviderError, match=KEY_ENV[pid]):
        make(pid, settings)


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_submit_timeout_is_reported_as_unknown_outcome_not_resent(
    pid: str, sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    sandbox.fault(sid(pid), "hang", seconds=0.6)
    provider = make(pid, sandbox_settings, timeout_s=0.15)
    try:
        with pytest.raises(ProviderError) as exc:
            await provider.submit(request(pid))
    finally:
        await provider.aclose()
    assert exc.value.kind == "timeout" and "reconcile" in str(exc.value)
    await asyncio.sleep(0.7)  # the provider went on to create the job it never confirmed
    assert sandbox.stats()["submissions"] == {sid(pid): 1}


async def test_kling_reconciles_a_lost_submit_by_external_task_id(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    sandbox.fault("kling", "hang", seconds=0.5)
    provider = kling.KlingProvider(sandbox_settings, timeout_s=0.15)
    take = request("kling", idempotency_key="project-1/shot-2/take-3")
    try:
        assert isinstance(provider, Reconcilable)
        assert await provider.reconcile(take) is None
        with pytest.raises(ProviderError, match="reconcile"):
            await provider.submit(take)
        await asyncio.sleep(0.6)
        found = await provider.reconcile(take)
        again = await provider.submit(take)  # a blind resend adopts the same task
    finally:
        await provider.aclose()
    assert found is not None and again == found
    assert sandbox.stats()["submissions"] == {"kling": 1}
    sent = sandbox_job(sandbox, found).request
    assert sent["external_task_id"] == kling.external_task_id("project-1/shot-2/take-3")


def test_kling_signs_a_jwt_from_access_and_secret_keys(sandbox_settings: Settings) -> None:
    import jwt

    provider = kling.KlingProvider(sandbox_settings)
    token = provider.token(now=1_000_000.0)
    secret = sandbox_settings.kling_secret_key
    assert secret is not None
    claims = jwt.decode(
        token,
        secret.get_secret_value(),
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_nbf": False},
    )
    assert claims == {"iss": "sandbox", "exp": 1_001_800, "nbf": 999_995}
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}


async def test_download_over_the_size_cap_is_refused(
    sandbox: Sandbox, sandbox_settings: Settings, tmp_path: Path
) -> None:
    provider = runway.RunwayProvider(sandbox_settings)
    provider.max_bytes = 1000
    try:
        status = await finish(provider, await provider.submit(request("runway")))
        with pytest.raises(ProviderError, match="cap"):
            await provider.download(status, tmp_path / "big.mp4")
    finally:
        await provider.aclose()
    assert list(tmp_path.glob("*big*")) == []


async def test_resume_in_a_new_process_polls_and_downloads_by_job_id(
    sandbox: Sandbox, sandbox_settings: Settings, tmp_path: Path
) -> None:
    """Poll and download need only the job id: a fresh adapter finishes a take it never saw."""
    for pid in PROVIDERS:
        first = make(pid, sandbox_settings)
        job_id = await first.submit(request(pid))
        await first.aclose()
        second = make(pid, sandbox_settings)
        try:
            status = await finish(second, job_id)
            assert is_mp4(await second.download(status, tmp_path / f"{pid}.mp4"))
        finally:
            await second.aclose()
    assert sum(sandbox.stats()["submissions"].values()) == len(PROVIDERS)
