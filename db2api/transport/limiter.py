"""Adaptive concurrency: fewer requests in flight while the target says "slow down".

Additive increase, multiplicative decrease (AIMD, as TCP does): an overload signal
(429, 503, timeout) multiplies the limit by ``backoff``, at most once per round of
requests that were already in flight, so one burst of 429s does not collapse it;
every success adds ``1/limit``, about one more slot per round of successes.

The decrease is gentle (0.9, the default backoff ratio of Netflix's
concurrency-limits AIMDLimit) and the run sets a floor (half its concurrency): a
target that answers a steady share of random 429s, or a few requests that hang
until their timeout, cannot pin the limit near 1. Real overload is also answered
per document (``Retry-After``) and, when every request fails, by the breaker.

Waiters queue in order and a released slot is handed to exactly one of them, so
a request costs O(1) however many coroutines are waiting.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Limiter:
    def __init__(self, maximum: int, minimum: int = 1, backoff: float = 0.9) -> None:
        if maximum < 1:
            raise ValueError(f"concurrency must be at least 1 (got {maximum})")
        self.maximum = maximum
        self.minimum = min(minimum, maximum)
        self.backoff = backoff
        self.limit = float(maximum)
        self.in_flight = 0
        self.peak = 0
        self.decreases = 0
        self._sent = 0  # sequence number of the latest request let through
        self._last_cut = 0  # requests sent before this number predate the last cut
        self._waiters: deque[asyncio.Future[None]] = deque()

    def _take(self) -> int:
        self.in_flight += 1
        self._sent += 1
        self.peak = max(self.peak, self.in_flight)
        return self._sent

    def _wake(self) -> None:
        while self._waiters and self.in_flight < int(self.limit):
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1  # the slot is handed over, not raced for
                waiter.set_result(None)

    async def acquire(self) -> int:
        if not self._waiters and self.in_flight < int(self.limit):
            return self._take()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # woken and cancelled at once: give the slot back
            elif waiter in self._waiters:  # _wake drops cancelled waiters itself
                self._waiters.remove(waiter)
            raise
        self.in_flight -= 1  # _wake counted it; _take counts it again with a sequence
        return self._take()

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        """Hold one in-flight slot; yields the request's sequence number."""
        sequence = await self.acquire()
        try:
            yield sequence
        finally:
            self.release()

    def succeeded(self) -> None:
        if self.limit < self.maximum:
            self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            self._wake()

    def overloaded(self, sequence: int) -> None:
        if sequence <= self._last_cut:
            return  # this request was in flight before the last cut: same round
        self._last_cut = self._sent
        self.limit = max(float(self.minimum), self.limit * self.backoff)
        self.decreases += 1
