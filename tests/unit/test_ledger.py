"""The delivered-ranges ledger: merged intervals, the watermark, gaps and what to skip."""

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from db2api.errors import Db2apiError
from db2api.ledger import Ledger, delivery_key, merge
from db2api.windows import Window


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


def test_the_record_round_trips_and_stays_within_a_variable():
    ledger = Ledger()
    windows = days(1, 366)
    random.Random(7).shuffle(windows)
    for window in windows:
        ledger.record(KEY, [window])
    text = ledger.to_json()

    assert len(text) < 200, "a year of windows is one interval"
    assert Ledger.from_json(text) == ledger


def test_old_delivery_keys_are_dropped_first_when_the_record_grows():
    ledger = Ledger()
    scattered = [w for i in range(40) for w in days(1 + 2 * i, 1 + 2 * i)]
    for n in range(4):
        ledger.record(f"key{n}", scattered)
    text = ledger.to_json()

    assert len(text) <= 5000
    assert "key3" in text and "key0" not in text


def test_a_record_too_large_for_a_variable_is_one_line_naming_the_fix():
    ledger = Ledger()
    ledger.record(KEY, [w for i in range(200) for w in days(1 + 2 * i, 1 + 2 * i)])

    with pytest.raises(Db2apiError) as caught:
        ledger.to_json()
    assert str(caught.value) == (
        "the delivered-ranges ledger has 200 separate intervals, more than a Prefect Variable "
        "holds: run the gaps that `db2api watermark JOB` lists"
    )
