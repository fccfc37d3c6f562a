"""Send the documents of a dead-letter file again, after the target or job was fixed.

Documents are re-sent exactly as they were built, with their ids, so a replay is
as idempotent as a run. Those that fail again go to a new dead-letter file; rows
the transform rejected (there is no document to send) are carried over unchanged,
because they need the transform fixed and their window re-run, not a replay.
Letters already resolved (delivered by a later run or replay) are skipped, and the
ones this replay delivers are recorded as resolved (:mod:`db2api.records.resolutions`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from db2api.errors import Db2apiError
from db2api.job import Job
from db2api.records.deadletters import DeadLetter, dead_letter_folder, iter_dead_letters
from db2api.records.document import Document
from db2api.records.resolutions import mark_resolved, read_resolved, resolve_delivered
from db2api.run.catalog import load_job
from db2api.run.runtime import open_runtime


@dataclass
class ReplayReport:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    carried: int = 0  # rows the transform rejected: re-run their windows instead
    skipped: int = 0  # letters resolved before this replay
    resolved: int = 0  # letters of the job's dead-letter files this replay resolved
    new_file: str = ""
    windows_to_rerun: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [
            f"re-sent {self.sent} documents: {self.delivered} delivered, {self.failed} failed"
            + (f"; {self.skipped} resolved before, skipped" if self.skipped else "")
        ]
        if self.carried:
            lines.append(
                f"{self.carried} rows were rejected by the transform and cannot be replayed: fix "
                f"the transform, then run their windows again ({', '.join(self.windows_to_rerun)})"
            )
        if self.new_file:
            lines.append(f"still undelivered: {self.new_file}")
        return lines


def read_letters(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        raise Db2apiError(f"dead-letter file {path} does not exist")
    try:
        return list(iter_dead_letters(path))
    except ValueError as exc:
        raise Db2apiError(f"cannot read {path}: {exc}") from None


def job_of(path: Path, records: list[dict[str, object]], job_name: str | None) -> str | None:
    """The job a file belongs to: the one it names, or ``job_name`` when given."""
    jobs = {record.get("job") for record in records}
    if job_name is None and len(jobs) > 1:
        raise Db2apiError(
            f"{path} holds dead letters of several jobs {sorted(map(str, jobs))}: pass --job"
        )
    return job_name or (str(records[0]["job"]) if records else None)


def target_line(job: Job, url: str, count: int, path: Path) -> str:
    return (
        f"replaying {count} documents of {path.name} to {url} index {job.target.index!r} "
        f"({job.target.mode} mode, job {job.name!r})"
    )


async def replay(
    path: Path,
    job_name: str | None = None,
    announce: Callable[[str], None] = print,
    by: str = "replay",
) -> ReplayReport:
    records = read_letters(path)
    report = ReplayReport()
    name = job_of(path, records, job_name)
    if name is None:
        return report
    job = load_job(name)
    folder = dead_letter_folder(job)
    done = read_resolved(folder).get(str(path.resolve()), set())
    # The last line for an id wins, as it would have at the target.
    latest: dict[str, dict[str, object]] = {}
    carried: list[dict[str, object]] = []
    for record in records:
        if holds_a_row(record):
            carried.append(record)
        elif str(record["id"]) in done:
            continue
        else:
            latest[str(record["id"])] = record
    report.skipped = len({str(r["id"]) for r in records if r.get("id") is not None} & done)
    documents = [Document(i, orjson.dumps(r["document"])) for i, r in latest.items()]
    window_of = {i: str(r["window"]) for i, r in latest.items()}
    delivered: set[str] = set()
    async with open_runtime(job, "replay") as runtime:
        announce(target_line(job, runtime.url, len(documents), path))
        for start in range(0, len(documents), job.chunk_size):
            batch = documents[start : start + job.chunk_size]
            outcome = await runtime.sink.send(batch)
            report.sent += outcome.acked + len(outcome.dead)
            report.delivered += outcome.acked
            refused = {str(letter.id) for letter in outcome.dead}
            delivered |= {doc.id for doc in batch if doc.id not in refused}
            for letter in outcome.dead:
                runtime.dead_letters.write(window_of.get(str(letter.id), "?"), [letter])
        for record in carried:
            runtime.dead_letters.write(str(record["window"]), [_carry(record)])
        report.failed = runtime.dead_letters.count - len(carried)
        report.carried = len(carried)
        report.windows_to_rerun = sorted({str(r["window"]) for r in carried})
        report.new_file = str(runtime.dead_letters.path) if runtime.dead_letters.count else ""
    # This file first (it may lie outside the job's folder), then every other file of the job.
    report.resolved = mark_resolved(folder, path, delivered, by)
    report.resolved += resolve_delivered(job.name, delivered, by, folder=folder)
    return report


def holds_a_row(record: dict[str, object]) -> bool:
    """A row the job could not make a document of: sending it would put the raw row in the index.

    Its letter holds the source row, not a document (:func:`db2api.read.build.rejection`):
    a row the job refused, one the transform raised on, or text the source could not decode.
    """
    return (
        record.get("id") is None
        or record.get("error") in ("Rejected", "Undecodable")
        or str(record.get("reason", "")).startswith("transform raised ")
    )


def _carry(record: dict[str, object]) -> DeadLetter:
    attempts = record.get("attempts")
    return DeadLetter(
        id=None if record.get("id") is None else str(record["id"]),
        document=record.get("document"),
        status=None,
        error=str(record.get("error")),
        reason=str(record.get("reason")),
        attempts=attempts if isinstance(attempts, int) else 0,
    )
