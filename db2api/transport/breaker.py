"""Is the target there? Progress, the outage breaker, and when to give up.

A transient failure (408/429/5xx, a timeout, a reset, a refused connection) is
never a reason to give up on a document while the target keeps making progress.
The budget is time *without progress* across the whole run: from the first
failure after the target last decided anything (acknowledged or refused a
document), for ``give_up_after`` seconds. Then the run stops with
:class:`TargetUnavailable` and nothing is dead-lettered.

While every request fails (``opens_after`` in a row), the breaker opens: new
requests wait, and one probe at a time goes out, with exponential backoff that a
``Retry-After`` can stretch, so an outage costs a handful of requests instead of
thousands. The first answer from a working target closes it and releases them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from db2api.errors import TargetUnavailable

OPENS_AFTER = 8  # failures in a row, with no answer between them, that open the breaker
MAX_PROBE_DELAY = 5.0  # so a recovered target is noticed within seconds


class Breaker:
    def __init__(
        self,
        url: str,
        give_up_after: float,
        base_delay: float = 0.25,
        opens_after: int = OPENS_AFTER,
        max_probe_delay: float = MAX_PROBE_DELAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.give_up_after = give_up_after
        self.base_delay = base_delay
        self.opens_after = opens_after
        self.max_probe_delay = max_probe_delay
        self.clock = clock
        self.failing_since: float | None = None  # monotonic, first failure since progress
        self.failing_since_wall: datetime | None = None
        self.failures: Counter[str] = Counter()  # by kind, since the last progress
        self.in_a_row = 0
        self.is_open = False
        self.opened = 0  # times the breaker opened this run
        self._probe_out = False
        self._probes = 0
        self._next_probe = 0.0
        self._closed = asyncio.Event()
        self._closed.set()

    # --- what happened -------------------------------------------------------------------

    def progressed(self) -> None:
        """The target decided something: the clock of failures starts over."""
        if self.failing_since is None and not self.in_a_row:
            return  # the common case, once per document
        self.failing_since = self.failing_since_wall = None
        self.failures.clear()
        self.answered()

    def answered(self) -> None:
        """The target answered a request in a way that shows it is up."""
        self.in_a_row = 0
        self._probe_out = False
        if self.is_open:
            self.is_open = False
            self._probes = 0
            self._closed.set()

    def stalled(self, kind: str) -> None:
        """Documents must be sent again although the target answered (e.g. items at 429)."""
        if self.failing_since is None:
            self.failing_since = self.clock()
            self.failing_since_wall = datetime.now(UTC)
        self.failures[kind] += 1

    def failed(self, kind: str, retry_after: float | None = None, probe: bool = False) -> None:
        """A request failed in a way worth repeating: no answer, or a transient status.

        ``probe``: it was the breaker's probe, so the next one is scheduled; requests
        that were already under way when the breaker opened change nothing.
        """
        self.stalled(kind)
        now = self.clock()
        self.in_a_row += 1
        if probe and self._probe_out:
            self._probe_out = False
            self._probes += 1
            self._schedule(now, retry_after)
        elif not self.is_open and self.in_a_row >= self.opens_after:
            self.is_open = True
            self.opened += 1
            self._closed.clear()
            self._schedule(now, retry_after)

    def _schedule(self, now: float, retry_after: float | None) -> None:
        backoff = min(self.max_probe_delay, self.base_delay * 2**self._probes)
        self._next_probe = now + max(backoff, retry_after or 0.0)

    # --- what to do ----------------------------------------------------------------------

    def check(self) -> None:
        """Give up when nothing has been decided for ``give_up_after`` seconds of failures."""
        if (
            self.failing_since is not None
            and self.clock() - self.failing_since > self.give_up_after
        ):
            raise TargetUnavailable(self.describe())

    async def admit(self) -> bool:
        """Wait while the breaker is open; True when this request goes out as the probe."""
        while self.is_open:
            self.check()
            now = self.clock()
            if not self._probe_out and now >= self._next_probe:
                self._probe_out = True
                return True
            wait = self._next_probe - now if not self._probe_out else self.max_probe_delay
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), max(0.01, wait))
        return False

    def probe_ended(self) -> None:
        """A probe that neither failed nor was answered (cancelled): let another go."""
        self._probe_out = False

    # --- what to say ---------------------------------------------------------------------

    def state(self) -> str:
        """For progress lines: "" while all is well."""
        if self.failing_since_wall is None:
            return ""
        since = self.failing_since_wall.strftime("%H:%M:%S UTC")
        return f"waiting for target since {since}" if self.is_open else f"failing since {since}"

    def describe(self) -> str:
        since = (self.failing_since_wall or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")
        kinds = ", ".join(f"{kind} x{count}" for kind, count in self.failures.most_common())
        total = sum(self.failures.values())
        return (
            f"target {self.url} unavailable since {since} ({total} requests failed: {kinds}; "
            f"no progress for {self.give_up_after:g} s, the job's retry.give_up_after)"
        )
