"""Adaptive concurrency: fewer requests in flight while the target answers 429, all of
them again once it recovers. Measured at the receiver (its peak of concurrent
requests) and in the run's limiter."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from db2api.receiver import ReceiverProcess
from db2api.records.document import Document
from db2api.run.runtime import open_runtime
from db2api.targets import Outcome
from db2api.transport.retry import RetryPolicy
from tests.reliability.conftest import reliability_job

pytestmark = pytest.mark.reliability
CONCURRENCY = 16


def documents(prefix: str, count: int) -> list[Document]:
    return [
        Document(f"{prefix}-{n}", orjson.dumps({"n": n, "phase": prefix})) for n in range(count)
    ]


@pytest.mark.timeout(90)
async def test_in_flight_requests_shrink_under_429s_and_grow_back_after(
    reliability_source: dict[str, Any], rx: ReceiverProcess, dead_letter_dir: Any
) -> None:
    job = reliability_job(
        reliability_source,
        rx.url,
        "item",
        "rel-adaptive",
        concurrency=CONCURRENCY,
        retry=RetryPolicy(give_up_after=60, base_delay=0.01, max_delay=0.2),
    )
    async with open_runtime(job, "adaptive") as runtime:
        sink, limiter = runtime.sink, runtime.limiter

        sent: set[str] = set()

        async def phase(prefix: str, count: int) -> tuple[Outcome, dict[str, Any]]:
            rx.reset_stats()
            batch = documents(prefix, count)
            outcome = await sink.send(batch)
            assert outcome.acked == count and not outcome.dead
            sent.update(doc.id for doc in batch)
            return outcome, rx.stats()

        # Retry-After 0: the documents come back at once; only the limiter holds them back.
        rx.set_faults(rate_429=0.3, retry_after=0, latency_ms=5, seed=5)
        await phase("warm-up", 300)
        storm, storm_stats = await phase("storm", 800)
        storm_limit = limiter.limit

        rx.set_faults(latency_ms=5)
        calm, calm_stats = await phase("calm", 1500)

    line = {
        "test": "adaptive concurrency",
        "concurrency": CONCURRENCY,
        "storm": {
            "peak_in_flight": storm_stats["peak_in_flight"],
            "limit_after": round(storm_limit, 2),
            "429s": storm_stats["faults"]["429"],
            "retries": storm.retries,
        },
        "recovered": {
            "peak_in_flight": calm_stats["peak_in_flight"],
            "limit_after": round(limiter.limit, 2),
        },
        "limit_cuts": limiter.decreases,
    }
    print(json.dumps(line))
    assert storm_stats["faults"]["429"] > 0 and storm.retries > 0
    assert storm_stats["peak_in_flight"] < CONCURRENCY
    assert storm_limit < CONCURRENCY
    assert calm_stats["faults"]["429"] == 0 and calm.retries == 0
    assert calm_stats["peak_in_flight"] == CONCURRENCY
    assert limiter.limit == CONCURRENCY
    # Every document sent is stored, once: a 429 stores nothing.
    stored = rx.ids("readings")
    assert len(sent) == 2600 and set(stored) == sent
    assert set(stored.values()) == {1}
