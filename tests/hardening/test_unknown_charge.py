"""A submit whose answer was lost keeps its price in the ledger (`unknown`) until reconciled:
found -> charged (`submit`), surely refused -> refunded (`refused`, not counted)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from memory.models import TakeStatus
from memory.store import ProjectStore
from tests.hardening.conftest import adapter_kwargs, project, shot
from tools.providers import kling, runway
from tools.providers.registry import Registry, default_profile
from tools.settings import Settings
from tools.takes import generate_takes, request_for, unreconciled_takes


def _price(pid: str) -> float:
    profile = default_profile(pid)
    return profile.price(request_for(shot(pid), 1).duration)


def _run(settings: Settings, store: ProjectStore, pid: str, handler: Any, **kw: Any) -> str:
    project_id = kw.pop("project_id", None) or project(store)
    cls = {"runway": runway.RunwayProvider, "kling": kling.KlingProvider}[pid]
    registry = Registry(settings, {pid: lambda s: cls(s, **adapter_kwargs(handler))})

    async def go() -> None:
        await generate_takes(
            project_id,
            [shot(pid)],
            1,
            store=store,
            registry=registry,
            take_dir=settings.media_dir / "takes",
            sleep=adapter_kwargs(handler)["sleep"],
            max_attempts=1,
            **kw,
        )
        await registry.aclose()

    asyncio.run(go())
    return project_id


def _kinds(store: ProjectStore, project_id: str) -> list[str]:
    return [e.kind for e in store.spend(project_id)]


def test_a_lost_answer_keeps_its_charge_and_is_named(keyed_settings: Settings) -> None:
    accepted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        accepted.append(request.url.path)  # the provider took it (and charged)...
        raise httpx.ReadTimeout("answer lost", request=request)  # ...the answer never came

    store = ProjectStore(keyed_settings.db_path)
    pid = _run(keyed_settings, store, "runway", handler)
    assert len(accepted) == 1
    (take,) = store.takes(pid)
    assert take.status is TakeStatus.UNKNOWN
    assert store.total_spend(pid) == pytest.approx(_price("runway"))  # was $0 before
    assert _kinds(store, pid) == ["unknown"]
    (left,) = unreconciled_takes(store, pid)
    assert (left.take_id, left.shot_id, left.provider) == (take.id, "1.1", "runway")
    assert "NOT resubmitted" in left.why and left.held_usd == pytest.approx(_price("runway"))

    # resume (no new submit): the charge stays, counted once
    _run(keyed_settings, store, "runway", handler, project_id=pid)
    assert len(accepted) == 1
    assert store.total_spend(pid) == pytest.approx(_price("runway"))


def _kling(found: bool) -> tuple[Any, list[str]]:
    created: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            created.append(json.loads(request.content)["external_task_id"])
            raise httpx.ReadTimeout("answer lost", request=request)
        if not found:
            return httpx.Response(404, json={"code": 1203, "message": "task not found"})
        task = {"task_id": "t1", "task_status": "failed", "task_status_msg": "gone"}
        return httpx.Response(200, json={"code": 0, "data": task})

    return handler, created


def test_a_lost_answer_found_by_reconciliation_is_charged_once(keyed_settings: Settings) -> None:
    handler, created = _kling(found=True)
    store = ProjectStore(keyed_settings.db_path)
    pid = _run(keyed_settings, store, "kling", handler, poll_interval_s=None)
    assert len(created) == 1
    (take,) = store.takes(pid)
    assert take.job_id == "text2video/t1"
    assert _kinds(store, pid) == ["submit"]
    assert store.total_spend(pid) == pytest.approx(_price("kling"))
    assert unreconciled_takes(store, pid) == []


def test_a_lost_answer_not_found_keeps_the_hold(keyed_settings: Settings) -> None:
    handler, created = _kling(found=False)
    store = ProjectStore(keyed_settings.db_path)
    pid = _run(keyed_settings, store, "kling", handler)
    assert _kinds(store, pid) == ["unknown"]
    assert store.total_spend(pid) == pytest.approx(_price("kling"))
    assert [u.provider for u in unreconciled_takes(store, pid)] == ["kling"]


def test_a_sure_refusal_is_refunded(keyed_settings: Settings) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "promptText is too long"})

    store = ProjectStore(keyed_settings.db_path)
    pid = _run(keyed_settings, store, "runway", handler)
    (take,) = store.takes(pid)
    assert take.status is TakeStatus.FAILED
    assert _kinds(store, pid) == ["refused"]
    assert store.total_spend(pid) == 0
    assert unreconciled_takes(store, pid) == []
