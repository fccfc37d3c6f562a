"""When to send a document again, and how long to wait first.

Pure functions over HTTP statuses and clocks so the whole policy is tested with
tables. Backoff is exponential with *full jitter* (a uniform draw between 0 and the
exponential cap), which spreads clients out after an outage instead of having them
return in lock-step; a ``Retry-After`` from the target is a floor on the wait.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum


class Verdict(Enum):
    ACK = "ack"  # the target has the document
    RETRY = "retry"  # a passing condition: send it again later
    DEAD = "dead"  # this document will never be accepted as it is
    FATAL = "fatal"  # the whole run is misconfigured: stop


# 408 Request Timeout and 429 Too Many Requests are the only 4xx worth repeating.
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})
# These say "your configuration is wrong", not "this document is wrong": every
# other document would fail the same way, so dead-lettering them all helps no one.
# (413 is per document in item mode; the bulk sink treats it as a batch-size error.)
FATAL = frozenset({401, 403, 404, 405, 407})


def classify(status: int) -> Verdict:
    if 200 <= status < 300:
        return Verdict.ACK
    if status in RETRYABLE:
        return Verdict.RETRY
    if status in FATAL:
        return Verdict.FATAL
    return Verdict.DEAD


def classify_item(status: int) -> Verdict:
    """A status inside a ``_bulk`` response concerns one document only."""
    verdict = classify(status)
    return Verdict.DEAD if verdict is Verdict.FATAL else verdict


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying, and how long to wait between tries.

    The budget is time *without progress* across the run (``give_up_after``
    seconds since the target last acknowledged or refused anything), not a count
    of attempts: a document is never given up on while the target is busy but
    working, and a target that is down stops the run instead of turning healthy
    documents into dead letters.
    """

    give_up_after: float = 300.0
    base_delay: float = 0.25
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if not self.give_up_after > 0:
            raise ValueError(
                f"retry give_up_after must be a positive number of seconds "
                f"(got {self.give_up_after})"
            )
        if not 0 < self.base_delay <= self.max_delay:
            raise ValueError(
                f"retry delays need 0 < base_delay <= max_delay "
                f"(got {self.base_delay}, {self.max_delay})"
            )

    def cap(self, attempt: int) -> float:
        """The longest backoff after the ``attempt``-th failure (1-based)."""
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        jitter = (rng or random).uniform(0.0, self.cap(attempt))
        if retry_after is None:
            return jitter
        return min(max(retry_after, jitter), self.max_delay)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
