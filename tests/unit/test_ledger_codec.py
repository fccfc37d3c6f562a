"""The ledger as an index and shards: no size cliff, each shard within a Prefect Variable."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from db2api.job import MAX_NAME
from db2api.records.ledger import Ledger, delivery_key
from db2api.records.ledger_codec import (
    SHARD_BYTES,
    index_name,
    is_packed,
    is_shard_of,
    is_whole,
    pack,
    shard_name,
    unpack,
)
from db2api.records.windows import Window

VARIABLE_BYTES = 5000  # prefect.types.MAX_VARIABLE_VALUE_LENGTH
DAY = timedelta(days=1)
LONDON = ZoneInfo("Europe/London")


def every_other_day(first: datetime, count: int) -> list[Window]:
    return [Window(first + n * DAY, first + (n + 1) * DAY) for n in range(0, count, 2)]


def through_json(value: object) -> object:
    """What a Variable gives back: the value after a round trip through JSON."""
    return orjson.loads(orjson.dumps(value))


def round_trip(ledger: Ledger) -> Ledger:
    packed = pack(ledger)
    return unpack(through_json(packed.index), [through_json(s) for s in packed.shards])  # type: ignore[arg-type]


def test_ten_years_of_every_other_day_for_three_targets_fit_in_a_few_shards():
    ledger = Ledger(floor=datetime(2014, 6, 1, tzinfo=UTC))
    for n in range(3):
        key = delivery_key(f"fingerprint {n}", f"http://127.0.0.1:92{n:02d}")
        first = datetime(2015, 1, 1 + 2 * n, tzinfo=UTC)  # the same days missing
        ledger.record(key, every_other_day(first, 3653), label=f"http://127.0.0.1:92{n:02d} …")
    packed = pack(ledger)

    assert len(ledger.delivered) == 1829
    assert all(len(ledger.by_key[key]) == 1827 for key in ledger.by_key)
    sizes = [len(orjson.dumps(shard)) for shard in packed.shards]
    assert max(sizes) <= SHARD_BYTES < VARIABLE_BYTES
    assert len(orjson.dumps(packed.index)) < 1000, "the index does not grow with the intervals"
    assert len(packed.shards) <= 10, f"the deltas are small: {sizes}"
    assert round_trip(ledger) == ledger


@pytest.mark.parametrize(
    "windows",
    [
        [],  # nothing delivered: an index and no shard
        # hours in a timezone with a daylight-saving change, scattered
        [
            Window(s.astimezone(LONDON), (s + timedelta(hours=1)).astimezone(LONDON))
            for s in (
                datetime(2024, 3, 30, tzinfo=UTC) + timedelta(hours=3 * n) for n in range(200)
            )
        ],
        # exact moments down to the microsecond, before 1970 too
        [
            Window(
                datetime(1969, 12, 31, 23, 59, 59, 5, tzinfo=UTC), datetime(1970, 1, 2, tzinfo=UTC)
            ),
            Window(
                datetime(2024, 5, 1, 6, 30, 1, 250, tzinfo=UTC), datetime(2024, 5, 1, 7, tzinfo=UTC)
            ),
        ],
    ],
)
def test_any_windows_round_trip(windows: list[Window]) -> None:
    ledger = Ledger()
    random.Random(3).shuffle(windows)
    for window in windows:
        ledger.record("k1", [window], label="http://x bulk index i")

    assert round_trip(ledger) == ledger


def test_the_generation_names_the_content():
    ledger = Ledger()
    ledger.record("k1", every_other_day(datetime(2024, 1, 1, tzinfo=UTC), 10))
    same = pack(ledger).generation

    assert pack(ledger).generation == same, "nothing to write when nothing changed"
    ledger.record("k1", every_other_day(datetime(2024, 1, 2, tzinfo=UTC), 2))
    assert pack(ledger).generation != same
    assert is_packed(pack(ledger).index)
    assert not is_packed({"delivered": [], "by_key": {}}), "the first form"


def test_names_follow_prefects_variable_rules_and_never_mix_jobs():
    from prefect.types.names import raise_on_name_alphanumeric_dashes_underscores_only as check

    job = "sensors_2-b"
    for name in (index_name(job), shard_name(job, "b", 12)):
        assert check(name) == name
    assert is_shard_of(shard_name(job, "b", 12), job)
    assert not is_shard_of(shard_name(f"{job}-x", "a", 0), job)
    assert not is_shard_of(shard_name(job, "a", 0), f"{job}-x")
    assert not is_shard_of(index_name(job), job)
    longest = "j" * MAX_NAME
    assert len(shard_name(longest, "b", 99999)) <= 255 and len(index_name(longest)) <= 255


def test_a_reader_knows_shards_rewritten_under_it():
    ledger = Ledger()
    ledger.record("k1", every_other_day(datetime(2024, 1, 1, tzinfo=UTC), 4000))
    before = pack(ledger, "a")
    ledger.record("k1", every_other_day(datetime(2035, 1, 1, tzinfo=UTC), 2))
    after = pack(ledger, "a")  # two changes later, the same slot again

    assert len(before.shards) > 1
    assert is_whole(before.index, before.shards)
    torn = [after.shards[0], *before.shards[1:]]
    assert not is_whole(before.index, torn), "read again"
    assert not is_whole(before.index, [None, *before.shards[1:]]), "a shard not there yet"
