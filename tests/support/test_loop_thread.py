"""A loop on a thread of its own: results, errors and cancellation cross back; the event bus calls each
subscriber on its own thread, in order."""

from __future__ import annotations

import asyncio
import threading

import pytest

from app.services.bus import DeliveriesQueued, EventBus
from app.support.loop_thread import LoopThread


@pytest.fixture
def work() -> object:
    thread = LoopThread("test-work")
    thread.start()
    yield thread
    thread.stop()


async def test_a_coroutine_runs_on_the_thread_and_its_result_or_error_comes_back(work: LoopThread) -> None:
    async def where() -> str:
        await asyncio.sleep(0)
        return threading.current_thread().name

    async def fails() -> None:
        raise ValueError("refused")

    assert await work.run(where()) == "test-work"
    with pytest.raises(ValueError, match="refused"):
        await work.run(fails())


async def test_cancelling_the_caller_cancels_the_coroutine_there(work: LoopThread) -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def waits() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    caller = asyncio.ensure_future(work.run(waits()))
    await asyncio.to_thread(started.wait, 5)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert await asyncio.to_thread(cancelled.wait, 5)


def test_stop_cancels_what_still_runs_there_and_ends_the_thread() -> None:
    thread = LoopThread("test-stop")
    thread.start()
    started, cancelled = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    asyncio.run_coroutine_threadsafe(forever(), thread.loop)
    assert started.wait(5)
    thread.stop()
    assert cancelled.is_set()
    assert thread.loop.is_closed()
    thread.stop()  # again: nothing to do


async def test_the_bus_calls_a_subscriber_on_its_own_loop_in_order_and_at_once_on_its_own_thread(
    work: LoopThread,
) -> None:
    bus = EventBus()
    seen: list[tuple[int, str]] = []
    all_in = threading.Event()

    def on_work_thread(event: DeliveriesQueued) -> None:
        seen.append((event.count, threading.current_thread().name))
        if event.count == 3:
            all_in.set()

    async def subscribe() -> None:
        bus.subscribe(DeliveriesQueued, on_work_thread)

    await work.run(subscribe())
    here: list[int] = []
    bus.subscribe(DeliveriesQueued, lambda event: here.append(event.count))
    for count in (1, 2, 3):
        bus.publish(DeliveriesQueued(count))
    assert here == [1, 2, 3]  # this thread's subscriber: called during publish
    assert await asyncio.to_thread(all_in.wait, 5)
    assert seen == [(1, "test-work"), (2, "test-work"), (3, "test-work")]


def test_an_event_for_a_subscriber_whose_loop_has_closed_is_dropped() -> None:
    bus = EventBus()
    thread = LoopThread("test-closed")
    thread.start()
    got: list[int] = []

    async def subscribe() -> None:
        bus.subscribe(DeliveriesQueued, lambda event: got.append(event.count))

    asyncio.run_coroutine_threadsafe(subscribe(), thread.loop).result(5)
    thread.stop()
    bus.publish(DeliveriesQueued(1))  # neither raises nor calls it here
    assert got == []
