"""The compact record of a window's ids: exact for what it was given, flat in memory."""

from __future__ import annotations

from db2api.read.seen import BITS, WIDTH, SeenIds


def test_ids_seen_in_an_earlier_chunk_come_back_in_order() -> None:
    seen = SeenIds()
    assert seen.add_all(f"doc-{i}" for i in range(10_000)) == []
    again = seen.add_all(["new-1", "doc-42", "new-2", "doc-7"])
    assert again == ["doc-42", "doc-7"]
    assert len(seen) == 10_002


def test_an_id_repeated_within_one_call_is_reported_once_seen() -> None:
    seen = SeenIds()
    assert seen.add_all(["a", "b", "a", "a"]) == ["a", "a"]
    assert len(seen) == 2


def test_a_match_straddling_two_entries_is_not_taken_for_an_id() -> None:
    """Bytes of two neighbours can spell a third id's key: only aligned matches count."""
    seen = SeenIds()
    # Two entries in bucket 0 whose bytes, read across their border, spell a third key.
    first = (0x0A0B0C0D0E0F).to_bytes(WIDTH, "little")
    second = (0x010203040506).to_bytes(WIDTH, "little")
    straddle = first[3:] + second[:3]
    seen._buckets[0] = bytearray(first + second)
    key = int.from_bytes(straddle, "little") << BITS  # bucket 0, the straddling 48 bits

    class Id(str):
        def __hash__(self) -> int:
            return key

    assert seen.add_all([Id("straddling")]) == [], "a misaligned match is not a repeat"
    assert seen.add_all([Id("straddling")]) == [Id("straddling")], "the aligned one is"


def test_each_id_takes_a_few_bytes() -> None:
    seen = SeenIds()
    seen.add_all(f"station-{i}" for i in range(200_000))
    held = sum(len(bucket) for bucket in seen._buckets if bucket is not None)
    assert held == 200_000 * WIDTH
    assert len(seen) == 200_000
