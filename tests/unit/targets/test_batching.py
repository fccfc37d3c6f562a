"""Batches keep both caps, fill to the byte cap exactly and keep every document once, in order."""

from __future__ import annotations

import pytest

from db2api.records.document import Document
from db2api.targets.batching import Batch, Framing, iter_batches, iter_weighed
from db2api.targets.es_bulk import BulkFraming, action_line
from db2api.targets.http_batch import ArrayFraming
from tests.support.documents import sized_document

FRAMINGS = {
    "ndjson": BulkFraming("readings"),
    "ndjson create": BulkFraming("logs-x", "create"),
    "array": ArrayFraming(None),
    "wrapped array": ArrayFraming("rows"),
}


@pytest.mark.parametrize("framing", FRAMINGS.values(), ids=FRAMINGS.keys())
@pytest.mark.parametrize(
    ("sizes", "max_docs", "max_bytes"),
    [
        ([10] * 7, 3, 10_000),  # the count cap
        ([300] * 7, 1000, 1024),  # the byte cap
        ([100, 2000, 100, 100], 10, 1024),  # one too large alone, between others
        ([1500], 10, 1024),  # only one, too large
        ([], 10, 1024),
    ],
)
def test_every_body_keeps_both_caps_and_every_document_comes_out_once_in_order(
    framing: Framing, sizes: list[int], max_docs: int, max_bytes: int
) -> None:
    documents = [sized_document(n, size) for n, size in enumerate(sizes)]
    room = max_bytes - len(framing.head) - len(framing.tail)

    items = list(iter_batches(documents, framing, max_docs, max_bytes))

    out = [d for i in items for d in (i.documents if isinstance(i, Batch) else [i])]
    assert [d.id for d in sorted(out, key=lambda d: int(d.id))] == [d.id for d in documents]
    assert len(out) == len(documents)
    for item in items:
        if isinstance(item, Batch):
            assert item.body == framing.body(item.documents)
            assert len(item.body) <= max_bytes and len(item.documents) <= max_docs
        else:
            assert len(framing.entry(item)) > room, "only a document too large alone is bare"


@pytest.mark.parametrize(
    ("framing", "size"),
    [
        # NDJSON: no separator, both newlines counted in each entry.
        (BulkFraming("readings"), (1024 - 3 * len(action_line("readings", "0")) - 6) // 3),
        # An array: three bodies, two commas and the brackets make exactly 1024 bytes.
        (ArrayFraming(None), 340),
        (ArrayFraming("rows"), (1024 - len(b'{"rows":[]}') - 2) // 3),
    ],
    ids=["ndjson", "array", "wrapped array"],
)
def test_a_body_fills_up_to_the_byte_cap_exactly_counting_separators(
    framing: Framing, size: int
) -> None:
    documents = [sized_document(n, size) for n in range(4)]
    exact = len(framing.body(documents[:3]))

    items = list(iter_batches(documents, framing, 100, exact))

    assert [len(i.documents) for i in items if isinstance(i, Batch)] == [3, 1]
    assert len(items[0].body) == exact
    over = list(iter_batches(documents, framing, 100, exact - 1))
    assert [len(i.documents) for i in over if isinstance(i, Batch)] == [2, 2]


@pytest.mark.parametrize("framing", FRAMINGS.values(), ids=FRAMINGS.keys())
@pytest.mark.parametrize(
    ("sizes", "max_docs", "max_bytes"),
    [
        ([20] * 9 + [400] * 9 + [20] * 9, 4, 1200),  # cut by count, then by bytes, then count
        ([20] * 5 + [3000] + [20] * 5, 3, 2048),  # one too large alone after count batches
        ([500] * 6, 2, 1100),  # every count batch just over the byte cap
        ([15] * 10, 10, 10_000),  # one body for the whole chunk
    ],
)
def test_batches_built_by_count_are_those_the_document_by_document_walk_makes(
    framing: Framing, sizes: list[int], max_docs: int, max_bytes: int
) -> None:
    documents = [sized_document(n, size) for n, size in enumerate(sizes)]

    items = list(iter_batches(documents, framing, max_docs, max_bytes))

    def shape(item: Batch | Document) -> tuple[list[str], bytes]:
        if isinstance(item, Batch):
            return [d.id for d in item.documents], item.body
        return [item.id], b""

    walked = list(iter_weighed(documents, framing, max_docs, max_bytes))
    assert [shape(i) for i in items] == [shape(i) for i in walked]
