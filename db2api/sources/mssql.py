"""Microsoft SQL Server through etlhelper and pyodbc: two ``?`` binds, start then end.

Not exercised by the test suite. It needs ``pip install 'db2api[mssql]'`` (pyodbc)
and Microsoft's ODBC driver on the machine, named in ``DbParams(odbc_driver=...)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NoReturn

from etlhelper.exceptions import ETLHelperConnectionError

from db2api.errors import SourceError
from db2api.sources.base import Connection, SourceKind, strip_sql

# The statement's own ORDER BY, at its end (a call such as COALESCE(a, b) may follow),
# not a subquery's.
_ENDS_ORDERED = re.compile(r"\bORDER\s+BY\b(?:[^()]|\([^()]*\))*$", re.IGNORECASE)


def odbc_value(value: object) -> str:
    """An ODBC connection-string value in braces, so ';', '=' and spaces stay inside it."""
    return "{" + str(value).replace("}", "}}") + "}"


class Mssql(SourceKind):
    dbtype = "MSSQL"
    paramstyle = "qmark"
    start_bind, end_bind = "?", "?"
    tested = False

    def check_sql(self, sql: str, fail: Callable[[str], NoReturn]) -> None:
        if sql.count("?") != 2:
            fail(
                f"SQL for {self.dbtype} needs exactly two '?' binds, start then end, "
                "e.g. WHERE t >= ? AND t < ?"
            )

    def sample_sql(self, sql: str, rows: int) -> str:
        # SQL Server refuses ORDER BY in a derived table unless TOP or OFFSET is there too:
        # SQL ending in ORDER BY gets OFFSET ... FETCH appended, anything else TOP around it.
        text = strip_sql(sql)
        if _ENDS_ORDERED.search(text):
            return f"{text}\nOFFSET 0 ROWS FETCH NEXT {int(rows)} ROWS ONLY"
        return f"SELECT TOP ({int(rows)}) * FROM (\n{text}\n) AS db2api_sample"

    def bind(self, start: Any, end: Any) -> tuple[Any, ...]:
        return (start, end)

    def before_connect(self, params: dict[str, Any], chunk_size: int, job: str) -> None:
        try:
            import pyodbc  # noqa: F401
        except ImportError:
            raise SourceError(
                f"job {job!r} reads MSSQL, which needs pyodbc: pip install 'db2api[mssql]' "
                "and install Microsoft's ODBC driver for SQL Server"
            ) from None

    def connect(self, params: dict[str, Any], password: str | None, job: str) -> Connection:
        # etlhelper 1.1.0 writes "PWD=<password>" unquoted: a ";" in it would end it.
        import pyodbc  # optional driver (extra "mssql"): imported when a SQL Server job runs

        parts = {
            "DRIVER": params.get("odbc_driver"),
            "SERVER": f"tcp:{params.get('host')}",
            "PORT": params.get("port"),
            "DATABASE": params.get("dbname"),
            "UID": params.get("user"),
            "PWD": password,
        }
        text = ";".join(f"{key}={odbc_value(value)}" for key, value in parts.items())
        try:
            return pyodbc.connect(text)
        except pyodbc.Error as exc:
            raise ETLHelperConnectionError(str(exc)) from exc
