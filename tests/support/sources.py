"""One job per database kind etlhelper names, for tests of how each source kind behaves."""

from __future__ import annotations

from etlhelper import DbParams

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


def job_for(dbtype: str, timezone: str = "UTC") -> Job:
    """A job reading ``dbtype`` (etlhelper warns when pyodbc is missing: filter UserWarning)."""
    return Job(
        name="unit",
        source=Source(db=DbParams(dbtype=dbtype, **PARAMS[dbtype]), timezone=timezone),
        sql=SQL_OF[dbtype],
        id="id",
        target=TARGET,
    )
