"""Adaptive concurrency: slots, multiplicative decrease once per round, additive increase."""

from __future__ import annotations

import asyncio

import pytest

from db2api.transport.limiter import Limiter


async def settle() -> None:
    """Let every runnable task run until it blocks (no wall-clock waiting)."""
    for _ in range(20):
        await asyncio.sleep(0)


class Holders:
    """Tasks that take a slot each and keep it until released one by one."""

    def __init__(self, limiter: Limiter, count: int) -> None:
        self.limiter = limiter
        self.inside: list[int] = []
        self.sequences: dict[int, int] = {}
        self.releases = [asyncio.Event() for _ in range(count)]
        self.tasks = [asyncio.create_task(self._hold(i)) for i in range(count)]

    async def _hold(self, i: int) -> None:
        async with self.limiter.slot() as sequence:
            self.inside.append(i)
            self.sequences[i] = sequence
            await self.releases[i].wait()
            self.inside.remove(i)

    async def release(self, *indexes: int) -> None:
        for i in indexes:
            self.releases[i].set()
        await settle()

    async def finish(self) -> None:
        for event in self.releases:
            event.set()
        await asyncio.gather(*self.tasks)


@pytest.mark.parametrize("maximum", [1, 3, 5])
async def test_at_most_limit_holders_at_once(maximum):
    limiter = Limiter(maximum)
    holders = Holders(limiter, maximum + 4)

    await settle()
    assert len(holders.inside) == maximum
    assert limiter.in_flight == maximum

    # Each release lets exactly one waiter in.
    await holders.release(holders.inside[0])
    assert len(holders.inside) == maximum
    assert sorted(holders.sequences.values()) == list(range(1, maximum + 2))

    await holders.finish()
    assert limiter.in_flight == 0
    assert limiter.peak == maximum
    assert sorted(holders.sequences.values()) == list(range(1, maximum + 5))


async def test_peak_records_the_most_in_flight():
    limiter = Limiter(8)
    first = Holders(limiter, 3)
    await settle()
    await first.finish()
    second = Holders(limiter, 2)
    await settle()
    await second.finish()

    assert limiter.peak == 3
    assert limiter.in_flight == 0


async def test_a_lower_limit_holds_new_requests_until_enough_finish():
    limiter = Limiter(4, backoff=0.5)
    holders = Holders(limiter, 6)
    await settle()
    assert holders.inside == [0, 1, 2, 3]

    limiter.overloaded(holders.sequences[0])  # 4 -> 2
    await holders.release(0, 1)
    assert holders.inside == [2, 3]  # still 2 in flight: nobody new gets in
    await holders.release(2)
    assert holders.inside == [3, 4]

    await holders.finish()


async def test_overload_cuts_once_per_round_of_in_flight_requests():
    limiter = Limiter(16, backoff=0.5)
    round_one = Holders(limiter, 16)
    await settle()
    sent_before_cut = [round_one.sequences[i] for i in range(16)]

    limiter.overloaded(sent_before_cut[0])
    assert limiter.limit == 8
    # Every other request of the same burst was sent before the cut: no further cut.
    for sequence in sent_before_cut[1:]:
        limiter.overloaded(sequence)
    assert limiter.limit == 8
    assert limiter.decreases == 1
    await round_one.finish()

    # A request sent after the cut belongs to a new round and may cut again.
    round_two = Holders(limiter, 2)
    await settle()
    limiter.overloaded(round_two.sequences[0])
    limiter.overloaded(round_two.sequences[1])
    assert limiter.limit == 4
    assert limiter.decreases == 2
    await round_two.finish()


@pytest.mark.parametrize(
    ("maximum", "minimum", "limits"),
    [
        (16, 1, [8, 4, 2, 1, 1, 1]),
        (10, 1, [5, 2.5, 1.25, 1, 1, 1]),
        (8, 3, [4, 3, 3, 3, 3, 3]),
        (2, 5, [2, 2, 2, 2, 2, 2]),  # a minimum above the maximum is the maximum
    ],
)
async def test_overload_never_goes_below_the_minimum(maximum, minimum, limits):
    limiter = Limiter(maximum, minimum, backoff=0.5)

    seen = []
    for _ in limits:
        async with limiter.slot() as sequence:
            limiter.overloaded(sequence)
        seen.append(limiter.limit)

    assert seen == limits


def test_success_adds_one_over_the_limit_up_to_the_maximum():
    limiter = Limiter(4, backoff=0.5)
    limiter.limit = 2.0

    steps = []
    for _ in range(6):
        limiter.succeeded()
        steps.append(round(limiter.limit, 6))

    assert steps[:3] == [2.5, 2.9, round(2.9 + 1 / 2.9, 6)]
    assert steps[-1] == 4.0
    assert all(step <= 4.0 for step in steps)
    assert steps == sorted(steps)


def test_success_at_the_maximum_stays_there():
    limiter = Limiter(3)

    for _ in range(10):
        limiter.succeeded()

    assert limiter.limit == 3.0


@pytest.mark.parametrize("maximum", [0, -1])
def test_a_maximum_below_one_is_refused(maximum):
    with pytest.raises(ValueError, match=rf"concurrency must be at least 1 \(got {maximum}\)"):
        Limiter(maximum)


async def test_a_released_slot_goes_to_the_longest_waiting_request():
    limiter = Limiter(1)
    order: list[str] = []
    first = await limiter.acquire()
    assert first == 1

    async def wait(name: str) -> None:
        async with limiter.slot():
            order.append(name)

    tasks = [asyncio.create_task(wait(name)) for name in ("a", "b", "c")]
    await asyncio.sleep(0)
    limiter.release()
    await asyncio.gather(*tasks)

    assert order == ["a", "b", "c"] and limiter.in_flight == 0


async def test_a_cancelled_waiter_does_not_leak_its_slot():
    limiter = Limiter(1)
    await limiter.acquire()
    waiting = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    limiter.release()

    assert limiter.in_flight == 0
    assert await asyncio.wait_for(limiter.acquire(), 1) > 0 and limiter.in_flight == 1


async def test_growing_the_limit_lets_waiters_in():
    limiter = Limiter(4, backoff=0.5)
    limiter.limit = 1.0
    await limiter.acquire()
    waiting = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    assert not waiting.done()

    limiter.succeeded()  # 1 + 1/1 = 2 slots

    await asyncio.wait_for(waiting, 1)
    assert limiter.in_flight == 2


def test_the_default_decrease_is_gentle():
    limiter = Limiter(100)
    limiter.overloaded(limiter._take())
    assert limiter.limit == 90


async def test_a_steady_share_of_random_429s_keeps_the_limit_at_or_above_the_floor():
    """20 % of answers overloaded, at random, round after round: the floor holds."""
    import random

    rng = random.Random(7)
    limiter = Limiter(64, minimum=32)
    lowest = limiter.limit
    for _ in range(200):  # rounds
        sequences = [limiter._take() for _ in range(int(limiter.limit))]
        for sequence in sequences:
            limiter.in_flight -= 1
            if rng.random() < 0.2:
                limiter.overloaded(sequence)
            else:
                limiter.succeeded()
        lowest = min(lowest, limiter.limit)
    assert 32 <= lowest < 34, "held at the floor, not below it"
    assert limiter.decreases > 10
