"""Adaptive concurrency: fewer requests in flight while the target says "slow down".

Additive increase, multiplicative decrease (as TCP does): every overload signal
(429, 503, timeout) halves the limit, but at most once per round of requests that
were already in flight, so one burst of 429s does not collapse it to 1; every
success adds ``1/limit``, about one more slot per round of successes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Limiter:
    def __init__(self, maximum: int, minimum: int = 1) -> None:
        if maximum < 1:
            raise ValueError(f"concurrency must be at least 1 (got {maximum})")
        self.maximum = maximum
        self.minimum = min(minimum, maximum)
        self.limit = float(maximum)
        self.in_flight = 0
        self.peak = 0
        self.decreases = 0
        self._sent = 0  # sequence number of the latest request let through
        self._last_cut = 0  # requests sent before this number predate the last cut
        self._ready = asyncio.Condition()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        """Hold one in-flight slot; yields the request's sequence number."""
        async with self._ready:
            await self._ready.wait_for(lambda: self.in_flight < int(self.limit))
            self.in_flight += 1
            self._sent += 1
            sequence = self._sent
            self.peak = max(self.peak, self.in_flight)
        try:
            yield sequence
        finally:
            async with self._ready:
                self.in_flight -= 1
                self._ready.notify_all()

    def succeeded(self) -> None:
        self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)

    def overloaded(self, sequence: int) -> None:
        if sequence <= self._last_cut:
            return  # this request was in flight before the last cut: same round
        self._last_cut = self._sent
        self.limit = max(float(self.minimum), self.limit / 2)
        self.decreases += 1
