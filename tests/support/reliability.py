"""The reliability suite's source and waits: a 51,840-row PostgreSQL table, the job that
reads it, the ids a window of it holds, and polling until the receiver is quiet or a
condition holds (bounded in time, each with what it waited for).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from db2api.job import Job
from db2api.receiver import ReceiverProcess
from tests.support.jobs import postgres_job
from tests.support.readings import PG_PASSWORD_ENV

TABLE = "reliability_readings"
START = date(2024, 1, 1)
DAYS = 6
SENSORS = 90
PER_DAY = 96 * SENSORS  # 8,640 rows a day
ROWS = DAYS * PER_DAY  # 51,840 rows
SQL = f"""
    SELECT reading_id, sensor_id, borehole, measured_at, depth_m, value, unit, quality
    FROM {TABLE} WHERE measured_at >= %(start)s AND measured_at < %(end)s
    ORDER BY measured_at, sensor_id
"""


def reliability_job(params: dict[str, Any], url: str, mode: str, name: str, **changes: Any) -> Job:
    """The test readings job over ``reliability_readings``."""
    job = postgres_job(params, PG_PASSWORD_ENV, url, mode)
    return replace(job, name=name, sql=SQL, **changes)


def connect(params: dict[str, Any]) -> Any:
    import psycopg2

    return psycopg2.connect(password=os.environ[PG_PASSWORD_ENV], **params)


def utc(moment: str) -> str:
    """'2024-01-02' or '2024-01-01T03:00' (UTC) as PostgreSQL timestamptz text."""
    return f"{moment}T00:00:00Z" if len(moment) == 10 else f"{moment}Z"


def source_ids(params: dict[str, Any], start: str = "2024-01-01", end: str = "2024-01-07") -> set:
    conn = connect(params)
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT reading_id FROM {TABLE} WHERE measured_at >= %s AND measured_at < %s",
                (utc(start), utc(end)),
            )
            return {str(row[0]) for row in cur.fetchall()}
    finally:
        conn.close()


def wait_idle(rx: ReceiverProcess, deadline: float = 30.0) -> None:
    """Wait until no request is in the receiver (a hung one finishes its write first)."""
    end = time.monotonic() + deadline
    while rx.stats()["in_flight"] > 0:
        assert time.monotonic() < end, f"the receiver still has requests after {deadline:g}s"
        time.sleep(0.1)


async def until(predicate: Callable[[], bool], deadline: float, what: str) -> None:
    end = time.monotonic() + deadline
    while not await asyncio.to_thread(predicate):
        assert time.monotonic() < end, f"{what}: not reached within {deadline:g}s"
        await asyncio.sleep(0.1)
