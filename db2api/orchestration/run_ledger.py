"""The ledger as one run uses it: windows journalled at once, recorded in the background.

:class:`ServerLedger` is the transfer loop's ``RunLedger`` under Prefect: it reads the
ledger in the Prefect server (:mod:`db2api.orchestration.ledger_store`) and this
machine's journal (:mod:`db2api.records.journal`) once, when the run starts, journals
each delivered window the moment it is added, and records windows in the ledger in
batches (:class:`LedgerRecorder`).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from db2api.job import Job
from db2api.log import run_logger
from db2api.orchestration.ledger_store import read_ledger, record_delivered
from db2api.records.journal import Entry, Journal, fold, journal_folder
from db2api.records.ledger import Ledger
from db2api.records.windows import Window, iso


class LedgerRecorder:
    """Records delivered windows in batches, in the background, one ledger change at a time.

    A year of daily windows costs a few ledger changes, not 365, and no window waits
    for one: a change takes the job's lock on the server, which can take seconds
    while another change (of this run or another) holds it, and windows that queued
    behind it stalled the whole run. A change that fails keeps its windows for the
    next; :meth:`flush`, when the run ends, records the rest, and if that fails too
    keeps them in :attr:`unrecorded` with the reason: the run then fails saying which
    windows were delivered but not recorded (:meth:`unrecorded_note`).

    With a ``journal`` (:mod:`db2api.records.journal`) every window is written there the
    moment it is added, and the first change also folds in the windows of runs that ended
    before recording theirs: a run that dies loses no delivered window, and one whose last
    change failed leaves its windows for the next run on this machine. Without one, windows
    not recorded are sent again by the next run that covers them (ids make that idempotent).
    """

    def __init__(
        self,
        job: str,
        key: str,
        interval: float = 2.0,
        label: str = "",
        journal: Journal | None = None,
    ) -> None:
        self.job = job
        self.key = key
        self.label = label
        self.interval = interval
        self.journal = journal
        self.pending: list[Window] = []
        self.in_flight: list[Window] = []  # the change being written now
        self.next_flush = time.monotonic() + interval
        self.ledger: Ledger | None = None
        self.unrecorded: list[Window] = []
        self.reason = ""
        self.kept: Path | None = None  # the journal file that keeps the unrecorded windows
        self._writing: asyncio.Task[None] | None = None
        self.held = False  # the last windows are running: their change is the final one
        self._sleeping = False  # the background change waits for its interval
        self._journal_broken = False

    def add(self, window: Window) -> None:
        self.pending.append(window)
        self._schedule()

    def write_ahead(self, window: Window) -> None:
        """Journal a delivered window before the run moves on (it is not in the ledger yet)."""
        if self.journal is None or self._journal_broken:
            return
        try:
            self.journal.append(Entry(self.key, window, self.label))
        except OSError as exc:
            self._journal_broken = True
            run_logger().warning(
                f"the journal in {self.journal.folder} cannot be written "
                f"({exc.strerror or type(exc).__name__}): delivered windows are recorded by "
                "the ledger's next change only, and sent again if this run dies before it"
            )

    def _schedule(self) -> None:
        """A change for what is pending, once ``interval`` has passed since the last one.

        Even if no window ends after it: a run killed later has its delivered windows
        in the ledger, and the next run skips them on any machine.
        """
        if self.held or self._writing is not None or not self.pending:
            return
        delay = max(0.0, self.next_flush - time.monotonic())
        self._sleeping = delay > 0  # until it starts writing, hold() may cancel it
        self._writing = asyncio.create_task(self._write_in_background(delay))

    async def _record(self) -> None:
        done, self.pending = self.pending, []
        earlier = list(self.journal.claimed) if self.journal is not None else []
        self.in_flight = done
        try:
            ledger = await record_delivered(self.job, self.key, done, self.label, earlier)
        except Exception as exc:
            self.pending[:0] = done  # the next change records them
            self.reason = str(exc) or type(exc).__name__
            raise
        finally:
            self.in_flight = []
        self.ledger = ledger
        if earlier and self.journal is not None:
            self.journal.forget_claimed()

    async def _write_in_background(self, delay: float) -> None:
        written = False
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            self._sleeping = False
            await self._record()
            written = True
        except Exception:
            pass  # kept in ``pending``: the next add or :meth:`flush` tries again
        finally:
            self._sleeping = False
            self.next_flush = time.monotonic() + self.interval
            self._writing = None
            if written:
                self._schedule()  # windows added while it wrote

    def hold(self) -> None:
        """Start no more background changes: :meth:`flush` writes the rest in one.

        Called once every window left is running: a change started now would still be
        in flight when they end, and the run would wait for it and then for one more.
        """
        self.held = True
        if self._writing is not None and self._sleeping:  # not writing yet: merge it
            self._writing.cancel()
            self._writing = None
            self._sleeping = False

    async def flush(self) -> Ledger | None:
        """Record every window added so far; the ledger as last written (None: never).

        Never raises: what it could not record is left in :attr:`unrecorded`.
        """
        self.hold()
        if self._writing is not None:
            await self._writing
        if self.pending:  # a run that records nothing (a dry run) folds no journal either
            try:
                await self._record()
            except Exception:
                self.unrecorded, self.pending = self.pending, []
        if self.journal is not None:
            self.kept = self.journal.close(recorded=not self.unrecorded)
        return self.ledger

    def waiting(self) -> int:
        """Windows added but not recorded yet: what :meth:`flush` still has to write."""
        return len(self.pending) + len(self.in_flight)

    def unrecorded_note(self) -> str:
        """One line: how many windows, which range, why, and what to do ("": none)."""
        if not self.unrecorded:
            return ""
        first = min(w.start for w in self.unrecorded)
        last = max(w.end for w in self.unrecorded)
        what = (
            f"{len(self.unrecorded)} windows in [{iso(first)}, {iso(last)}) were delivered but "
            f"not recorded in the ledger of job {self.job!r} ({self.reason})"
        )
        command = f"`db2api run {self.job} --start {iso(first)} --end {iso(last)}`"
        if self.kept is not None:
            return (
                f"{what}: the journal {self.kept} keeps them, and the next run of the job on this "
                f"machine records them without sending them again (e.g. {command} once the "
                "ledger is free again)"
            )
        return (
            f"{what}: run {command} once the ledger is free again to record them (their "
            "documents are sent again under the same ids)"
        )


class ServerLedger(LedgerRecorder):
    """The ledger in the Prefect server as the transfer loop uses it (``RunLedger``).

    Read once when the run starts, with this machine's journal of windows delivered but
    not recorded yet (:mod:`db2api.records.journal`, beside the job's dead letters): the
    run skips those as it skips the ledger's. Each delivered window is journalled at once,
    recorded in the ledger in the background every ``interval`` seconds, and the last
    windows in one change.
    """

    def __init__(self, job: Job, key: str, label: str = "") -> None:
        journal = Journal(journal_folder(job))
        super().__init__(job.name, key, label=label, journal=journal)
        self.read_ledger = Ledger()

    async def read(self) -> Ledger:
        ledger = await read_ledger(self.job)
        if self.journal is not None:
            fold(ledger, self.journal.read())
        self.read_ledger = ledger
        return ledger

    def is_delivered(self, window: Window) -> bool:
        return self.read_ledger.is_delivered(self.key, window)

    def add(self, window: Window) -> None:
        if not self.is_delivered(window):  # skipped or forced: already in the ledger
            self.write_ahead(window)
        super().add(window)
