"""Each source kind limits a sample and describes itself its own way."""

from __future__ import annotations

import sqlite3

import pytest

from db2api.sources import SOURCES
from tests.support.sources import job_for

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


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    ("dbtype", "description"),
    [
        ("SQLITE", "SQLITE x.sqlite"),
        ("PG", "PG reader@db:5432/survey"),
        ("ORACLE", "ORACLE reader@db:1521/ORCL"),
        ("MSSQL", "MSSQL reader@db:1433/survey"),
    ],
)
def test_a_source_is_described_without_secrets(dbtype, description):
    assert job_for(dbtype).source.describe("unit") == description
