"""Source kinds, by etlhelper's ``dbtype``.

Adding a database is one module with a :class:`~db2api.sources.base.SourceKind`
subclass, a line here and a row in the README's "Sources" table.
"""

from __future__ import annotations

from db2api.sources.base import SourceKind
from db2api.sources.mssql import Mssql
from db2api.sources.oracle import Oracle
from db2api.sources.postgres import Postgres
from db2api.sources.sqlite import Sqlite

SOURCES: dict[str, SourceKind] = {
    kind.dbtype: kind for kind in (Sqlite(), Postgres(), Oracle(), Mssql())
}

__all__ = ["SOURCES", "SourceKind"]
