"""Oracle: which errors mean the session went away (worth a retry) and which are faults."""

from __future__ import annotations

import pytest

from db2api.sources import SOURCES


class DatabaseError(Exception):
    """python-oracledb's class name for both a dropped session and a bad query."""


class OperationalError(Exception):
    pass


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (DatabaseError("DPY-4011: the database or network closed the connection"), True),
        (DatabaseError("DPY-1001: not connected to database"), True),
        (DatabaseError("ORA-03113: end-of-file on communication channel"), True),
        (DatabaseError("ORA-03114: not connected to ORACLE"), True),
        (DatabaseError("ORA-03135: connection lost contact"), True),
        (OperationalError("anything"), True),
        (ConnectionResetError("reset by peer"), True),
        (DatabaseError("ORA-00942: table or view does not exist"), False),
        (DatabaseError("ORA-01722: invalid number"), False),
    ],
)
def test_a_dropped_session_is_lost_and_a_bad_query_is_not(error: Exception, lost: bool) -> None:
    assert SOURCES["ORACLE"].is_connection_lost(error) is lost
