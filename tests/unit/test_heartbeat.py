"""Progress while windows run: the figures so far and the breaker's state."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from db2api.run.runtime import Tally
from db2api.run.window import heartbeat
from db2api.transport.breaker import Breaker


async def test_the_heartbeat_says_the_figures_so_far_and_when_the_target_went_away():
    tally = Tally()
    tally.rows, tally.acked, tally.dead, tally.retries = 12000, 11500, 3, 120
    breaker = Breaker("http://es:9200", give_up_after=300, opens_after=1)
    # The sink's own count is live: a send still waiting on the target has not returned yet.
    runtime = SimpleNamespace(tally=tally, sink=SimpleNamespace(breaker=breaker, retries=125))
    lines: list[str] = []

    async def emit(line: str) -> None:
        lines.append(line)
        if len(lines) == 1:
            breaker.failed("connection")

    ticker = asyncio.create_task(heartbeat(runtime, emit, every=0.01))
    while len(lines) < 2:
        await asyncio.sleep(0.01)
    ticker.cancel()

    assert lines[0] == (
        "so far: 12,000 rows read, 11,500 acknowledged, 3 dead letters, 125 retries"
    )
    assert lines[1].startswith(
        "so far: 12,000 rows read, 11,500 acknowledged, 3 dead letters, 125 retries; "
        "waiting for target since "
    )


def test_a_dry_run_heartbeat_says_would_be_sent():
    tally = Tally(dry_run=True)
    tally.rows, tally.acked = 10, 9

    assert tally.line() == "so far: 10 rows read, 9 would be sent (dry run)"
    assert Tally().line() == "so far: 0 rows read, 0 acknowledged, 0 dead letters, 0 retries"
