"""A transient failure is never a dead letter.

(a) a storm with a 60 s outage and one poison document in 997: the dead letters are
exactly the poison ids, the target holds the rest; (b) an outage that outlasts
``give_up_after``: the run stops by itself with nothing dead-lettered and says what
the next run will send, and the next run delivers everything; (c) item mode under a
steady 20 % of 429s keeps its floor of requests in flight (the rates are printed;
bench/ measures them).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from db2api.job import Row
from db2api.receiver import ReceiverProcess
from db2api.records.document import Document
from db2api.run.runtime import open_runtime
from db2api.run.window import transfer_range
from db2api.transport.retry import RetryPolicy
from tests.reliability.conftest import reliability_job, source_ids, wait_idle
from tests.reliability.test_storm import STORM, figures, letters
from tests.support.jobs import to_document, with_target

pytestmark = pytest.mark.reliability
POISON_EVERY = 997


def with_poison(row: Row) -> dict[str, Any]:
    """One row in 997 carries a value the receiver's rule refuses (a 400 for that one)."""
    return {**to_document(row), "poison": row["reading_id"] % POISON_EVERY == 0}


@pytest.mark.timeout(240)
async def test_a_storm_with_a_60_s_outage_dead_letters_only_the_poison(
    reliability_source: dict[str, Any], rx: ReceiverProcess, dead_letter_dir: Path
) -> None:
    source = source_ids(reliability_source, "2024-01-01", "2024-01-04")
    poison = {i for i in source if int(i) % POISON_EVERY == 0}
    job = reliability_job(
        reliability_source,
        rx.url,
        "bulk",
        "rel-outage-poison",
        transform=with_poison,
        retry=RetryPolicy(give_up_after=120, base_delay=0.05, max_delay=2.0),
    )
    job = with_target(job, timeout=2.0)
    rx.set_faults(
        **STORM,
        outage_after_seconds=2,
        outage_seconds=60,
        reject_field="poison",
        reject_value=True,
    )

    summary = await transfer_range(job, "2024-01-01", "2024-01-04")
    wait_idle(rx)

    stored = set(rx.ids("readings"))
    dead = {letter["id"] for letter in letters(summary)}
    line = figures("outage 60 s + poison", rx, summary, rows=len(source), poison=len(poison))
    assert summary.fatal == "" and summary.failed == []
    assert dead == poison and len(poison) > 0
    assert stored == source - poison
    assert line["faults"]["outage"] > 0
    # The breaker held requests back: a few dozen answers in 60 s of outage, not thousands.
    assert line["faults"]["outage"] < 200


@pytest.mark.timeout(300)
async def test_an_outage_longer_than_the_budget_stops_the_run_and_loses_nothing(
    reliability_source: dict[str, Any], rx: ReceiverProcess, dead_letter_dir: Path
) -> None:
    source = source_ids(reliability_source, "2024-01-01", "2024-01-04")
    job = reliability_job(
        reliability_source,
        rx.url,
        "bulk",
        "rel-long-outage",
        windows_in_flight=1,
        retry=RetryPolicy(give_up_after=20, base_delay=0.05, max_delay=2.0),
    )
    rx.set_faults(outage_seconds=1200, outage_mode="refuse")  # from the first request on

    began = time.monotonic()
    down = await transfer_range(job, "2024-01-01", "2024-01-04")
    stopped_after = time.monotonic() - began

    assert down.unavailable and not down.ok
    assert down.total("dead") == 0 and letters(down) == []
    assert down.fatal.startswith(f"target {rx.url} unavailable since ")
    assert "no progress for 20 s, the job's retry.give_up_after)" in down.fatal
    left = [r for r in down.windows if r.error]
    first = left[0].window.split("/")[0]
    assert down.fatal.endswith(
        f"nothing was lost; {len(left)} windows from {first} will be sent by the next run"
    )
    assert [r.error for r in down.windows if r.error][1:] == ["not run: the run stopped"] * (
        len(left) - 1
    ), "no new window started once the target was given up on"

    rx.set_faults()
    back = await transfer_range(job, "2024-01-01", "2024-01-04")

    assert back.ok
    assert set(rx.ids("readings")) == source
    print(json.dumps({"test": "long outage", "stopped_after_s": round(stopped_after, 1)}))


@pytest.mark.timeout(180)
async def test_item_mode_under_a_steady_20_percent_of_429s_keeps_its_floor(
    reliability_source: dict[str, Any], rx: ReceiverProcess, dead_letter_dir: Path
) -> None:
    concurrency = 32
    job = reliability_job(
        reliability_source,
        rx.url,
        "item",
        "rel-steady-429",
        concurrency=concurrency,
        retry=RetryPolicy(give_up_after=60, base_delay=0.01, max_delay=0.2),
    )
    docs = [Document(f"d{n}", orjson.dumps({"n": n})) for n in range(3000)]
    rates = {}
    async with open_runtime(job, "steady-429") as runtime:
        for phase, faults in (("clean", {}), ("429", {"rate_429": 0.2, "retry_after": 0})):
            rx.set_faults(latency_ms=10, seed=3, **faults)
            began = time.monotonic()
            outcome = await runtime.sink.send(docs)
            rates[phase] = len(docs) / (time.monotonic() - began)
            assert outcome.acked == len(docs) and not outcome.dead
            lowest = runtime.limiter.limit
        floor = runtime.limiter.minimum

    print(
        json.dumps(
            {
                "test": "item mode, steady 20% 429",
                "clean_docs_per_s": round(rates["clean"]),
                "with_429_docs_per_s": round(rates["429"]),
                "ratio": round(rates["429"] / rates["clean"], 2),
                "limit_after": round(lowest, 1),
                "floor": floor,
            }
        )
    )
    assert floor == concurrency // 2
    assert lowest >= floor, "random 429s never pinned the limit below its floor"
    assert runtime.limiter.decreases > 0, "the 429s were seen as overload"
    stored = rx.ids("readings")
    assert set(stored) == {d.id for d in docs}
