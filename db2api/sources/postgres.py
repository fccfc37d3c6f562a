"""PostgreSQL: pyformat binds, aware bounds, a session in UTC and a server-side cursor.

etlhelper's default cursor loads the whole result at ``execute``; a named cursor
streams it instead. etlhelper recognises connections by class name, so the named
cursor goes in through ``conn.cursor_factory``.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from etlhelper.exceptions import ETLHelperConnectionError

from db2api.sources.base import Bounds, Connection, SourceKind


def _server_cursor_class() -> type:
    import psycopg2.extensions  # the driver: imported when a PostgreSQL job runs

    class ServerCursor(psycopg2.extensions.cursor):
        """A named cursor: rows stay on the server until ``fetchmany`` asks."""

        def __init__(self, conn: Any, name: str | None = None, **kwargs: Any) -> None:
            super().__init__(conn, name or f"db2api_{uuid.uuid4().hex}", **kwargs)
            self.itersize = 5000

        def close(self) -> None:
            # iter_chunks commits before its context manager closes the cursor, and
            # the commit already closed a named cursor on the server.
            with contextlib.suppress(psycopg2.Error):
                super().close()

    return ServerCursor


class Postgres(SourceKind):
    dbtype = "PG"
    paramstyle = "pyformat"
    start_bind, end_bind = "%(start)s", "%(end)s"
    default_bounds: Bounds = "aware"

    def connect_options(self, job: str) -> dict[str, Any]:
        # Named in pg_stat_activity, so a DBA can see (and stop) what db2api reads.
        return {"application_name": f"db2api {job}"}

    def connect(self, params: dict[str, Any], password: str | None, job: str) -> Connection:
        # etlhelper 1.1.0 builds "host=... password=<password>" unquoted, so a password
        # with a space or a quote breaks the DSN (and the parse error quotes part of
        # it); psycopg2 quotes keyword parameters itself.
        import psycopg2  # the driver: imported when a PostgreSQL job runs

        keys = ("host", "port", "dbname", "user")
        try:
            return psycopg2.connect(
                **{key: params[key] for key in keys if params.get(key) is not None},
                password=password,
                **self.connect_options(job),
            )
        except psycopg2.Error as exc:
            raise ETLHelperConnectionError(str(exc)) from exc

    def after_connect(self, conn: Connection) -> None:
        # timestamptz values then arrive in UTC and are written with "Z".
        with conn.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
        conn.commit()
        conn.cursor_factory = _server_cursor_class()
