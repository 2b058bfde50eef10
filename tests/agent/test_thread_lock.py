"""One per-thread lock (ChatRuntime's): a front end may hold it around a whole job while the turn
inside takes it again, and another task of the same thread waits for both."""

from __future__ import annotations

import asyncio

from agent.runtime import ThreadLock


def test_the_thread_lock_is_reentrant_in_a_task_and_exclusive_across_tasks() -> None:
    order: list[str] = []

    async def job(name: str, lock: ThreadLock) -> None:
        async with lock:
            order.append(f"{name} job")
            async with lock:  # the turn inside the job: no deadlock
                await asyncio.sleep(0.01)
                order.append(f"{name} turn")
            order.append(f"{name} posted")

    async def run() -> None:
        lock = ThreadLock()
        await asyncio.gather(job("a", lock), job("b", lock))

    asyncio.run(asyncio.wait_for(run(), 5))
    assert order == ["a job", "a turn", "a posted", "b job", "b turn", "b posted"]


def test_the_slack_worker_keeps_no_lock_of_its_own() -> None:
    import inspect

    from agent.slack import worker

    assert "asyncio.Lock" not in inspect.getsource(worker)
