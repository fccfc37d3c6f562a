"""Source kinds: how each database binds a window, and what it says when it cannot."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime

import pytest
from etlhelper import DbParams

from db2api.errors import SourceError
from db2api.job import Job, Source, Target
from db2api.read.extract import bind_parameters
from db2api.records.windows import Window
from db2api.sources import SOURCES

START = datetime(2024, 3, 31, 0, 0, tzinfo=UTC)
END = datetime(2024, 4, 1, 0, 0, tzinfo=UTC)
TARGET = Target(url="http://127.0.0.1:9200", index="readings")
SQL = {
    "SQLITE": "SELECT * FROM r WHERE t >= :start AND t < :end",
    "ORACLE": "SELECT * FROM r WHERE t >= :start AND t < :end",
    "PG": "SELECT * FROM r WHERE t >= %(start)s AND t < %(end)s",
    "MSSQL": "SELECT * FROM r WHERE t >= ? AND t < ?",
}
PARAMS = {
    "SQLITE": {"filename": "x.sqlite"},
    "ORACLE": {"host": "db", "port": 1521, "dbname": "ORCL", "user": "reader"},
    "PG": {"host": "db", "port": 5432, "dbname": "survey", "user": "reader"},
    "MSSQL": {
        "host": "db",
        "port": 1433,
        "dbname": "survey",
        "user": "reader",
        "odbc_driver": "ODBC Driver 18 for SQL Server",
    },
}


@pytest.mark.filterwarnings("ignore::UserWarning")  # etlhelper warns when pyodbc is missing
def job_for(dbtype: str, timezone: str = "UTC") -> Job:
    return Job(
        name="unit",
        source=Source(db=DbParams(dbtype=dbtype, **PARAMS[dbtype]), timezone=timezone),
        sql=SQL[dbtype],
        id="id",
        target=TARGET,
    )


def test_every_database_etlhelper_names_has_a_kind():
    assert sorted(SOURCES) == ["MSSQL", "ORACLE", "PG", "SQLITE"]
    assert [d for d, kind in SOURCES.items() if not kind.tested] == ["ORACLE", "MSSQL"]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    ("dbtype", "expected"),
    [
        ("PG", {"start": START, "end": END}),
        ("SQLITE", {"start": "2024-03-31 00:00:00", "end": "2024-04-01 01:00:00"}),
        (
            "ORACLE",
            {"start": datetime(2024, 3, 31, 0, 0), "end": datetime(2024, 4, 1, 1, 0)},
        ),
        ("MSSQL", (datetime(2024, 3, 31, 0, 0), datetime(2024, 4, 1, 1, 0))),
    ],
)
def test_window_bounds_are_bound_the_way_each_database_compares_them(dbtype, expected):
    # Europe/London moves to summer time inside this window: the end is an hour on (BST).
    job = job_for(dbtype, timezone="Europe/London")

    assert bind_parameters(job, Window(START, END)) == expected


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


@pytest.mark.skipif(importlib.util.find_spec("pyodbc") is not None, reason="pyodbc is installed")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mssql_without_pyodbc_says_what_to_install():
    job = job_for("MSSQL")

    with pytest.raises(SourceError) as caught:
        job.source.kind.before_connect(PARAMS["MSSQL"], 5000, job.name)

    assert caught.value.message == (
        "job 'unit' reads MSSQL, which needs pyodbc: pip install 'db2api[mssql]' and install "
        "Microsoft's ODBC driver for SQL Server"
    )
