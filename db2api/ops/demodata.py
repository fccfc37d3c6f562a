"""The demo's source: a SQLite file of borehole sensor readings.

Every sensor reports every 15 minutes, so each day holds readings stamped exactly
at 00:00:00: the window boundaries the half-open ``[start, end)`` rule must put in
exactly one window. Values are deterministic, so two builds are identical.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

DEMO_START = date(2024, 1, 1)
DEMO_DAYS = 31
DEMO_SENSORS = 42
STEP = timedelta(minutes=15)
UNITS = ("degC", "kPa", "mm", "uS/cm", "pH", "m")

SCHEMA = """
CREATE TABLE readings (
    reading_id  INTEGER PRIMARY KEY,
    sensor_id   TEXT NOT NULL,
    borehole    TEXT NOT NULL,
    measured_at TEXT NOT NULL,  -- UTC, 'YYYY-MM-DD HH:MM:SS'
    depth_m     REAL NOT NULL,
    value       REAL,
    unit        TEXT NOT NULL,
    quality     TEXT NOT NULL
);
CREATE INDEX readings_measured_at ON readings (measured_at);
"""


def iter_readings(
    start: date = DEMO_START, days: int = DEMO_DAYS, sensors: int = DEMO_SENSORS
) -> Iterator[tuple[object, ...]]:
    moment = datetime.combine(start, datetime.min.time())
    end = moment + timedelta(days=days)
    reading_id = 0
    while moment < end:
        stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
        phase = (moment - datetime(2024, 1, 1)).total_seconds() / 86400
        for s in range(sensors):
            reading_id += 1
            value = round(10 + 5 * math.sin(phase * 2 * math.pi + s) + (reading_id % 7) / 10, 3)
            quality = "suspect" if reading_id % 97 == 0 else "good"
            yield (
                reading_id,
                f"S{s + 1:03d}",
                f"BH-{s // 3 + 1:02d}",
                stamp,
                round(2.5 * (s % 3 + 1), 1),
                value,
                UNITS[s % len(UNITS)],
                quality,
            )
        moment += STEP


def build(
    path: Path, start: date = DEMO_START, days: int = DEMO_DAYS, sensors: int = DEMO_SENSORS
) -> int:
    """(Re)create the demo database; returns the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(partial) as conn:
        conn.executescript(SCHEMA)
        conn.executemany(
            "INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            iter_readings(start, days, sensors),
        )
        rows = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    conn.close()
    partial.replace(path)  # never leave a half-built file under the real name
    return int(rows)
