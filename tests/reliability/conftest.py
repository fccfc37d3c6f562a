"""Fixtures for the reliability suite: a 51,840-row PostgreSQL source and a private receiver.

The source table ``reliability_readings`` is built once and kept (it is checked, not
rebuilt, by later sessions), so the suite spends its time on faults, not on inserts.
The receiver is this package's own process, so hung requests and outages injected
here never reach the rest of the test session.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from db2api.job import Job
from db2api.ops import demodata
from db2api.receiver import ReceiverProcess
from tests.conftest import PG_PASSWORD_ENV
from tests.support.jobs import postgres_job

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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reliability: fault-injection runs (storms, outages, crashes, lost databases)"
    )


def reliability_job(params: dict[str, Any], url: str, mode: str, name: str, **changes: Any) -> Job:
    """The test readings job over ``reliability_readings``."""
    job = postgres_job(params, PG_PASSWORD_ENV, url, mode)
    return replace(job, name=name, sql=SQL, **changes)


def connect(params: dict[str, Any]) -> Any:
    import psycopg2

    return psycopg2.connect(password=os.environ[PG_PASSWORD_ENV], **params)


@pytest.fixture(scope="session")
def reliability_source(postgres: dict[str, Any]) -> dict[str, Any]:
    """Connection parameters; the table holds exactly ``ROWS`` rows on return.

    An advisory lock makes two sessions building it at once take turns.
    """
    from psycopg2.extras import execute_values

    conn = connect(postgres)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (TABLE,))
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,))
            exists = cur.fetchone()[0]
            count = -1
            if exists:
                cur.execute(f"SELECT count(*), coalesce(max(reading_id), 0) FROM {TABLE}")
                count, top = cur.fetchone()
                count = count if top == ROWS else -1
            if count != ROWS:
                cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
                cur.execute(
                    f"""CREATE TABLE {TABLE} (
                        reading_id integer PRIMARY KEY, sensor_id text, borehole text,
                        measured_at timestamptz NOT NULL, depth_m double precision,
                        value double precision, unit text, quality text)"""
                )
                rows = (
                    (r[0], r[1], r[2], f"{r[3]}+00", *r[4:])
                    for r in demodata.iter_readings(START, DAYS, SENSORS)
                )
                execute_values(cur, f"INSERT INTO {TABLE} VALUES %s", rows, page_size=5000)
                cur.execute(f"CREATE INDEX ON {TABLE} (measured_at)")
    finally:
        conn.close()
    return postgres


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


@pytest.fixture(scope="session")
def storm_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverProcess]:
    with ReceiverProcess(data=tmp_path_factory.mktemp("rel-receiver") / "docs.sqlite") as rx:
        yield rx


@pytest.fixture
def rx(storm_receiver: ReceiverProcess) -> Iterator[ReceiverProcess]:
    """The reliability receiver, emptied, with no faults; quiet again afterwards."""
    storm_receiver.set_faults()
    wait_idle(storm_receiver)
    storm_receiver.reset()
    yield storm_receiver
    storm_receiver.set_faults()


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
