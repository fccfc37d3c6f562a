"""Deletes reach the target: PostgreSQL rows gone between two runs of a range, against the receiver.

Each test owns a copy of the readings in its own table, deletes rows from it,
and checks what the receiver actually holds afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from db2api.job import Job
from db2api.ops import demodata
from db2api.receiver import ReceiverProcess
from db2api.records.deadletters import deletions_path, iter_dead_letters
from db2api.records.windows import split
from db2api.run.resend import replay
from db2api.run.runtime import open_runtime
from db2api.run.transfer import run_windows
from db2api.run.window import run_window, transfer_range
from tests.support.jobs import postgres_job, to_document, with_target
from tests.support.readings import PG_PASSWORD_ENV, SOURCE_START

TABLE = "reconcile_readings"
START, END = "2024-01-01", "2024-01-03"
DAY1 = "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"
DAY2 = "2024-01-02T00:00:00Z/2024-01-03T00:00:00Z"
PER_DAY = 6 * 96


@pytest.fixture
def table(postgres: dict[str, Any]) -> Iterator[Any]:
    """Two days of readings in a table of this test's own; yields a connection to it."""
    import psycopg2
    from psycopg2.extras import execute_values

    conn = psycopg2.connect(password=os.environ[PG_PASSWORD_ENV], **postgres)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cur.execute(
            f"""CREATE TABLE {TABLE} (
                reading_id integer PRIMARY KEY, sensor_id text, borehole text,
                measured_at timestamptz NOT NULL, depth_m double precision,
                value double precision, unit text, quality text)"""
        )
        rows = [
            (r[0], r[1], r[2], f"{r[3]}+00", *r[4:])
            for r in demodata.iter_readings(SOURCE_START, 2, 6)
        ]
        execute_values(cur, f"INSERT INTO {TABLE} VALUES %s", rows, page_size=5000)
    yield conn
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
    conn.close()


def source_ids(conn: Any) -> set[str]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT reading_id FROM {TABLE}")
        return {str(row[0]) for row in cur.fetchall()}


def delete_rows(conn: Any, where: str) -> set[str]:
    with conn.cursor() as cur:
        cur.execute(f"DELETE FROM {TABLE} WHERE {where} RETURNING reading_id")
        return {str(row[0]) for row in cur.fetchall()}


def reconciling(postgres: dict[str, Any], url: str, **changes: Any) -> Job:
    job = postgres_job(postgres, PG_PASSWORD_ENV, url)
    job = replace(job, name="recon", sql=job.sql.replace("FROM readings", f"FROM {TABLE}"))
    return with_target(job, reconcile=True, **changes)


