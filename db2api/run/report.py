"""Per-window and per-run figures: what was read, delivered and dead-lettered."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from db2api.errors import AccountingError, TargetUnavailable
from db2api.job import Job
from db2api.records.deadletters import deletions_path, iter_dead_letters
from db2api.records.letter_groups import top_reasons
from db2api.records.windows import Window
from db2api.targets import kind_of


@dataclass
class WindowReport:
    window: str
    rows: int = 0
    acked: int = 0
    present: int = 0  # of the acked: already at the target (op_type create)
    proven: int = 0  # of the acked: read back from the target by id
    dead: int = 0
    duplicates: int = 0
    retries: int = 0
    requests: int = 0
    bytes: int = 0
    deleted: int = 0  # reconcile: gone from the source, deleted (a dry run: would be)
    seconds: float = 0.0
    skipped: bool = False  # done before: the ledger (or its journal) had it
    delete_note: str = ""  # reconcile: why nothing was deleted, or what a dry run would delete
    error: str = ""
    samples: list[dict[str, Any]] = field(default_factory=list)  # dry runs only
    dry_run: bool = False  # nothing was sent: ``acked`` counts what would have been

    @property
    def docs_per_second(self) -> float:
        return self.acked / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        if self.skipped:
            return f"window {self.window}: done before, skipped"
        if self.error and not self.rows:
            return f"window {self.window}: {self.error}"
        return (
            f"window {self.window}: {self.rows} rows, "
            + (f"would send {self.acked}, " if self.dry_run else f"{self.acked} acked, ")
            + f"{self.dead} dead letters, "
            + (f"{self.deleted} deleted, " if self.deleted else "")
            + f"{self.seconds:.2f} s"
            + (f" ({self.error})" if self.error else "")
        )

    def check(self) -> None:
        """Every row read is acknowledged, dead-lettered, or superseded by a later duplicate."""
        accounted = self.acked + self.dead + self.duplicates
        if accounted != self.rows:
            raise AccountingError(
                f"window {self.window}: read {self.rows} rows but accounted for {accounted} "
                f"(acked {self.acked} + dead letters {self.dead} + duplicates {self.duplicates}); "
                "the window is not complete and will be sent again on the next run"
            )

    def row(self) -> dict[str, Any]:
        """One table-artifact row (samples are shown elsewhere)."""
        row = asdict(self)
        del row["samples"], row["dry_run"]
        if self.dry_run:
            row = {("would_send" if key == "acked" else key): value for key, value in row.items()}
        return {
            **row,
            "docs_per_s": round(self.docs_per_second, 1),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class RunSummary:
    job: str
    start: str
    end: str
    mode: str
    windows: list[WindowReport] = field(default_factory=list)
    dead_letter_file: str = ""
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)
    fatal: str = ""
    unavailable: bool = False  # the run stopped because the target stayed down
    dry_run: bool = False
    reconcile: bool = False  # deletes reach the target (target.reconcile)
    proves: bool = False  # the target kind reads acknowledged documents back
    proof: str = ""  # how it does, or why it does not
    reasons: list[str] = field(default_factory=list)  # the most frequent dead-letter reasons
    retried: int | None = None  # requests sent again, run-wide: a send that stopped counts too

    def total(self, name: str) -> int:
        """A figure summed over the windows this run worked on (not those done before)."""
        return sum(getattr(report, name) for report in self.windows if not report.skipped)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.fatal and self.total("dead") == 0

    @property
    def docs_per_second(self) -> float:
        return self.total("acked") / self.seconds if self.seconds > 0 else 0.0

    @property
    def retries(self) -> int:
        """Requests sent again after a failure or a busy answer (429, 5xx, a reset)."""
        return self.retried if self.retried is not None else self.total("retries")

    def lines(self) -> list[str]:
        skipped = sum(1 for report in self.windows if report.skipped)
        dead = self.total("dead")
        done_before = f"{skipped} done before, skipped" if skipped else "none done before"
        lines = [
            f"job          {self.job} ({self.mode} mode)"
            + ("  DRY RUN: nothing sent" if self.dry_run else ""),
            f"range        [{self.start}, {self.end})",
            f"windows      {len(self.windows)} ({done_before}; {len(self.failed)} failed)",
            f"rows read    {self.total('rows')}",
            ("would send   " if self.dry_run else "acknowledged ")
            + f"{self.total('acked')} documents in {self.total('requests')} requests, "
            f"{self.total('bytes'):,} bytes",
            f"dead letters {dead}" + (f"  -> {self.dead_letter_file}" if dead else ""),
            *[f"  reason     {reason}" for reason in self.reasons],
            *self.deleted_lines(),
            *(
                [f"already present {self.total('present')} (create: the id was there already)"]
                if self.total("present")
                else []
            ),
            *self.proof_lines(),
            f"duplicates   {self.total('duplicates')} (same id twice in a chunk; last one sent)",
            *([] if self.dry_run else [f"retries      {self.retries} (failed or busy requests)"]),
            f"time         {self.seconds:.1f} s, {self.docs_per_second:,.0f} docs/s",
        ]
        lines += [f"failed       {reason}" for reason in self.failed[:5]]
        return lines

    def proof_lines(self) -> list[str]:
        """What the run proved of what the target acknowledged, or that it took its word."""
        if self.dry_run or not self.proof:
            return []
        acked, proven = self.total("acked"), self.total("proven")
        if not self.proves:
            return [f"proof        none: the target's word for {acked} documents ({self.proof})"]
        line = f"proof        {proven} of {acked} documents read back ({self.proof})"
        if proven < acked:
            line += f"; {acked - proven} on the target's word (see the log)"
        return [line]

    def deleted_lines(self) -> list[str]:
        if not self.reconcile:
            return []

        deleted = self.total("deleted")
        if self.dry_run:
            return [f"would delete {deleted} documents the source no longer returns"]
        where = f"  -> {deletions_path(self.dead_letter_file)}" if deleted else ""
        return [f"deleted      {deleted} documents the source no longer returns{where}"]

    def headline(self) -> str:
        verb = "would be sent (dry run)" if self.dry_run else "acknowledged"
        return (
            f"{self.total('rows')} rows read, {self.total('acked')} {verb}, "
            f"{self.total('dead')} dead letters in {self.seconds:.1f} s "
            f"({self.docs_per_second:,.0f} docs/s)"
        )

    def markdown(self) -> str:
        acked = "would send" if self.dry_run else "acked"
        head = (
            f"| window | rows | {acked} | already present | dead letters | duplicates | deleted "
            "| retries | seconds | docs/s | note |"
        )
        rule = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        rows = [
            f"| {r.window} | {r.rows} | {r.acked} | {r.present} | {r.dead} | {r.duplicates} "
            f"| {r.deleted} | {r.retries} "
            f"| {r.seconds:.2f} | {r.docs_per_second:,.0f} | "
            f"{'done before, skipped' if r.skipped else ''}{r.error}{r.delete_note} |"
            for r in self.windows
        ]
        text = "\n".join(["```", *self.lines(), "```", "", head, rule, *rows])
        return text


def summarise(
    job: Job,
    windows: list[Window],
    reports: list[WindowReport],
    fatal: str | BaseException | None,
    seconds: float,
    dead_letter_file: str,
) -> RunSummary:
    summary = RunSummary(
        job=job.name,
        start=windows[0].key.split("/")[0],
        end=windows[-1].key.split("/")[1],
        mode=job.target.mode,
        windows=reports,
        dead_letter_file=dead_letter_file,
        seconds=seconds,
        reconcile=job.target.reconcile,
    )
    summary.proves, summary.proof = kind_of(job.target).proof(job.target)
    summary.failed = [f"{r.window}: {r.error}" for r in reports if r.error]
    summary.reasons = dead_letter_reasons(dead_letter_file) if summary.total("dead") else []
    summary.fatal = str(fatal or "")
    if isinstance(fatal, TargetUnavailable):
        left = [r.window for r in reports if r.error]
        first = left[0].split("/")[0] if left else summary.end
        summary.unavailable = True
        summary.fatal = (
            f"{fatal}: nothing was lost; {len(left)} windows from {first} will be sent by the "
            "next run"
        )
    return summary


def dead_letter_reasons(path: str) -> list[str]:
    """The run's most frequent reasons, from its dead-letter file (see ``db2api deadletters``)."""
    try:
        return top_reasons(iter_dead_letters(Path(path)))
    except (OSError, ValueError):  # the summary must not fail over the letters it points to
        return []
