"""Progress lines: windows and rows so far, an ETA for the windows, long steps announced."""

from __future__ import annotations

import asyncio
import math

from db2api.run.report import WindowReport
from tasks.artifacts import Progress, announce, eta


class Lines:
    """A logger that keeps its INFO lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, line: str) -> None:
        self.lines.append(line)


def test_the_eta_is_the_pace_so_far_times_the_windows_left():
    assert eta(elapsed=10.0, done=5, total=15) == 20.0
    assert eta(elapsed=3.0, done=4, total=4) == 0.0
    assert math.isnan(eta(elapsed=1.0, done=0, total=4)), "no pace before the first window"


def test_progress_lines_count_windows_and_rows_and_the_last_says_all_done():
    logger = Lines()
    progress = Progress(total=3, artifact=None, logger=logger)
    progress.interval = 3600.0  # only the first, a failure and the last are logged

    progress.update(WindowReport("w1", rows=100))
    progress.update(WindowReport("w2", rows=20))
    progress.update(WindowReport("w3", rows=5))

    first, last = logger.lines
    assert first.startswith("[1/3 windows, 100 rows, ETA ")
    assert last.startswith("[3/3 windows, 125 rows, all done in ")
    assert "ETA" not in last, "nothing is left for the windows: no ETA of 0 s before a long step"


async def test_a_long_step_is_announced_and_keeps_saying_it_still_runs():
    said: list[str] = []
    two_reminders = asyncio.Event()

    def say(line: str) -> None:
        said.append(line)
        if sum(line.startswith("still ") for line in said) == 2:
            two_reminders.set()

    async def step() -> str:
        await two_reminders.wait()
        return "ledger"

    # The bound only keeps a broken reminder from hanging the suite.
    what = "recording 7 windows in the ledger"
    result = await asyncio.wait_for(announce(what, step(), say, every=0.01), 30)

    assert result == "ledger"
    assert said[0] == "recording 7 windows in the ledger…"
    assert said[1].startswith("still recording 7 windows in the ledger (")
    assert said[2].startswith("still recording 7 windows in the ledger (")
    assert said[-1].startswith("done recording 7 windows in the ledger in ")
    assert len(said) == 4, "no reminder after the step ended"
