"""The outage breaker: progress resets the clock, failures in a row open it, one probe."""

from __future__ import annotations

import asyncio

import pytest

from db2api.errors import TargetUnavailable
from db2api.transport.breaker import Breaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, **changes) -> Breaker:
    settings = {"give_up_after": 60.0, "base_delay": 1.0, "opens_after": 3, **changes}
    return Breaker("http://es:9200", clock=clock, **settings)


def test_time_without_progress_is_the_budget_not_a_count():
    clock = Clock()
    b = breaker(clock)
    for _ in range(1000):  # any number of failures within the budget
        b.stalled("item 429")
    clock.now += 60
    b.check()  # exactly at the budget: still trying

    clock.now += 0.5
    with pytest.raises(TargetUnavailable) as caught:
        b.check()

    message = str(caught.value)
    assert message.startswith("target http://es:9200 unavailable since ")
    assert message.endswith(
        "(1000 requests failed: item 429 x1000; no progress for 60 s, the job's "
        "retry.give_up_after)"
    )


def test_progress_starts_the_clock_over():
    clock = Clock()
    b = breaker(clock)
    b.failed("503")
    clock.now += 59
    b.progressed()
    clock.now += 59
    b.check()
    b.failed("timeout")
    clock.now += 59
    b.check()
    assert b.failures == {"timeout": 1}


def test_failures_in_a_row_open_it_and_an_answer_closes_it():
    clock = Clock()
    b = breaker(clock)
    b.failed("503")
    b.answered()  # an answer between failures: not "every request fails"
    b.failed("503")
    b.failed("connection")
    assert not b.is_open
    b.failed("connection")
    assert b.is_open and b.opened == 1
    assert b.state().startswith("waiting for target since ")

    b.answered()
    assert not b.is_open and b.state().startswith("failing since ")
    b.progressed()
    assert b.state() == ""


async def test_while_open_only_one_probe_goes_out_on_backoff():
    clock = Clock()
    b = breaker(clock, base_delay=0.05)
    for _ in range(3):
        b.failed("connection")
    assert b.is_open

    waiting = [asyncio.create_task(b.admit()) for _ in range(5)]
    await asyncio.sleep(0.02)
    assert not any(task.done() for task in waiting), "held before the first probe is due"

    clock.now += 0.05
    await asyncio.sleep(0.05)
    probes = [task for task in waiting if task.done()]
    assert [task.result() for task in probes] == [True], "exactly one probe"

    b.failed("connection")  # a request sent before it opened: changes nothing
    clock.now += 0.05
    await asyncio.sleep(0.05)
    assert len([task for task in waiting if task.done()]) == 1, "still one probe out"

    b.failed("connection", probe=True)  # the probe failed: the next is due after a longer wait
    clock.now += 0.05
    await asyncio.sleep(0.05)
    assert len([task for task in waiting if task.done()]) == 1

    b.answered()  # the next probe got an answer: everyone goes
    await asyncio.wait_for(asyncio.gather(*waiting), 1)
    assert [task.result() for task in waiting].count(True) == 1


async def test_a_waiting_request_gives_up_with_the_target_when_the_budget_is_spent():
    clock = Clock()
    b = breaker(clock, give_up_after=10.0, base_delay=0.01)
    for _ in range(3):
        b.failed("503", retry_after=3600)  # the probe would not be due for an hour
    clock.now += 11

    with pytest.raises(TargetUnavailable):
        await asyncio.wait_for(b.admit(), 1)


def test_a_retry_after_stretches_the_wait_for_the_next_probe():
    clock = Clock()
    b = breaker(clock, base_delay=0.1)
    for _ in range(3):
        b.failed("429", retry_after=20)
    assert b._next_probe == clock.now + 20
