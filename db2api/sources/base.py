"""What differs between databases, in one small class each (etlhelper's way).

A source kind knows its bind style (and the hint when SQL uses another's), how a
window's bounds are bound (aware datetimes, naive datetimes in the source's zone,
or text), what to do before and after connecting, and how to name the database
in an error without any secret.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, NoReturn

from etlhelper import DbParams

Bounds = Literal["aware", "naive", "text"]
Connection = Any


def strip_sql(sql: str) -> str:
    """SQL without surrounding blanks or a trailing ';', so it can sit inside another."""
    return sql.strip().rstrip(";").rstrip()


class SourceKind:
    dbtype = ""
    paramstyle = "named"
    start_bind, end_bind = ":start", ":end"
    default_bounds: Bounds = "naive"
    # Whether our test suite exercises this database against a real server.
    tested = True

    def check_sql(self, sql: str, fail: Callable[[str], NoReturn]) -> None:
        """Refuse SQL without this database's window binds, naming the right ones."""
        missing = [bind for bind in (self.start_bind, self.end_bind) if bind not in sql]
        if not missing:
            return
        other = {":start": "%(start)s", "%(start)s": ":start"}.get(self.start_bind, "")
        hint = f" (it uses {other}, which is another database's style)" if other in sql else ""
        fail(
            f"SQL for {self.dbtype} must use the binds {self.start_bind} and {self.end_bind} "
            f"(paramstyle {self.paramstyle}); missing {', '.join(missing)}{hint}: write e.g. "
            f"WHERE t >= {self.start_bind} AND t < {self.end_bind}"
        )

    def sample_sql(self, sql: str, rows: int) -> str:
        """The job's SQL limited to ``rows`` rows, for ``db2api check``: wrapped, never edited.

        The closing parenthesis goes on its own line, so a trailing ``--`` comment in
        the job's SQL cannot swallow it.
        """
        return f"SELECT * FROM (\n{strip_sql(sql)}\n) db2api_sample LIMIT {int(rows)}"

    def bind(self, start: Any, end: Any) -> dict[str, Any] | tuple[Any, ...]:
        return {"start": start, "end": end}

    def bound(self, local: datetime, style: Bounds) -> Any:
        """A bound already moved to the source's zone; ``aware`` is handled by the caller."""
        return local.strftime("%Y-%m-%d %H:%M:%S") if style == "text" else local

    def before_connect(self, params: dict[str, Any], chunk_size: int, job: str) -> None:
        """Checks and driver settings that must come before ``connect``."""

    def connect_options(self, job: str) -> dict[str, Any]:
        """Extra keyword arguments for the driver's ``connect``."""
        return {}

    def connect(self, params: dict[str, Any], password: str | None, job: str) -> Connection:
        """Open a connection, or raise ``ETLHelperConnectionError`` with the driver's error.

        A password is handed to the driver as a parameter, never spliced into a
        connection string: spaces, quotes, backslashes, ``=`` and non-ASCII
        characters then reach the server as they are and never leak in part.
        """
        return DbParams(**params).connect(None, **self.connect_options(job))

    def is_connection_lost(self, error: BaseException) -> bool:
        """Whether a failure while reading means the connection went away (worth a retry).

        DB-API drivers raise ``OperationalError`` or ``InterfaceError`` for that;
        anything else raised while reading is a fault of its own, not retried.
        """
        names = {klass.__name__ for klass in type(error).__mro__}
        return bool(names & {"OperationalError", "InterfaceError"}) or isinstance(
            error, ConnectionError
        )

    def after_connect(self, conn: Connection) -> None:
        """Session settings on a fresh connection."""

    def describe(self, params: dict[str, Any]) -> str:
        return (
            f"{self.dbtype} {params.get('user')}@{params.get('host')}:{params.get('port')}"
            f"/{params.get('dbname')}"
        )
