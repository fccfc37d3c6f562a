"""The delivered-ranges ledger: merged intervals, the watermark, gaps and what to skip."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from db2api.records.ledger import Ledger, delivery_key, describe, intersect, merge
from db2api.records.windows import Window


def day(n: int) -> datetime:
    return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n - 1)


def days(first: int, last: int) -> list[Window]:
    return [Window(day(n), day(n + 1)) for n in range(first, last + 1)]


KEY = delivery_key("fingerprint", "http://127.0.0.1:9200")


@pytest.mark.parametrize(
    ("given", "merged"),
    [
        ([(day(1), day(3)), (day(3), day(5))], [(day(1), day(5))]),  # touching
        ([(day(4), day(6)), (day(1), day(5))], [(day(1), day(6))]),  # overlapping, unsorted
        ([(day(1), day(2)), (day(3), day(4))], [(day(1), day(2)), (day(3), day(4))]),  # a gap
        ([(day(2), day(2))], []),  # empty
    ],
)
def test_merge(given, merged):
    assert merge(given) == merged


def test_january_in_any_order_ends_as_one_interval_and_the_watermark_at_its_end():
    weeks = [days(1, 7), days(8, 14), days(15, 21), days(22, 28), days(29, 31)]
    for order in itertools.permutations(weeks):
        ledger = Ledger()
        for week in order:
            ledger.record(KEY, week)
        assert ledger.delivered == [(day(1), day(32))]
        assert ledger.watermark(day(1)) == day(32)
        assert ledger.gaps(day(1)) == []


def test_a_later_range_never_moves_the_watermark_across_a_gap():
    ledger = Ledger()
    ledger.record(KEY, days(3, 4))  # a manual run of [03, 05) before anything else

    assert ledger.watermark(day(1)) is None, "first_start 01: days 1-2 were never sent"
    assert ledger.gaps(day(1)) == [(day(1), day(3))]
    ledger.record(KEY, days(1, 2))
    assert ledger.watermark(day(1)) == day(5)


def test_without_first_start_the_watermark_starts_at_the_earliest_delivered_window():
    ledger = Ledger()
    ledger.record(KEY, days(5, 6) + days(9, 9))

    assert ledger.watermark(None) == day(7)
    assert ledger.gaps(None) == [(day(7), day(9))]


def test_skipping_is_per_delivery_key_but_the_watermark_is_per_job():
    ledger = Ledger()
    ledger.record(KEY, days(1, 3))
    other = delivery_key("edited SQL", "http://127.0.0.1:9200")

    assert ledger.is_delivered(KEY, days(2, 2)[0])
    assert not ledger.is_delivered(other, days(2, 2)[0]), "a changed job sends again"
    assert not ledger.is_delivered(KEY, Window(day(3), day(5)))
    assert ledger.watermark(day(1)) == day(4)


def test_an_operator_watermark_counts_as_delivered_before_it_and_cuts_what_follows():
    ledger = Ledger()
    ledger.record(KEY, days(1, 10))
    ledger.set_watermark(day(5))

    assert ledger.watermark(day(1)) == day(5)
    assert ledger.is_delivered(KEY, days(8, 8)[0]), "those windows were delivered: still skipped"
    ledger.record(KEY, days(5, 6))
    assert ledger.watermark(day(1)) == day(7)


def test_a_new_target_has_its_own_watermark_and_gaps_from_first_start():
    ledger = Ledger()
    ledger.record(KEY, days(1, 30), label="http://old:9200 bulk index readings")
    fresh = delivery_key("fingerprint", "http://new:9200")
    ledger.record(fresh, days(28, 30), label="http://new:9200 bulk index readings")

    assert ledger.watermark(day(1)) == day(31), "the job as a whole has everything"
    assert ledger.watermark(day(1), KEY) == day(31)
    assert ledger.watermark(day(1), fresh) is None, "the new target misses days 1-27"
    assert ledger.gaps(day(1), fresh) == [(day(1), day(28))]
    assert ledger.watermark(day(1), "never used") is None
    assert ledger.labels == {
        KEY: "http://old:9200 bulk index readings",
        fresh: "http://new:9200 bulk index readings",
    }


def test_a_keys_windows_cut_by_the_operator_count_again_once_recorded_again():
    ledger = Ledger()
    ledger.record(KEY, days(1, 10))
    ledger.set_watermark(day(5))

    assert ledger.watermark(day(1), KEY) == day(5), "what --set cut does not count"
    assert ledger.is_delivered(KEY, days(8, 8)[0]), "but is still skipped"
    ledger.record(KEY, days(5, 8))  # a nightly run skips 5-8 and records them again
    assert ledger.watermark(day(1), KEY) == day(9)


def test_labels_go_with_the_keys_dropped():
    ledger = Ledger()
    for n in range(6):
        ledger.record(f"key{n}", days(1, 1), label=f"target {n}")

    assert list(ledger.by_key) == ["key2", "key3", "key4", "key5"]
    assert set(ledger.labels) == set(ledger.by_key)


@pytest.mark.parametrize(
    ("left", "right", "common"),
    [
        (
            [(day(1), day(10))],
            [(day(3), day(4)), (day(6), day(12))],
            [(day(3), day(4)), (day(6), day(10))],
        ),
        ([(day(1), day(2))], [(day(2), day(3))], []),  # touching is not overlapping
        ([], [(day(1), day(2))], []),
    ],
)
def test_intersect(left, right, common):
    assert intersect(left, right) == common
    assert intersect(right, left) == common


def test_a_ledger_in_its_first_form_reads_as_before():
    text = (
        '{"floor": "2024-01-03T00:00:00Z", "delivered": [["2024-01-01T00:00:00Z", '
        '"2024-01-05T00:00:00Z"]], "by_key": {"abc": [["2024-01-04T00:00:00Z", '
        '"2024-01-05T00:00:00Z"]]}}'
    )
    ledger = Ledger.from_json(text)

    assert ledger.floor == day(3)
    assert ledger.delivered == [(day(1), day(5))]
    assert ledger.by_key == {"abc": [(day(4), day(5))]}


def test_describe_shortens_long_lists_and_says_how_many_are_left_out():
    intervals = [(day(2 * n), day(2 * n + 1)) for n in range(1, 31)]

    text = describe(intervals, limit=4)
    assert text.startswith("[2024-01-02T00:00:00Z, 2024-01-03T00:00:00Z) [2024-01-04")
    assert "… 26 more …" in text
    assert text.endswith("[2024-02-29T00:00:00Z, 2024-03-01T00:00:00Z)")
    assert describe(intervals).count("[") == 30
    assert describe([]) == "none"
