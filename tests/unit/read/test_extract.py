"""Window bounds are bound the way each database compares them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from etlhelper import DbParams

from db2api.job import Job, Source, Target
from db2api.read.extract import bind_parameters
from db2api.records.windows import Window

START = datetime(2024, 3, 31, 0, 0, tzinfo=UTC)


END = datetime(2024, 4, 1, 0, 0, tzinfo=UTC)


TARGET = Target(url="http://127.0.0.1:9200", index="readings")


SQL_OF = {
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
        sql=SQL_OF[dbtype],
        id="id",
        target=TARGET,
    )


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
