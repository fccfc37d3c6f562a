"""The suite's source: the demo's readings (tests/conftest.py builds them in SQLite and
PostgreSQL), the test database's parameters, and the ids a window of them holds."""

from __future__ import annotations

import os
import sqlite3
from datetime import date
from pathlib import Path

PG_PASSWORD_ENV = "DB2API_TEST_PG_PASSWORD"
PG_PARAMS = {
    "host": os.environ.get("DB2API_TEST_PG_HOST", "127.0.0.1"),
    "port": os.environ.get("DB2API_TEST_PG_PORT", "5432"),
    "dbname": os.environ.get("DB2API_TEST_PG_DB", "db2api_test"),
    "user": os.environ.get("DB2API_TEST_PG_USER", "db2api"),
}
SOURCE_START = date(2024, 1, 1)
SOURCE_DAYS = 4
SOURCE_SENSORS = 6  # 6 sensors x 96 readings a day x 4 days = 2,304 rows

DEMO_ID = "sensor_id || ':' || measured_at"  # the demo job's id: ["sensor_id", "measured_at"]


def sqlite_ids(
    path: Path, start: str = "0000", end: str = "9999", key: str = "reading_id"
) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            f"SELECT {key} FROM readings WHERE measured_at >= ? AND measured_at < ?",
            (start, end),
        ).fetchall()
    return {str(row[0]) for row in rows}
