"""MSSQL without pyodbc says what to install."""

from __future__ import annotations

import importlib.util

import pytest
from etlhelper import DbParams

from db2api.errors import SourceError
from db2api.job import Job, Source, Target

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
