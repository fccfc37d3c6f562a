"""Run history people can read in the Prefect UI: a table and a summary per run."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from uuid import UUID

from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)

from db2api.report import RunSummary, WindowReport


def artifact_key(job: str, what: str) -> str:
    """Artifact keys allow lower-case letters, digits and dashes only."""
    clean = "".join(c if c.isalnum() else "-" for c in job.lower())
    return f"{clean}-{what}"


async def publish_summary(summary: RunSummary) -> None:
    await acreate_table_artifact(
        key=artifact_key(summary.job, "windows"),
        table=[report.row() for report in summary.windows],
        description=f"{summary.job}: windows of [{summary.start}, {summary.end})",
    )
    dead = summary.total("dead")
    link = f"\n\nDead-letter file: `{summary.dead_letter_file}` ({dead} documents)" if dead else ""
    if summary.dry_run:
        link += "\n\n" + samples_markdown(summary)
    await acreate_markdown_artifact(
        key=artifact_key(summary.job, "summary"),
        markdown=f"# {summary.job} [{summary.start}, {summary.end})\n\n{summary.markdown()}{link}",
        description=f"{summary.job}: run summary",
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
        """Figures while windows run (see ``db2api.pipeline.heartbeat``)."""
        self.logger.info(f"[{self.done}/{self.total} windows] {line}")
        self._publish(line)

    def update(self, report: WindowReport) -> None:
        """Log and publish progress, at most once per interval (failures always).

        A year of daily windows must not cost 365 log lines and API calls; the
        table artifact at the end has every window.
        """
        self.done += 1
        now = time.monotonic()
        last = self.done == self.total
        if not (last or now >= self.next_update or report.error):
            return
        self.next_update = now + self.interval
        remaining = (now - self.started) / self.done * (self.total - self.done)
        self.logger.info(f"[{self.done}/{self.total}, ETA {remaining:.0f} s] {report.line()}")
        self._publish()

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


def final_counts(summary: RunSummary) -> str:
    cached = sum(1 for report in summary.windows if report.cached)
    return (
        f"{len(summary.windows)} windows done ({cached} done before, {len(summary.failed)} "
        f"failed): {summary.total('rows')} rows read, {summary.total('acked')} "
        f"{'would be sent' if summary.dry_run else 'acknowledged'}, "
        f"{summary.total('dead')} dead letters"
    )
