"""MSSQL without pyodbc says what to install."""

from __future__ import annotations

import importlib.util

import pytest

from db2api.errors import SourceError
from tests.support.sources import PARAMS, job_for


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
