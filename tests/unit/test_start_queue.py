"""hubstead.hub.startqueue: a class's starts go a few at a time, in the order they came,
and nothing a start does (hang, be cancelled) keeps the others waiting for ever."""

import asyncio
import concurrent.futures

import pytest

from hubstead.hub.startqueue import StartQueue, waiting_message


def run(coroutine):
    # In a thread of its own: an event loop left running in this one (Playwright's, after
    # tests/browser) would make asyncio.run() refuse.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def class_at_once(queue, names, limit, work=0.02, **kwargs):
    """Every name starts at the same moment; returns (order admitted, most at once, places seen)."""
    admitted, inside, most, places = [], [0], [0], {}

    async def learner(name):
        def seen(ticket):
            places[name] = queue.ahead_of(ticket)

        async with queue.place(name, limit, on_ticket=seen, **kwargs):
            admitted.append(name)
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            await asyncio.sleep(work)
            inside[0] -= 1

    await asyncio.gather(*(learner(name) for name in names))
    return admitted, most[0], places


def test_a_class_starts_a_few_at_a_time_in_the_order_it_came():
    names = [f"learner{index}" for index in range(10)]
    admitted, most, places = run(class_at_once(StartQueue(), names, limit=3))
    assert admitted == names
    assert most == 3
    # Each was told, on arrival, how many came before and were still waiting.
    assert [places[name] for name in names] == [0, 0, 0, 0, 1, 2, 3, 4, 5, 6]


def test_the_queue_is_empty_once_everyone_has_started():
    queue = StartQueue()
    run(class_at_once(queue, [f"l{index}" for index in range(6)], limit=2))
    assert (queue.starting, queue.waiting) == (0, 0)


def test_a_start_that_hangs_keeps_its_place_only_for_a_while():
    """A server that never answers holds its place for hold_at_most, then the next goes."""

    async def scenario():
        queue, order = StartQueue(), []

        async def hanging():
            async with queue.place("hangs", 1, hold_at_most=0.1):
                order.append("hangs")
                await asyncio.sleep(5)

        async def next_one():
            await asyncio.sleep(0.01)
            async with queue.place("next", 1, hold_at_most=0.1):
                order.append("next")

        stuck = asyncio.ensure_future(hanging())
        await asyncio.wait_for(next_one(), timeout=2)
        stuck.cancel()
        return order

    assert run(scenario()) == ["hangs", "next"]


def test_a_start_cancelled_while_waiting_leaves_the_queue():
    """The hub's start_timeout (asyncio.wait_for) or a stop during a pending spawn
    cancels the start: its place goes to the one after it."""

    async def scenario():
        queue = StartQueue()
        release = asyncio.Event()
        order = []

        async def first():
            async with queue.place("first", 1):
                order.append("first")
                await release.wait()

        async def waiter(name):
            async with queue.place(name, 1):
                order.append(name)

        holding = asyncio.ensure_future(first())
        await asyncio.sleep(0.01)
        cancelled = asyncio.ensure_future(waiter("cancelled"))
        await asyncio.sleep(0.01)
        later = asyncio.ensure_future(waiter("later"))
        await asyncio.sleep(0.01)
        assert queue.waiting == 2
        cancelled.cancel()
        await asyncio.sleep(0.01)
        assert queue.waiting == 1
        release.set()
        await asyncio.wait_for(asyncio.gather(holding, later), timeout=2)
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        return order, queue.starting, queue.waiting

    assert run(scenario()) == (["first", "later"], 0, 0)


def test_a_failed_start_gives_its_place_to_the_next():
    async def scenario():
        queue = StartQueue()

        async def failing():
            async with queue.place("fails", 1):
                raise RuntimeError("the server stopped before it answered")

        async def next_one():
            async with queue.place("next", 1):
                return "started"

        results = await asyncio.wait_for(asyncio.gather(failing(), next_one(), return_exceptions=True), timeout=2)
        return [type(result).__name__ if isinstance(result, Exception) else result for result in results]

    assert run(scenario()) == ["RuntimeError", "started"]


def test_the_message_tells_a_learner_her_place_and_that_she_need_do_nothing():
    assert "12 learners are ahead of you" in waiting_message(12)
    assert "1 learner is ahead of you" in waiting_message(1)
    assert "next" in waiting_message(0)
    assert "by itself" in waiting_message(3) and "by itself" in waiting_message(0)
