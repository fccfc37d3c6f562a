"""The Oracle path without an Oracle server: what can be checked here is checked.

No Oracle database runs on these machines. These tests drive the real sensors
job through etlhelper and python-oracledb (thin mode) up to the network, and
check the bind values Oracle would get. Queries against a live Oracle are NOT
exercised by this suite.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from db2api.errors import SourceError
from db2api.read.extract import bind_parameters, connect
from db2api.records.windows import split
from db2api.run.catalog import load_job


@pytest.fixture
def sensors_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "SENSORS_DB_HOST": "127.0.0.1",
        "SENSORS_DB_PORT": "1",  # nothing listens on port 1
        "SENSORS_DB_SERVICE": "survey",
        "SENSORS_DB_USER": "reader",
        "SENSORS_DB_PASSWORD": "correct-horse-battery",
    }.items():
        monkeypatch.setenv(name, value)


def test_an_unreachable_oracle_is_one_line_naming_the_database(sensors_env: None) -> None:
    with pytest.raises(SourceError) as caught:
        connect(load_job("sensors"), None)

    message = str(caught.value)
    assert message.startswith(
        "cannot connect to ORACLE reader@127.0.0.1:1/survey (job 'sensors'): DPY-6005"
    )
    assert "Connection refused" in message and "\n" not in message
    assert "correct-horse-battery" not in message


def test_oracle_gets_naive_local_times_for_its_date_columns() -> None:
    job = load_job("sensors")
    # The night the clocks went forward in London: a 23-hour day.
    [window] = split("2024-03-31", "2024-04-01", job.window_length, job.timezone)

    assert bind_parameters(job, window) == {
        "start": datetime(2024, 3, 31, 0, 0),
        "end": datetime(2024, 4, 1, 0, 0),
    }
    assert (window.end - window.start).total_seconds() == 23 * 3600


def test_oracle_fetches_a_chunk_per_round_trip(sensors_env: None) -> None:
    import oracledb

    with pytest.raises(SourceError):
        connect(load_job("sensors"), None)
    assert oracledb.defaults.arraysize >= 5000 and oracledb.defaults.prefetchrows >= 5000
    assert oracledb.is_thin_mode()
