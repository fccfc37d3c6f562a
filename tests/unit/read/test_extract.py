"""Window bounds are bound the way each database compares them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from db2api.read.extract import bind_parameters
from db2api.records.windows import Window
from tests.support.sources import job_for

START = datetime(2024, 3, 31, 0, 0, tzinfo=UTC)

END = datetime(2024, 4, 1, 0, 0, tzinfo=UTC)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    ("dbtype", "expected"),
    [
        ("PG", {"start": START, "end": END}),
        ("SQLITE", {"start": "2024-03-31 00:00:00", "end": "2024-04-01 01:00:00"}),
        (
            "ORACLE",
            {"start": datetime(2024, 3, 31, 0, 0), "end": datetime(2024, 4, 1, 1, 0)},
        ),
        ("MSSQL", (datetime(2024, 3, 31, 0, 0), datetime(2024, 4, 1, 1, 0))),
    ],
)
def test_window_bounds_are_bound_the_way_each_database_compares_them(dbtype, expected):
    # Europe/London moves to summer time inside this window: the end is an hour on (BST).
    job = job_for(dbtype, timezone="Europe/London")

    assert bind_parameters(job, Window(START, END)) == expected
