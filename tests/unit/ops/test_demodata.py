"""The demo's source: every sensor every 15 minutes from midnight, the same rows every build."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from db2api.ops.demodata import build, iter_readings


@pytest.mark.parametrize(("days", "sensors"), [(1, 1), (1, 3), (2, 5)])
def test_each_sensor_reads_every_quarter_hour_of_every_day(days: int, sensors: int) -> None:
    rows = list(iter_readings(date(2024, 3, 30), days, sensors))

    assert len(rows) == days * 96 * sensors
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    assert rows[0][3] == "2024-03-30 00:00:00"
    assert rows[-1][3] == f"2024-03-{29 + days} 23:45:00"
    assert {row[1] for row in rows} == {f"S{s:03d}" for s in range(1, sensors + 1)}


def test_each_day_starts_with_readings_stamped_exactly_at_midnight() -> None:
    stamps = [row[3] for row in iter_readings(date(2024, 1, 1), 3, 2)]

    assert [s for s in stamps if s.endswith(" 00:00:00")] == [
        "2024-01-01 00:00:00",
        "2024-01-01 00:00:00",
        "2024-01-02 00:00:00",
        "2024-01-02 00:00:00",
        "2024-01-03 00:00:00",
        "2024-01-03 00:00:00",
    ]


def test_two_builds_are_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a.sqlite", tmp_path / "b.sqlite"

    assert build(first, date(2024, 1, 1), 1, 4) == build(second, date(2024, 1, 1), 1, 4) == 384
    with sqlite3.connect(first) as a, sqlite3.connect(second) as b:
        query = "SELECT * FROM readings ORDER BY reading_id"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


def test_a_rebuild_replaces_the_file_even_after_a_half_built_one(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "readings.sqlite"
    assert build(path, date(2024, 1, 1), 2, 1) == 192
    with sqlite3.connect(path.with_suffix(".partial")) as stale:  # a build killed half-way
        stale.execute("CREATE TABLE readings (reading_id INTEGER)")

    assert build(path, date(2024, 1, 1), 1, 1) == 96
    assert not path.with_suffix(".partial").exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (96,)
