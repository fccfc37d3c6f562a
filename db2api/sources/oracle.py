"""Oracle through oracledb's thin mode: named binds, naive bounds in the source's zone.

Not exercised by the test suite (no Oracle server can run here); the path is the
one etlhelper documents. Rows stream ``arraysize`` at a time: raised to the chunk
size for fewer round trips.
"""

from __future__ import annotations

from typing import Any

from db2api.sources.base import SourceKind


class Oracle(SourceKind):
    dbtype = "ORACLE"
    tested = False

    def before_connect(self, params: dict[str, Any], chunk_size: int, job: str) -> None:
        import oracledb

        oracledb.defaults.arraysize = max(oracledb.defaults.arraysize, chunk_size)
        oracledb.defaults.prefetchrows = max(oracledb.defaults.prefetchrows, chunk_size)
