"""Run history people can read in the Prefect UI: a table and a summary per run."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)

from db2api.run.report import RunSummary, WindowReport

T = TypeVar("T")


def artifact_key(job: str, what: str) -> str:
    """Artifact keys allow lower-case letters, digits and dashes only."""
    clean = "".join(c if c.isalnum() else "-" for c in job.lower())
    return f"{clean}-{what}"


async def publish_summary(summary: RunSummary) -> None:
    """The windows table and the summary, both at once: each is a round trip to a server
    that is still busy with the run's events when it ends."""
    dead = summary.total("dead")
    link = f"\n\nDead-letter file: `{summary.dead_letter_file}` ({dead} documents)" if dead else ""
    if summary.dry_run:
        link += "\n\n" + samples_markdown(summary)
    title = f"# {summary.job} [{summary.start}, {summary.end})"
    await asyncio.gather(
        acreate_table_artifact(
            key=artifact_key(summary.job, "windows"),
            table=[report.row() for report in summary.windows],
            description=f"{summary.job}: windows of [{summary.start}, {summary.end})",
        ),
        acreate_markdown_artifact(
            key=artifact_key(summary.job, "summary"),
            markdown=f"{title}\n\n{summary.markdown()}{link}",
            description=f"{summary.job}: run summary",
        ),
    )


def samples_markdown(summary: RunSummary, windows: int = 3) -> str:
    """A dry run's sample documents, as they would be sent (long values shortened)."""
    parts = ["## Sample documents (dry run: nothing was sent)"]
    for report in [r for r in summary.windows if r.samples][:windows]:
        parts.append(f"### {report.window}: {report.rows} rows, {report.bytes:,} bytes")
        parts.append("```json\n" + json.dumps(report.samples, indent=2, default=str) + "\n```")
    return "\n\n".join(parts)


class Progress:
    """A progress artifact and a log line per finished window, with an ETA.

    Updates go to the server in the background, one at a time and the newest
    only, so a window never waits for one: a busy server answers in seconds, and
    every window slot that waited for it stalled the run. ``finish`` waits for
    the last word to land.
    """

    def __init__(self, total: int, artifact: UUID | None, logger: Any) -> None:
        self.total = total
        self.done = 0
        self.rows = 0
        self.artifact = artifact
        self.logger: logging.Logger = logger
        self.started = time.monotonic()
        self.interval = 2.0
        self.next_update = self.started  # the first window is logged at once
        self._wanted: tuple[float, str | None] | None = None
        self._sending: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, job: str, total: int, logger: Any) -> Progress:
        artifact = await acreate_progress_artifact(
            progress=0.0, key=artifact_key(job, "progress"), description=f"{job}: windows done"
        )
        return cls(total, artifact, logger)

    async def tick(self, line: str) -> None:
        """Figures while windows run (see ``db2api.run.transfer.heartbeat``)."""
        self.logger.info(f"[{self.done}/{self.total} windows] {line}")
        self._publish(line)

    def update(self, report: WindowReport) -> None:
        """Log and publish progress, at most once per interval (failures always).

        A year of daily windows must not cost 365 log lines and API calls; the
        table artifact at the end has every window.
        """
        self.done += 1
        self.rows += report.rows
        now = time.monotonic()
        last = self.done == self.total
        if not (last or now >= self.next_update or report.error):
            return
        self.next_update = now + self.interval
        self.logger.info(f"[{self.status(now)}] {report.line()}")
        self._publish()

    def status(self, now: float) -> str:
        """Windows and rows so far, and the windows' ETA (or their time once all are done)."""
        elapsed = now - self.started
        figures = f"{self.done:,}/{self.total:,} windows, {self.rows:,} rows"
        if self.done >= self.total:
            return f"{figures}, all done in {elapsed:.0f} s"
        return f"{figures}, ETA {eta(elapsed, self.done, self.total):.0f} s"

    def _publish(self, description: str | None = None) -> None:
        if self.artifact is None:
            return
        self._wanted = (100.0 * self.done / self.total, description)
        if self._sending is None:
            self._sending = asyncio.create_task(self._send_newest(self.artifact))

    async def _send_newest(self, artifact: UUID) -> None:
        try:
            while self._wanted is not None:
                progress, description = self._wanted
                self._wanted = None
                try:
                    await aupdate_progress_artifact(
                        artifact, progress=progress, description=description
                    )
                except Exception as exc:  # progress is for people: the run goes on
                    self.logger.warning(f"progress not updated: {type(exc).__name__}: {exc}")
        finally:
            self._sending = None

    async def finish(self, summary: RunSummary) -> None:
        """The last word: 100 % and the run's final counts, sent before the run ends."""
        self.done = self.total
        self._publish(f"{summary.job}: {final_counts(summary)}")
        if self._sending is not None:
            await self._sending


def eta(elapsed: float, done: int, total: int) -> float:
    """Seconds left for the windows at the pace so far (windows only: steps after them
    announce themselves, see :func:`announce`)."""
    return elapsed / done * (total - done) if done else float("nan")


async def announce(
    what: str, step: Awaitable[T], say: Callable[[str], None], every: float = 5.0
) -> T:
    """Await a long step saying what it is, then every ``every`` s that it still runs.

    After the last window a run still writes the ledger to the Prefect server, which
    answers late while it records the run's task runs (24 s after 1,026 empty daily
    windows here): without these lines the run looked hung right after "ETA 0 s".
    """
    began = time.monotonic()
    say(f"{what}…")

    async def remind() -> None:
        while True:
            await asyncio.sleep(every)
            say(f"still {what} ({time.monotonic() - began:.0f} s so far)")

    reminder = asyncio.create_task(remind())
    try:
        result = await step
    finally:
        reminder.cancel()
    say(f"done {what} in {time.monotonic() - began:.1f} s")
    return result


def final_counts(summary: RunSummary) -> str:
    skipped = sum(1 for report in summary.windows if report.skipped)
    return (
        f"{len(summary.windows)} windows done ({skipped} done before, {len(summary.failed)} "
        f"failed): {summary.total('rows')} rows read, {summary.total('acked')} "
        f"{'would be sent' if summary.dry_run else 'acknowledged'}, "
        f"{summary.total('dead')} dead letters"
    )
