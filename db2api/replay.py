"""Send the documents of a dead-letter file again, after the target or job was fixed.

Documents are re-sent exactly as they were built, with their ids, so a replay is
as idempotent as a run. Those that fail again go to a new dead-letter file; rows
the transform rejected (there is no document to send) are carried over unchanged,
because they need the transform fixed and their window re-run, not a replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson

from db2api.catalog import load_job
from db2api.deadletters import DeadLetter, iter_dead_letters
from db2api.documents import Document
from db2api.errors import Db2apiError
from db2api.runtime import open_runtime


@dataclass
class ReplayReport:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    carried: int = 0  # rows the transform rejected: re-run their windows instead
    new_file: str = ""
    windows_to_rerun: list[str] = field(default_factory=list)


async def replay(path: Path, job_name: str | None = None) -> ReplayReport:
    if not path.is_file():
        raise Db2apiError(f"dead-letter file {path} does not exist")
    try:
        records = list(iter_dead_letters(path))
    except ValueError as exc:
        raise Db2apiError(f"cannot read {path}: {exc}") from None
    report = ReplayReport()
    if not records:
        return report
    jobs = {record.get("job") for record in records}
    if job_name is None and len(jobs) != 1:
        raise Db2apiError(
            f"{path} holds dead letters of several jobs {sorted(map(str, jobs))}: pass --job"
        )
    job = load_job(job_name or str(records[0]["job"]))
    # The last line for an id wins, as it would have at the target.
    latest: dict[str, dict[str, object]] = {}
    carried: list[dict[str, object]] = []
    for record in records:
        if record.get("error") == "Rejected" or record.get("id") is None:
            carried.append(record)
        else:
            latest[str(record["id"])] = record
    documents = [Document(i, orjson.dumps(r["document"])) for i, r in latest.items()]
    window_of = {i: str(r["window"]) for i, r in latest.items()}
    async with open_runtime(job, "replay") as runtime:
        for start in range(0, len(documents), job.chunk_size):
            outcome = await runtime.sink.send(documents[start : start + job.chunk_size])
            report.sent += outcome.acked + len(outcome.dead)
            report.delivered += outcome.acked
            for letter in outcome.dead:
                runtime.dead_letters.write(window_of.get(str(letter.id), "?"), [letter])
        for record in carried:
            runtime.dead_letters.write(str(record["window"]), [_carry(record)])
        report.failed = runtime.dead_letters.count - len(carried)
        report.carried = len(carried)
        report.windows_to_rerun = sorted({str(r["window"]) for r in carried})
        report.new_file = str(runtime.dead_letters.path) if runtime.dead_letters.count else ""
    return report


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
