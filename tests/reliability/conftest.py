"""Fixtures for the reliability suite: a 51,840-row PostgreSQL source and a private receiver.

The source table ``reliability_readings`` is built once and kept (it is checked, not
rebuilt, by later sessions), so the suite spends its time on faults, not on inserts.
The receiver is this package's own process, so hung requests and outages injected
here never reach the rest of the test session.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from db2api.ops import demodata
from db2api.receiver import ReceiverProcess
from tests.support.reliability import DAYS, ROWS, SENSORS, START, TABLE, connect, wait_idle


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reliability: fault-injection runs (storms, outages, crashes, lost databases)"
    )


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
