"""Oracle through oracledb's thin mode: named binds, naive bounds in the source's zone.

Not exercised by the test suite (no Oracle server can run here); the path is the
one etlhelper documents. Rows stream ``arraysize`` at a time: raised to the chunk
size for fewer round trips.
"""

from __future__ import annotations

from typing import Any

from etlhelper.exceptions import ETLHelperConnectionError

from db2api.sources.base import Connection, SourceKind, strip_sql


def keep_undecodable_text(cursor: Any, metadata: Any) -> Any:
    """An oracledb output type handler: character columns decode with surrogateescape."""
    import oracledb  # optional driver: imported when an Oracle job runs

    text_types = (
        oracledb.DB_TYPE_VARCHAR,
        oracledb.DB_TYPE_CHAR,
        oracledb.DB_TYPE_NVARCHAR,
        oracledb.DB_TYPE_NCHAR,
        oracledb.DB_TYPE_LONG,
    )
    if metadata.type_code in text_types:
        return cursor.var(
            metadata.type_code,
            arraysize=cursor.arraysize,
            encoding_errors="surrogateescape",
        )
    return None


class Oracle(SourceKind):
    dbtype = "ORACLE"
    tested = False

    def before_connect(self, params: dict[str, Any], chunk_size: int, job: str) -> None:
        import oracledb  # optional driver: imported when an Oracle job runs

        oracledb.defaults.arraysize = max(oracledb.defaults.arraysize, chunk_size)
        oracledb.defaults.prefetchrows = max(oracledb.defaults.prefetchrows, chunk_size)

    def sample_sql(self, sql: str, rows: int) -> str:
        # Oracle has no LIMIT; FETCH FIRST is 12c's row limiting clause (no AS before an alias).
        limit = f"FETCH FIRST {int(rows)} ROWS ONLY"
        return f"SELECT * FROM (\n{strip_sql(sql)}\n) db2api_sample {limit}"

    def after_connect(self, conn: Connection) -> None:
        # Text that does not decode keeps its bad bytes as lone surrogates instead of
        # failing the fetch: the document builder dead-letters that row, naming the column.
        conn.outputtypehandler = keep_undecodable_text

    def connect(self, params: dict[str, Any], password: str | None, job: str) -> Connection:
        # etlhelper 1.1.0 connects with "user/password@host:port/service", which a
        # password holding "/" or "@" breaks; oracledb takes the parts separately.
        import oracledb  # optional driver: imported when an Oracle job runs

        try:
            return oracledb.connect(
                user=params.get("user"),
                password=password,
                dsn=f"{params.get('host')}:{params.get('port')}/{params.get('dbname')}",
            )
        except oracledb.Error as exc:
            raise ETLHelperConnectionError(str(exc)) from exc

    def is_connection_lost(self, error: BaseException) -> bool:
        # python-oracledb raises DatabaseError for a dropped session: DPY-4011 (closed
        # by the database or network), ORA-03113/03114/03135 (end of file, not connected).
        text = str(error)
        lost = ("DPY-4011", "DPY-1001", "ORA-03113", "ORA-03114", "ORA-03135")
        return super().is_connection_lost(error) or any(code in text for code in lost)
