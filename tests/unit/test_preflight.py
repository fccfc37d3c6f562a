"""``db2api check``'s pure parts: sampling SQL per source, the window, the table, the mapping."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

import pytest

from db2api.ops.check import recent_window
from db2api.ops.results import Result, fail, ok, passed, render, skip
from db2api.scrub import SCRUBBER
from db2api.sources import SOURCES
from db2api.targets.es_reconcile import mapping_problem
from tests.support.jobs import unit_job

SQL = "SELECT id, t FROM events WHERE t >= :start AND t < :end ORDER BY t"


@pytest.mark.parametrize(
    ("dbtype", "sql", "expected"),
    [
        ("SQLITE", SQL, f"SELECT * FROM (\n{SQL}\n) db2api_sample LIMIT 5"),
        ("PG", f"  {SQL} ;\n", f"SELECT * FROM (\n{SQL}\n) db2api_sample LIMIT 5"),
        (
            "ORACLE",
            SQL,
            f"SELECT * FROM (\n{SQL}\n) db2api_sample FETCH FIRST 5 ROWS ONLY",
        ),
        # SQL Server refuses ORDER BY inside a derived table without TOP/OFFSET.
        (
            "MSSQL",
            "SELECT a FROM t ORDER BY a",
            "SELECT a FROM t ORDER BY a\nOFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY",
        ),
        (
            "MSSQL",
            "SELECT a FROM t ORDER BY COALESCE(a, b) DESC;",
            "SELECT a FROM t ORDER BY COALESCE(a, b) DESC\nOFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY",
        ),
        (
            "MSSQL",
            "SELECT a FROM t",
            "SELECT TOP (5) * FROM (\nSELECT a FROM t\n) AS db2api_sample",
        ),
        (
            "MSSQL",
            "SELECT a FROM (SELECT a FROM t ORDER BY a) x WHERE a > 1",
            "SELECT TOP (5) * FROM (\nSELECT a FROM (SELECT a FROM t ORDER BY a) x WHERE a > 1\n)"
            " AS db2api_sample",
        ),
    ],
)
def test_each_source_limits_the_sample_its_own_way(dbtype: str, sql: str, expected: str) -> None:
    assert SOURCES[dbtype].sample_sql(sql, 5) == expected


def test_the_sample_runs_on_sqlite_even_after_a_trailing_comment() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE events (id INTEGER, t TEXT)")
    conn.executemany(
        "INSERT INTO events VALUES (?, ?)", [(i, f"2024-01-0{i}") for i in range(1, 8)]
    )
    sql = "SELECT id FROM events WHERE t >= :start AND t < :end ORDER BY t -- newest last"
    rows = conn.execute(
        SOURCES["SQLITE"].sample_sql(sql, 3), {"start": "2024-01-02", "end": "2024-01-09"}
    ).fetchall()
    assert rows == [(2,), (3,), (4,)]


def test_the_window_ends_at_the_given_day_in_the_jobs_zone() -> None:
    job = unit_job(timezone="Europe/Paris")
    window = recent_window(job, date(2024, 3, 31))  # the night clocks go forward: 23 hours
    assert window.start == datetime(2024, 3, 29, 23, tzinfo=UTC)
    assert window.end == datetime(2024, 3, 30, 23, tzinfo=UTC)


def test_the_default_window_ends_today_at_midnight() -> None:
    window = recent_window(unit_job())
    today = datetime.now(UTC).date()
    assert window.end == datetime(today.year, today.month, today.day, tzinfo=UTC)
    assert window.end - window.start == unit_job().window_length


def test_the_table_is_one_aligned_line_per_check() -> None:
    results = [
        ok("job", "demo: SQLITE -> bulk 'readings'"),
        fail("target reachable", "cannot reach target http://127.0.0.1:9"),
        skip("target auth", "not reachable"),
    ]
    assert render(results) == (
        "check             result  detail\n"
        "job               ok      demo: SQLITE -> bulk 'readings'\n"
        "target reachable  FAIL    cannot reach target http://127.0.0.1:9\n"
        "target auth       skip    not reachable"
    )
    assert not passed(results)
    assert passed([results[0], results[2]])


def test_a_detail_line_never_shows_a_secret_and_stays_one_line() -> None:
    SCRUBBER.add("hunter2-long-password")
    result = Result("source connect", "FAIL", "login hunter2-long-password\nrefused")
    assert result.detail == "login *** refused"


KEYWORD_JOB = {"_db2api": {"properties": {"job": {"type": "keyword"}}}}


@pytest.mark.parametrize(
    ("properties", "problem"),
    [
        ({"at": {"type": "date"}, **KEYWORD_JOB}, None),
        ({"at": {"type": "date_nanos"}, **KEYWORD_JOB}, None),
        (
            {"at": {"type": "text"}, **KEYWORD_JOB},
            "date_field 'at' is mapped as text (it needs date)",
        ),
        (
            {"at": {"type": "date"}, "_db2api": {"properties": {"job": {"type": "text"}}}},
            "_db2api.job is mapped as text (it needs keyword)",
        ),
        (
            {},
            "date_field 'at' is not mapped (it needs date) and _db2api.job is not mapped "
            "(it needs keyword)",
        ),
    ],
)
def test_reconcile_needs_a_date_field_and_a_keyword_marker(
    properties: dict[str, object], problem: str | None
) -> None:
    found = mapping_problem({"properties": properties}, "idx", "at")
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(f"index idx: {problem}: map them")


def test_a_dotted_date_field_is_found_inside_objects() -> None:
    mappings = {"properties": {"meta": {"properties": {"at": {"type": "date"}}}, **KEYWORD_JOB}}
    assert mapping_problem(mappings, "idx", "meta.at") is None