async def test_rows_deleted_from_the_source_vanish_from_the_target(
    table: Any, postgres: dict[str, Any], target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    job = reconciling(postgres, target.url)
    first = await transfer_range(job, START, END)
    assert first.ok and first.total("acked") == 2 * PER_DAY and first.total("deleted") == 0
    assert target.get("readings", "1") is not None
    assert target.get("readings", "1")["_db2api"] == {"job": "recon"}  # type: ignore[index]

    gone = delete_rows(table, "reading_id % 97 = 0")  # a few rows of both days

    second = await transfer_range(job, START, END)

    assert second.ok, second.failed
    assert [r.deleted for r in second.windows] == [
        sum(1 for i in gone if int(i) <= PER_DAY),
        sum(1 for i in gone if int(i) > PER_DAY),
    ]
    assert second.total("deleted") == len(gone) > 0
    assert set(target.ids("readings")) == source_ids(table)
    assert any(line.startswith(f"deleted      {len(gone)} documents") for line in second.lines())
    records = list(iter_dead_letters(deletions_path(second.dead_letter_file)))
    assert {r["id"] for r in records} == gone
    assert all(r["error"] == "Deleted" for r in records)
    assert all(r["document"]["reading_id"] == int(r["id"]) for r in records)


async def test_the_deletion_file_replays_the_documents_back(
    table: Any,
    postgres: dict[str, Any],
    target: ReceiverProcess,
    dead_letter_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = reconciling(postgres, target.url)
    await transfer_range(job, START, END)
    kept = {i: target.get("readings", i) for i in ("97", "194", "679")}
    gone = delete_rows(table, "reading_id IN (97, 194, 679)")
    summary = await transfer_range(job, START, END)
    assert summary.total("deleted") == 3 and not any(target.get("readings", i) for i in gone)

    monkeypatch.setattr("db2api.run.resend.load_job", lambda name: job)
    report = await replay(deletions_path(summary.dead_letter_file))

    assert (report.sent, report.delivered, report.failed) == (3, 3, 0)
    assert {i: target.get("readings", i) for i in gone} == kept


async def test_documents_of_another_job_in_the_same_index_and_range_survive(
    table: Any, postgres: dict[str, Any], target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    ours = reconciling(postgres, target.url)
    theirs = replace(ours, name="theirs", id=lambda row: f"theirs-{row['reading_id']}")
    assert (await transfer_range(theirs, START, END)).ok
    await transfer_range(ours, START, END)
    theirs_ids = {i for i in target.ids("readings") if i.startswith("theirs-")}
    assert len(theirs_ids) == 2 * PER_DAY

    gone = delete_rows(table, "reading_id % 50 = 0")
    summary = await transfer_range(ours, START, END)

    assert summary.ok and summary.total("deleted") == len(gone)
    held = set(target.ids("readings"))
    assert theirs_ids <= held  # every document of the other job is still there
    assert held - theirs_ids == source_ids(table)


async def test_a_query_that_returns_nothing_deletes_nothing_and_says_why(
    table: Any, postgres: dict[str, Any], target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    job = reconciling(postgres, target.url)
    await transfer_range(job, START, END)
    broken = replace(job, sql=job.sql.replace("WHERE", "WHERE sensor_id = 'nobody' AND"))

    summary = await transfer_range(broken, START, END)

    assert not summary.ok and summary.total("deleted") == 0
    assert len(target.ids("readings")) == 2 * PER_DAY
    assert summary.windows[0].error == (
        f"ReconcileRefused: window {DAY1}: the source returned 0 rows but the target holds "
        f"{PER_DAY} documents of job recon there; nothing deleted: check the SQL, or if the "
        "rows really are gone, run this range again with --max-delete-fraction 1 (flow "
        "parameter max_delete_fraction)"
    )
    assert not deletions_path(summary.dead_letter_file).exists()


async def test_the_fraction_guard_stops_a_mass_delete_until_the_run_allows_it(
    table: Any, postgres: dict[str, Any], target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    job = reconciling(postgres, target.url)
    await transfer_range(job, START, END)
    gone = delete_rows(table, "reading_id <= 115")  # 115 of day 1's 576: 20%

    refused = await transfer_range(job, START, END)

    assert [r.deleted for r in refused.windows] == [0, 0]
    assert len(target.ids("readings")) == 2 * PER_DAY
    assert refused.windows[0].error == (
        f"ReconcileRefused: window {DAY1}: 115 of the {PER_DAY} documents of job recon in the "
        "target (20%) are no longer returned by the source, more than max_delete_fraction "
        "0.1; nothing deleted: check the SQL, or if they really are gone, run this range "
        "again with --max-delete-fraction 0.2 (flow parameter max_delete_fraction)"
    )
    assert refused.windows[1].error == ""  # the other window had nothing to delete

    allowed = await transfer_range(job, START, END, max_delete_fraction=0.2)

    assert allowed.ok and allowed.total("deleted") == len(gone) == 115
    assert set(target.ids("readings")) == source_ids(table)


def spaced_time(row: dict[str, Any]) -> dict[str, Any]:
    """The time as text with a space: a target that maps the field as a keyword compares
    it as text, so a range over RFC 3339 bounds finds none of these documents."""
    return {**to_document(row), "measured_at": f"{row['measured_at']:%Y-%m-%d %H:%M:%S}"}


async def test_a_search_that_misses_what_was_just_delivered_deletes_nothing(
    table: Any, postgres: dict[str, Any], target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    job = replace(reconciling(postgres, target.url), transform=spaced_time)

    summary = await transfer_range(job, START, "2024-01-02")

    (report,) = summary.windows
    assert report.acked == PER_DAY and report.deleted == 0
    assert report.error.startswith(
        f"ReconcileRefused: window {DAY1}: the search for job recon's documents did not find "
        f"{PER_DAY} that the window just delivered (first: "
    )
    assert report.error.endswith(
        "nothing deleted: documents written before reconcile was on carry no marker (send the "
        "range again with --force), or _db2api.job is not mapped as keyword, or date_field "
        "'measured_at' does not hold the time the SQL selects on"
    )


async def test_a_window_that_has_not_settled_is_left_alone(
    table: Any, postgres: dict[str, Any], target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    job = reconciling(postgres, target.url)
    await transfer_range(job, START, END)
    delete_rows(table, "reading_id = 5")

    summary = await transfer_range(replace(job, lag="36500d"), START, END)

    assert summary.ok and summary.total("deleted") == 0
    assert target.get("readings", "5") is not None
    assert summary.windows[0].delete_note.startswith(
        "deletes not reconciled: the window ends after "
    )
    assert summary.windows[0].delete_note.endswith(
        "(now - lag); a later run of this range reconciles them"
    )


async def test_a_dry_run_lists_what_would_be_deleted(
    table: Any, postgres: dict[str, Any], target: ReceiverProcess, dead_letter_dir: Path
) -> None:
    job = reconciling(postgres, target.url)
    await transfer_range(job, START, END)
    delete_rows(table, "reading_id IN (3, 4, 600)")
    windows = split(START, END, job.window_length, job.timezone)

    async with open_runtime(job, "dry", dry_run=True) as runtime:
        reports, fatal = await run_windows(windows, lambda w: run_window(runtime, w))

    assert fatal is None
    assert [(r.deleted, r.delete_note) for r in reports] == [
        (2, "would delete 2: 3, 4"),
        (1, "would delete 1: 600"),
    ]
    assert {"3", "4", "600"} <= set(target.ids("readings"))  # nothing was deleted
