"""Rows outside their window, duplicates across chunks, and a date_field the documents lack."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from db2api.errors import JobError
from db2api.receiver import ReceiverProcess
from db2api.run.catalog import load_job
from db2api.run.window import transfer_range
from tests.conftest import SOURCE_SENSORS, sqlite_ids
from tests.support.jobs import SQLITE_SQL, sqlite_job, unit_job

PER_DAY = SOURCE_SENSORS * 96


def test_rows_past_the_end_fail_the_window_in_one_line_never_as_duplicates(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    """`<= :end` reads the next day's first readings too: the mistake BETWEEN makes."""
    job = sqlite_job(
        str(sqlite_source),
        target.url,
        sql=SQLITE_SQL.replace("measured_at < :end", "measured_at <= :end"),
        date_field="measured_at",
    )

    summary = asyncio.run(transfer_range(job, "2024-01-01", "2024-01-02"))

    [report] = summary.windows
    assert report.duplicates == 0
    assert summary.fatal == (
        f"SQL returned {SOURCE_SENSORS} rows outside the window [2024-01-01, 2024-01-02) "
        "(first: id 577 at 2024-01-02T00:00:00Z): select with >= start AND < end, not BETWEEN"
    )


def test_the_job_check_refuses_between_over_the_binds() -> None:
    with pytest.raises(JobError) as caught:
        unit_job(sql="SELECT * FROM t WHERE t between :start   AND :end")
    assert str(caught.value) == (
        "job 'unit': SQL selects BETWEEN :start AND :end, which reads a row on the boundary in "
        "two windows: select with >= :start AND < :end, not BETWEEN"
    )


def test_a_date_field_the_documents_lack_fails_the_first_window_naming_their_fields(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    job = sqlite_job(str(sqlite_source), target.url, date_field="measured")

    summary = asyncio.run(transfer_range(job, "2024-01-01", "2024-01-03"))

    assert summary.total("duplicates") == 0 and not summary.ok
    assert summary.fatal.startswith(
        "job 'test-sqlite': date_field 'measured' is not in the documents; they have "
    )
    assert "measured_at" in summary.fatal and summary.fatal.endswith(": name one of those")


@pytest.mark.parametrize("mode", ["bulk", "item"])
def test_the_same_id_in_two_chunks_of_a_window_is_a_duplicate_and_nothing_is_lost(
    sqlite_source: Path, target: ReceiverProcess, dead_letter_dir: Path, mode: str
) -> None:
    """One id per sensor and day, 96 rows each, read in chunks of 100 rows."""
    job = sqlite_job(
        str(sqlite_source),
        target.url,
        mode,
        id=lambda row: f"{row['sensor_id']}@{row['measured_at'][:10]}",
        chunk_size=100,
        date_field="measured_at",
    )

    summary = asyncio.run(transfer_range(job, "2024-01-01", "2024-01-02"))

    [report] = summary.windows
    assert summary.ok, summary.failed
    assert (report.rows, report.acked, report.duplicates) == (
        PER_DAY,
        SOURCE_SENSORS,
        PER_DAY - SOURCE_SENSORS,
    )
    assert len(target.ids("readings")) == SOURCE_SENSORS


def test_the_demo_job_still_delivers_every_row_with_its_date_field_checked(
    demo_env: ReceiverProcess, sqlite_source: Path
) -> None:
    summary = asyncio.run(transfer_range(load_job("demo"), "2024-01-01", "2024-01-03"))

    assert summary.ok and summary.total("duplicates") == 0
    assert len(demo_env.ids("readings")) == len(
        sqlite_ids(sqlite_source, "2024-01-01", "2024-01-03", "sensor_id || ':' || measured_at")
    )
