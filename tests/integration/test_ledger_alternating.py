"""300 days with a refused row every other day, through real flow runs and a real ledger.

The ledger's first form broke at 52 separate stretches: this run leaves 150. All of
them are recorded, ``db2api watermark`` shows them per target, the next nightly-style
run sends only the refused days, and a fresh target is filled from ``first_start``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from db2api.cli import main
from db2api.job import resolve
from db2api.orchestration.ledger_store import clear_ledger, read_ledger
from db2api.receiver import ReceiverProcess
from db2api.records.ledger import delivery_key
from db2api.run.catalog import load_job
from db2api.run.report import RunSummary
from db2api.run.transfer import origin

pytestmark = pytest.mark.usefixtures("prefect_harness")
FLOW_FILE = Path(__file__).resolve().parents[2] / "flows" / "transfer.py"
NAME = "ledger-alternating"
DAYS = 300
DAY = timedelta(days=1)
JOB_FILE = '''
import os
from datetime import date

from etlhelper import DbParams

from db2api.job import Job, Source, Target


def to_document(row):
    return {{"sensor_id": row["sensor_id"], "at": row["measured_at"], "value": row["value"]}}


job = Job(
    name="{name}",
    source=Source(db=DbParams(dbtype="SQLITE", filename="{db}")),
    sql="""SELECT reading_id, sensor_id, measured_at, value FROM readings
           WHERE measured_at >= :start AND measured_at < :end ORDER BY measured_at""",
    id="reading_id",
    transform=to_document,
    target=Target(url="{url}", index=os.environ.get("LEDGER_INDEX", "alternating")),
    window="1d",
    first_start=date.fromisoformat("{first}"),
)
'''


def utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.fixture
def job_file(
    tmp_path: Path, target: ReceiverProcess, dead_letter_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[date]:
    """The job's first_start: 300 days ago; each day a good row, every odd day a bad one too."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    first = datetime.now(UTC).date() - DAYS * DAY
    db = tmp_path / "alternating.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE readings (reading_id INTEGER PRIMARY KEY, sensor_id TEXT, "
            "measured_at TEXT, value REAL)"
        )
        rows = [(2 * n + 1, "S001", f"{first + n * DAY} 06:00:00", n) for n in range(DAYS)]
        rows += [(2 * n + 2, "BAD", f"{first + n * DAY} 12:00:00", n) for n in range(1, DAYS, 2)]
        conn.executemany("INSERT INTO readings VALUES (?, ?, ?, ?)", rows)
    (tmp_path / f"{NAME}.py").write_text(
        JOB_FILE.format(name=NAME, db=db, url=target.url, first=first.isoformat())
    )
    monkeypatch.setenv("DB2API_JOBS_PATH", str(tmp_path))
    monkeypatch.delenv("LEDGER_INDEX", raising=False)
    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: str(tmp_path / "results")}):
        yield first


async def run(**parameters: Any) -> tuple[Any, RunSummary | None]:
    from prefect.flows import load_flow_from_entrypoint

    # By file, not by module: the flow's `job` choices are read from DB2API_JOBS_PATH when
    # its file runs, and another test may have imported flows.transfer before this job's
    # folder was set (a deployed run's process runs the file afresh the same way).
    transfer = load_flow_from_entrypoint(f"{FLOW_FILE}:transfer")
    state = await transfer(job=NAME, return_state=True, **parameters)
    data = await state.aresult(raise_on_failure=False)
    return state, data.get("summary") if isinstance(data, dict) else None


async def watermark_command(capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["watermark", NAME]) == 0
    return capsys.readouterr().out.splitlines()


def current_key() -> str:
    job = load_job(NAME)
    return delivery_key(job.fingerprint, resolve(job.target.url, job.name))


@pytest.mark.timeout(600)
async def test_every_other_day_refused_then_the_nightly_sends_only_those_days(
    job_file: date, target: ReceiverProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    first, today = job_file, job_file + DAYS * DAY
    await clear_ledger(NAME)
    target.set_faults(reject_field="sensor_id", reject_value="BAD")

    state, summary = await run(start=first, end=today)

    assert state.is_failed() and summary is not None
    assert summary.total("dead") == DAYS // 2 and summary.total("acked") == DAYS + DAYS // 2 - 150
    ledger = await read_ledger(NAME)
    key, good = (
        current_key(),
        [(utc(first + n * DAY), utc(first + (n + 1) * DAY)) for n in range(0, DAYS, 2)],
    )
    assert ledger.by_key[key] == good, "all 150 delivered windows recorded"
    assert ledger.delivered == good
    assert ledger.watermark(origin(load_job(NAME)), key) == utc(first + DAY)
    lines = await watermark_command(capsys)
    assert lines[1].startswith(f"watermark    {first + DAY}T00:00:00Z")
    assert f"[{first}T00:00:00Z, {first + DAY}T00:00:00Z)" in lines[2]
    assert "… 138 more …" in lines[2] and "… 137 more …" in lines[3]  # 150 delivered, 149 gaps
    assert lines[4] == (
        f"target       {target.url} bulk index alternating (now): "
        f"watermark {first + DAY}T00:00:00Z, gaps {lines[3].removeprefix('gaps         ')}"
    )

    # The next night: nothing refused any more, no range given.
    target.set_faults()
    target.reset_stats()
    before = target.ids("alternating")
    state, summary = await run()

    assert state.is_completed(), state.message
    assert summary is not None and len(summary.windows) == DAYS - 1, "from the watermark"
    assert sum(w.skipped for w in summary.windows) == DAYS // 2 - 1, "the delivered days skipped"
    assert target.stats()["docs_written"] == DAYS, "150 refused days, two rows each"
    after = target.ids("alternating")
    resent = {doc for doc, version in after.items() if version != before.get(doc)}
    refused_days = {str(2 * n + id_) for n in range(1, DAYS, 2) for id_ in (1, 2)}
    assert resent == refused_days, "only the refused days were sent again"
    ledger = await read_ledger(NAME)
    assert ledger.delivered == ledger.by_key[key] == [(utc(first), utc(today))]

    # The job now points at a fresh index: it has only what was sent there.
    old_key = key
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEDGER_INDEX", "fresh")
        state, _ = await run(start=first + 10 * DAY, end=first + 13 * DAY)
        assert state.is_completed(), state.message
        lines = await watermark_command(capsys)
        ledger = await read_ledger(NAME)
        key = current_key()
        # A run with no start plans from this target's watermark: none, so first_start.
        planned, summary = await run(end=first + 12 * DAY, dry_run=True)

    assert key != old_key
    assert lines[1].startswith(f"watermark    {today}T00:00:00Z"), "the job as a whole"
    assert lines[3] == "gaps         none"
    assert lines[4] == (
        f"target       {target.url} bulk index fresh (now): watermark none, "
        f"gaps [{first}T00:00:00Z, {first + 10 * DAY}T00:00:00Z)"
    )
    assert lines[5] == (
        f"target       {target.url} bulk index alternating: watermark {today}T00:00:00Z, gaps none"
    )
    assert ledger.watermark(origin(load_job(NAME)), key) is None
    assert planned.is_completed(), planned.message
    assert summary is not None and len(summary.windows) == 12, "not the job-wide watermark"
    assert summary.start == f"{first}T00:00:00Z"
    await clear_ledger(NAME)
