import itertools
from datetime import UTC, datetime

import pytest

from db2api.errors import RangeError
from db2api.orchestration.backfill import idempotency_key, split_parts
from tests.support.jobs import unit_job as job


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("per", "labels"),
    [
        ("month", ["2024-01-20→2024-02-01", "2024-02-01→2024-03-01", "2024-03-01→2024-03-05"]),
        ("year", ["2024-01-20→2024-03-05"]),
        (
            "week",
            [
                "2024-01-20→2024-01-22",
                "2024-01-22→2024-01-29",
                "2024-01-29→2024-02-05",
                "2024-02-05→2024-02-12",
                "2024-02-12→2024-02-19",
                "2024-02-19→2024-02-26",
                "2024-02-26→2024-03-04",
                "2024-03-04→2024-03-05",
            ],
        ),
        ("20", ["2024-01-20→2024-02-09", "2024-02-09→2024-02-29", "2024-02-29→2024-03-05"]),
    ],
)
def test_parts_follow_calendar_lines_and_whole_windows(per, labels):
    parts = split_parts(job(), "2024-01-20", "2024-03-05", per)

    assert [part.label for part in parts] == labels
    windows = [w for part in parts for w in part.windows]
    assert windows[0].start == utc(2024, 1, 20) and windows[-1].end == utc(2024, 3, 5)
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))
    assert len(windows) == 45


def test_days_are_the_jobs_local_days():
    parts = split_parts(job(timezone="Europe/London"), "2024-03-30", "2024-04-02", "day")

    assert [(p.start, p.end) for p in parts] == [
        (utc(2024, 3, 30), utc(2024, 3, 31)),
        (utc(2024, 3, 31), utc(2024, 3, 31, 23)),  # the 23-hour day
        (utc(2024, 3, 31, 23), utc(2024, 4, 1, 23)),
    ]


@pytest.mark.parametrize(
    ("per", "message"),
    [
        ("fortnight", "--per 'fortnight' is not understood: use day, week, month, year"),
        ("0", "--per 0: give at least 1 window per part"),
    ],
)
def test_bad_per_is_a_clear_error(per, message):
    with pytest.raises(RangeError, match=message):
        split_parts(job(), "2024-01-01", "2024-02-01", per)


def test_a_reversed_backfill_is_refused():
    with pytest.raises(RangeError, match="range is reversed"):
        split_parts(job(), "2024-02-01", "2024-01-01")


def test_idempotency_keys_name_the_job_and_part_and_differ_when_forced():
    [part] = split_parts(job(), "2024-01-01", "2024-02-01", "month")

    key = idempotency_key(job(), part, force=False)
    assert key == "db2api-backfill/unit/2024-01-01T00:00:00Z/2024-02-01T00:00:00Z"
    assert idempotency_key(job(), part, force=False) == key
    assert idempotency_key(job(), part, force=True) == key + "/force"
