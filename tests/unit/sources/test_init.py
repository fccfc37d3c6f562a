"""Every database etlhelper names has a source kind."""

from __future__ import annotations

from db2api.sources import SOURCES


def test_every_database_etlhelper_names_has_a_kind():
    assert sorted(SOURCES) == ["MSSQL", "ORACLE", "PG", "SQLITE"]
    assert [d for d, kind in SOURCES.items() if not kind.tested] == ["ORACLE", "MSSQL"]
